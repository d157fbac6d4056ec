//! Every Amazon MQ tool, called through the real binary against moto (and, for the four
//! operations moto lacks, against a loopback fake that follows the AWS API model).
//! moto 5.2.5 lacks DescribeBrokerEngineTypes, DescribeBrokerInstanceOptions and Promote, and
//! answers DescribeSharedResources with an empty list only.

use libtest_mimic::Trial;

use crate::support::{Needs, trial};

use std::sync::Arc;

use serde_json::{Value, json};

use crate::support::{FakeAws, Options, Server, unique};

const PASSWORD: &str = "Sup3r-secret-pw-42";

async fn broker_lifecycle_users_and_tags() {
    let s = Server::on_target("policies/dev-permissive.yaml").await;
    let name = unique("orders");

    let created = s
        .ok(
            "create_broker",
            json!({"broker_name": name, "engine_type": "ACTIVEMQ", "deployment_mode": "SINGLE_INSTANCE",
                   "username": "admin", "password": PASSWORD, "host_instance_type": "mq.t3.micro",
                   "tags": {"team": "payments"}}),
        )
        .await;
    let id = created["BrokerId"].as_str().expect("BrokerId").to_string();
    let arn = created["BrokerArn"]
        .as_str()
        .expect("BrokerArn")
        .to_string();

    let listed = s.ok("list_brokers", json!({})).await;
    assert!(
        listed["BrokerSummaries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["BrokerId"] == id.as_str())
    );

    let described = s.ok("describe_broker", json!({"BrokerId": id})).await;
    assert_eq!(described["BrokerName"], name.as_str());
    assert_eq!(described["HostInstanceType"], "mq.t3.micro");
    assert_eq!(
        described["PubliclyAccessible"], false,
        "publicly_accessible defaults to false"
    );
    assert_eq!(described["Tags"]["team"], "payments");

    // update_broker works (in the AWS Labs server it always fails).
    let updated = s
        .ok(
            "update_broker",
            json!({"BrokerId": id, "EngineVersion": "5.18", "AutoMinorVersionUpgrade": false}),
        )
        .await;
    assert_eq!(updated["EngineVersion"], "5.18");
    let described = s.ok("describe_broker", json!({"BrokerId": id})).await;
    assert_eq!(described["AutoMinorVersionUpgrade"], false);

    let shared = s
        .ok("describe_shared_resources", json!({"BrokerId": id}))
        .await;
    assert_eq!(
        shared["SharedResources"],
        json!([]),
        "a new broker shares nothing"
    );

    let reboot = s.ok("reboot_broker", json!({"BrokerId": id})).await;
    assert_eq!(reboot["RebootRequested"], true);

    // Broker users.
    s.ok(
        "create_broker_user",
        json!({"BrokerId": id, "Username": "app-user", "Password": PASSWORD, "Groups": ["apps"]}),
    )
    .await;
    let users = s.ok("list_broker_users", json!({"BrokerId": id})).await;
    let names: Vec<&str> = users["Users"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|u| u["Username"].as_str())
        .collect();
    assert!(
        names.contains(&"app-user") && names.contains(&"admin"),
        "{names:?}"
    );
    let user = s
        .ok(
            "describe_broker_user",
            json!({"BrokerId": id, "Username": "app-user"}),
        )
        .await;
    assert_eq!(user["Groups"], json!(["apps"]));
    assert_eq!(user["ConsoleAccess"], false);
    s.ok(
        "update_broker_user",
        json!({"BrokerId": id, "Username": "app-user", "ConsoleAccess": true}),
    )
    .await;
    let user = s
        .ok(
            "describe_broker_user",
            json!({"BrokerId": id, "Username": "app-user"}),
        )
        .await;
    assert_eq!(user["ConsoleAccess"], true);
    s.ok(
        "delete_broker_user",
        json!({"BrokerId": id, "Username": "app-user"}),
    )
    .await;
    let gone = s
        .err(
            "describe_broker_user",
            json!({"BrokerId": id, "Username": "app-user"}),
        )
        .await;
    assert!(gone.starts_with("AWS error NotFoundException"), "{gone}");

    // Tags.
    s.ok(
        "create_tags",
        json!({"ResourceArn": arn, "Tags": {"env": "test", "contact": "qa"}}),
    )
    .await;
    let tags = s.ok("list_tags", json!({"ResourceArn": arn})).await;
    assert_eq!(tags["Tags"]["env"], "test");
    assert_eq!(tags["Tags"]["contact"], "qa");
    s.ok(
        "delete_tags",
        json!({"ResourceArn": arn, "TagKeys": ["env"]}),
    )
    .await;
    let tags = s.ok("list_tags", json!({"ResourceArn": arn})).await;
    assert!(tags["Tags"].get("env").is_none());
    assert_eq!(tags["Tags"]["contact"], "qa");

    s.ok("delete_broker", json!({"BrokerId": id})).await;
    let listed = s.ok("list_brokers", json!({})).await;
    assert!(
        !listed["BrokerSummaries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["BrokerId"] == id.as_str())
    );
    let missing = s.err("describe_broker", json!({"BrokerId": id})).await;
    assert!(
        missing.starts_with("AWS error NotFoundException from mq:DescribeBroker (request id:"),
        "{missing}"
    );

    // The password never reaches the audit log or the server's log.
    let (audit, stderr) = s.stop().await;
    assert!(audit.contains("[REDACTED]"));
    assert!(!audit.contains(PASSWORD) && !stderr.contains(PASSWORD));
}

async fn configurations_and_revisions() {
    let s = Server::on_target("policies/dev-permissive.yaml").await;
    let name = unique("cfg");
    let cfg = s
        .ok(
            "create_configuration",
            json!({"name": name, "engine_type": "ACTIVEMQ", "engine_version": "5.18", "authentication_strategy": "SIMPLE"}),
        )
        .await;
    let id = cfg["Id"].as_str().unwrap().to_string();
    assert_eq!(cfg["LatestRevision"]["Revision"], 1);

    let listed = s
        .ok("list_configurations", json!({"MaxResults": 100}))
        .await;
    assert!(
        listed["Configurations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["Id"] == id.as_str())
    );

    let xml = "<broker xmlns=\"http://activemq.apache.org/schema/core\"><plugins/></broker>";
    let updated = s
        .ok(
            "update_configuration",
            json!({"ConfigurationId": id, "Data": xml, "Description": "second"}),
        )
        .await;
    assert_eq!(updated["LatestRevision"]["Revision"], 2);

    let described = s
        .ok("describe_configuration", json!({"ConfigurationId": id}))
        .await;
    assert_eq!(described["Name"], name.as_str());
    assert_eq!(described["LatestRevision"]["Revision"], 2);

    let revisions = s
        .ok(
            "list_configuration_revisions",
            json!({"ConfigurationId": id}),
        )
        .await;
    assert_eq!(revisions["Revisions"].as_array().unwrap().len(), 2);

    let rev = s
        .ok(
            "describe_configuration_revision",
            json!({"ConfigurationId": id, "ConfigurationRevision": "2"}),
        )
        .await;
    assert_eq!(
        rev["DataDecoded"], xml,
        "Data is sent base64-encoded and read back"
    );
    assert_eq!(rev["Description"], "second");

    let deleted = s
        .ok("delete_configuration", json!({"ConfigurationId": id}))
        .await;
    assert_eq!(deleted["ConfigurationId"], id.as_str());
    let gone = s
        .err("describe_configuration", json!({"ConfigurationId": id}))
        .await;
    assert!(gone.starts_with("AWS error NotFoundException"), "{gone}");
}

async fn region_is_per_call() {
    let s = Server::on_target("policies/dev-permissive.yaml").await;
    let name = unique("regional");
    let created = s
        .ok(
            "create_broker",
            json!({"region": "eu-west-1", "broker_name": name, "engine_type": "RABBITMQ",
                   "deployment_mode": "SINGLE_INSTANCE", "username": "admin", "password": PASSWORD,
                   "host_instance_type": "mq.t3.micro"}),
        )
        .await;
    let id = created["BrokerId"].as_str().unwrap();
    assert!(
        created["BrokerArn"]
            .as_str()
            .unwrap()
            .contains(":eu-west-1:")
    );
    let eu = s.ok("list_brokers", json!({"region": "eu-west-1"})).await;
    assert!(
        eu["BrokerSummaries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["BrokerId"] == id)
    );
    let us = s.ok("list_brokers", json!({})).await;
    assert!(
        !us["BrokerSummaries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["BrokerId"] == id)
    );
    s.ok(
        "delete_broker",
        json!({"region": "eu-west-1", "BrokerId": id}),
    )
    .await;
}

fn fake_mq(req: &crate::support::Request) -> (u16, String) {
    let body = match (req.method.as_str(), req.path.as_str()) {
        ("GET", "/v1/broker-engine-types") => {
            if req.query.contains("nextToken=page2") {
                json!({"brokerEngineTypes": [{"engineType": "ACTIVEMQ", "engineVersions": [{"name": "5.18"}]}]})
            } else {
                json!({"brokerEngineTypes": [{"engineType": "RABBITMQ", "engineVersions": [{"name": "3.13"}, {"name": "4.2"}]}],
                       "maxResults": 1, "nextToken": "page2"})
            }
        }
        ("GET", "/v1/broker-instance-options") => json!({"brokerInstanceOptions": [{
            "availabilityZones": [{"name": "us-east-1a"}, {"name": "us-east-1b"}],
            "engineType": "RABBITMQ", "hostInstanceType": "mq.m7g.large", "storageType": "EBS",
            "supportedDeploymentModes": ["SINGLE_INSTANCE", "CLUSTER_MULTI_AZ"],
            "supportedEngineVersions": ["3.13", "4.2"]}]}),
        ("POST", p) if p.ends_with("/promote") => {
            let id = p
                .trim_start_matches("/v1/brokers/")
                .trim_end_matches("/promote");
            json!({"brokerId": id})
        }
        ("GET", p) if p.ends_with("/shared-resources") => json!({"sharedResources": [{
            "resourceArn": "arn:aws:ec2:us-east-1:123456789012:vpc-endpoint/vpce-0abc",
            "type": "VPC_ENDPOINT", "status": "ACTIVE", "dnsNames": ["b-1.mq.us-east-1.on.aws"],
            "resourceShareArns": ["arn:aws:ram:us-east-1:123456789012:resource-share/abc"]}]}),
        ("DELETE", p) if p.starts_with("/v1/configurations/") => {
            json!({"configurationId": p.trim_start_matches("/v1/configurations/")})
        }
        _ => return (404, json!({"message": "no such route"}).to_string()),
    };
    (200, body.to_string())
}

async fn operations_moto_lacks_against_a_loopback_fake() {
    let fake = FakeAws::start(Arc::new(fake_mq)).await;
    // A policy without resource conditions: the fake serves only the operations under test.
    let s = Server::start(Options {
        policy: Some("version: 1\ndefault: allow\n".into()),
        endpoint: Some(fake.url.clone()),
        ..Options::default()
    })
    .await;

    let page1 = s
        .ok(
            "describe_broker_engine_types",
            json!({"EngineType": "RABBITMQ", "MaxResults": 1}),
        )
        .await;
    assert_eq!(
        page1["BrokerEngineTypes"][0]["EngineVersions"],
        json!(["3.13", "4.2"])
    );
    assert_eq!(page1["NextToken"], "page2");
    let page2 = s
        .ok(
            "describe_broker_engine_types",
            json!({"NextToken": "page2"}),
        )
        .await;
    assert_eq!(page2["BrokerEngineTypes"][0]["EngineType"], "ACTIVEMQ");
    assert_eq!(page2["NextToken"], Value::Null);

    let opts = s
        .ok("describe_broker_instance_options", json!({"EngineType": "RABBITMQ", "HostInstanceType": "mq.m7g.large", "StorageType": "EBS"}))
        .await;
    assert_eq!(
        opts["BrokerInstanceOptions"][0]["AvailabilityZones"],
        json!(["us-east-1a", "us-east-1b"])
    );

    let promoted = s
        .ok("promote", json!({"BrokerId": "b-1234", "Mode": "FAILOVER"}))
        .await;
    assert_eq!(promoted["BrokerId"], "b-1234");

    let shared = s
        .ok(
            "describe_shared_resources",
            json!({"BrokerId": "b-1234", "MaxResults": 5}),
        )
        .await;
    assert_eq!(shared["SharedResources"][0]["Type"], "VPC_ENDPOINT");
    assert_eq!(shared["SharedResources"][0]["Status"], "ACTIVE");

    let deleted = s
        .ok("delete_configuration", json!({"ConfigurationId": "c-99"}))
        .await;
    assert_eq!(deleted["ConfigurationId"], "c-99");

    // Only the arguments given were sent, in the API's own names.
    let reqs = fake.requests();
    let engine = &reqs[0];
    assert_eq!(engine.path, "/v1/broker-engine-types");
    assert!(
        engine.query.contains("engineType=RABBITMQ") && engine.query.contains("maxResults=1"),
        "{}",
        engine.query
    );
    assert!(!reqs[1].query.contains("engineType"), "{}", reqs[1].query);
    let options = &reqs[2];
    assert!(
        options.query.contains("hostInstanceType=mq.m7g.large")
            && options.query.contains("storageType=EBS")
    );
    let promote = &reqs[3];
    assert_eq!(
        (promote.method.as_str(), promote.path.as_str()),
        ("POST", "/v1/brokers/b-1234/promote")
    );
    assert_eq!(
        serde_json::from_str::<Value>(&promote.body).unwrap(),
        json!({"mode": "FAILOVER"})
    );
    assert_eq!(reqs[4].path, "/v1/brokers/b-1234/shared-resources");
    assert_eq!(reqs[5].method, "DELETE");
}

async fn aws_errors_carry_code_and_request_id() {
    let fake = FakeAws::start(Arc::new(|_| {
        (403, json!({"__type": "ForbiddenException", "message": "User is not authorized to perform mq:ListBrokers"}).to_string())
    }))
    .await;
    let s = Server::start(Options {
        policy_file: Some("policies/dev-permissive.yaml".into()),
        endpoint: Some(fake.url.clone()),
        ..Options::default()
    })
    .await;
    let text = s.err("list_brokers", json!({})).await;
    assert!(
        text.starts_with("AWS error ForbiddenException from mq:ListBrokers (request id: fake-1)"),
        "{text}"
    );
    assert!(text.contains("not authorized"), "{text}");
    let records = s.audit_records();
    assert_eq!(records[0]["outcome"]["status"], "aws_error");
    assert_eq!(records[0]["outcome"]["code"], "ForbiddenException");
    assert_eq!(records[0]["outcome"]["request_id"], "fake-1");
}

/// This module's tests, for the e2e harness.
pub fn trials() -> Vec<Trial> {
    vec![
        trial(
            "mq_tools::broker_lifecycle_users_and_tags",
            Needs::Mq,
            broker_lifecycle_users_and_tags,
        ),
        trial(
            "mq_tools::configurations_and_revisions",
            Needs::Mq,
            configurations_and_revisions,
        ),
        trial(
            "mq_tools::region_is_per_call",
            Needs::Mq,
            region_is_per_call,
        ),
        trial(
            "mq_tools::operations_moto_lacks_against_a_loopback_fake",
            Needs::Nothing,
            operations_moto_lacks_against_a_loopback_fake,
        ),
        trial(
            "mq_tools::aws_errors_carry_code_and_request_id",
            Needs::Nothing,
            aws_errors_carry_code_and_request_id,
        ),
    ]
}
