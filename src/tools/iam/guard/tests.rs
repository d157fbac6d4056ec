//! The IAM guard's checks, one document at a time.
use super::*;
use serde_json::json;

fn id(doc: Value) -> Option<Finding> {
    GuardSpec::default().check(DocKind::Identity, "policy_document", &doc)
}

fn allow(action: Value, resource: Value) -> Value {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]})
}

#[test]
fn passes_ordinary_documents() {
    assert_eq!(
        id(allow(json!("s3:GetObject"), json!("arn:aws:s3:::bucket/*"))),
        None
    );
    assert_eq!(
        id(allow(json!(["mq:Describe*", "mq:List*"]), json!("*"))),
        None
    );
    assert_eq!(
        id(allow(
            json!("iam:PassRole"),
            json!("arn:aws:iam::123456789012:role/app-role")
        )),
        None
    );
    assert_eq!(
        id(json!({"Statement": {"Effect": "Deny", "NotAction": "s3:*", "Resource": "*"}})),
        None
    );
    assert_eq!(id(allow(json!("s3:*"), json!("arn:aws:s3:::bucket"))), None);
}

#[test]
fn refuses_admin_and_service_wildcards_on_everything() {
    let f = id(allow(json!("*"), json!("*"))).unwrap();
    assert_eq!(f.check, "wildcard_admin");
    assert_eq!(f.location, "policy_document Statement[0]");
    let f = id(json!({"Statement": [{"Sid": "ok", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
                                     {"Sid": "IamAll", "Effect": "Allow", "Action": ["iam:*"], "Resource": ["*"]}]}))
    .unwrap();
    assert_eq!(f.location, "policy_document Statement[1] (Sid \"IamAll\")");
    assert!(f.reason.contains("every action of iam"), "{}", f.reason);
    assert_eq!(
        id(allow(json!("s3:*"), json!("*"))).unwrap().check,
        "wildcard_admin"
    );
}

#[test]
fn refuses_not_action_and_not_resource_with_allow() {
    let f = id(json!({"Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]}))
        .unwrap();
    assert_eq!(f.check, "not_action_allow");
    let f = id(json!({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::x"}]})).unwrap();
    assert!(f.reason.contains("NotResource"));
}

#[test]
fn refuses_escalation_on_broad_resources() {
    for (action, resource) in [
        ("iam:PassRole", "*"),
        ("iam:PutUserPolicy", "arn:aws:iam::123456789012:user/*"),
        ("iam:Attach*", "*"),
        ("iam:createaccesskey", "*"),
        (
            "iam:UpdateAssumeRolePolicy",
            "arn:aws:iam::123456789012:role/*",
        ),
        ("sts:AssumeRole", "*"),
    ] {
        let f = id(allow(json!(action), json!(resource)))
            .unwrap_or_else(|| panic!("{action} on {resource}"));
        assert_eq!(f.check, "escalation", "{action}");
    }
    let spec = GuardSpec {
        escalation_actions: Some(vec!["s3:PutBucketPolicy".into()]),
        ..GuardSpec::default()
    };
    assert!(
        spec.check(
            DocKind::Identity,
            "d",
            &allow(json!("iam:PassRole"), json!("*"))
        )
        .is_none()
    );
    assert!(
        spec.check(
            DocKind::Identity,
            "d",
            &allow(json!("s3:PutBucketPolicy"), json!("*"))
        )
        .is_some()
    );
}

#[test]
fn refuses_public_trust() {
    let trust = |p: Value| json!({"Statement": [{"Effect": "Allow", "Principal": p, "Action": "sts:AssumeRole"}]});
    let g = GuardSpec::default();
    assert_eq!(
        g.check(
            DocKind::Trust,
            "assume_role_policy_document",
            &trust(json!("*"))
        )
        .unwrap()
        .check,
        "public_trust"
    );
    assert!(
        g.check(
            DocKind::Trust,
            "a",
            &trust(json!({"AWS": ["arn:aws:iam::1:root", "*"]}))
        )
        .is_some()
    );
    assert!(
        g.check(
            DocKind::Trust,
            "a",
            &trust(json!({"Service": "lambda.amazonaws.com"}))
        )
        .is_none()
    );
    let own = Grants {
        own_account: Some("123456789012".into()),
        ..Grants::default()
    };
    assert!(
        g.check_with(
            DocKind::Trust,
            "a",
            &trust(json!({"AWS": "arn:aws:iam::123456789012:root"})),
            Some(&own)
        )
        .is_none()
    );
}

/// Issue 24 (3): trust only the server's own account and the listed ones, compared by the
/// account the principal denotes; federations only when listed; services allowed.
#[test]
fn trust_is_limited_to_known_accounts() {
    let trust = |p: Value| json!({"Statement": [{"Effect": "Allow", "Principal": p, "Action": "sts:AssumeRole"}]});
    let own = Grants {
        own_account: Some("111122223333".into()),
        ..Grants::default()
    };
    let mut g = GuardSpec::default();
    let check = |g: &GuardSpec, p: Value| {
        g.check_with(
            DocKind::Trust,
            "assume_role_policy_document",
            &trust(p),
            Some(&own),
        )
    };
    for p in [
        json!({"AWS": "111122223333"}),
        json!({"AWS": "arn:aws:iam::111122223333:root"}),
        json!({"AWS": ["arn:aws:iam::111122223333:role/ci", "arn:aws:sts::111122223333:assumed-role/r/s"]}),
        json!({"Service": ["lambda.amazonaws.com", "ec2.amazonaws.com"]}),
    ] {
        assert_eq!(check(&g, p.clone()), None, "{p}");
    }
    let f = check(&g, json!({"AWS": "arn:aws:iam::999999999999:root"})).unwrap();
    assert_eq!(f.check, "foreign_trust");
    assert!(f.reason.contains("account 999999999999"), "{}", f.reason);
    assert!(f.location.contains("Statement[0]"), "{}", f.location);
    for p in [
        json!({"AWS": ["arn:aws:iam::111122223333:root", "999999999999"]}),
        json!({"AWS": "AIDAEXAMPLEUNIQUEID"}),
        json!({"AWS": "arn:aws:iam::*:root"}),
        json!({"Federated": "cognito-identity.amazonaws.com"}),
        json!({"CanonicalUser": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"}),
    ] {
        assert!(check(&g, p.clone()).is_some(), "{p}");
    }
    // Without the server's account known, only listed accounts pass.
    assert!(
        g.check(DocKind::Trust, "a", &trust(json!({"AWS": "111122223333"})))
            .is_some()
    );
    g.trusted_accounts = vec!["999999999999".into()];
    g.trusted_federations = vec!["cognito-identity.amazonaws.com".into()];
    assert_eq!(
        check(&g, json!({"AWS": "arn:aws:iam::999999999999:root"})),
        None
    );
    assert_eq!(
        check(&g, json!({"Federated": "cognito-identity.amazonaws.com"})),
        None
    );
    g.foreign_trust = false;
    assert_eq!(check(&g, json!({"AWS": "888888888888"})), None);
}

/// Issue 24 (1, 2): what an attach or a group membership puts in force is judged as an inline
/// document would be, naming where it came from.
#[test]
fn granted_documents_are_judged_by_content() {
    let admin = json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]});
    let benign = json!({"Statement": [{"Effect": "Allow", "Action": "mq:List*", "Resource": "*"}]});
    let grants = |docs: Vec<(&str, Value)>| Grants {
        documents: docs
            .into_iter()
            .map(|(o, d)| GrantedDocument {
                origin: o.into(),
                document: d,
            })
            .collect(),
        own_account: None,
        analyzer: Vec::new(),
    };
    let g = GuardSpec::default();
    let f = g
        .check_grants(&grants(vec![
            (
                "policy arn:aws:iam::1:policy/Fine (version v1)",
                benign.clone(),
            ),
            (
                "policy arn:aws:iam::1:policy/OrgAdmin (version v3)",
                admin.clone(),
            ),
        ]))
        .unwrap();
    assert_eq!(f.check, "wildcard_admin");
    assert_eq!(
        f.location,
        "policy arn:aws:iam::1:policy/OrgAdmin (version v3) Statement[0]"
    );
    assert_eq!(g.check_grants(&grants(vec![("x", benign)])), None);
    let off = GuardSpec {
        granted_documents: false,
        ..GuardSpec::default()
    };
    assert_eq!(off.check_grants(&grants(vec![("x", admin)])), None);
}

#[test]
fn refuses_listed_managed_policies() {
    let g = GuardSpec::default();
    let f = g
        .check(
            DocKind::ManagedPolicyArn,
            "policy_arn",
            &json!("arn:aws:iam::aws:policy/AdministratorAccess"),
        )
        .unwrap();
    assert_eq!(f.check, "managed_policies");
    assert!(
        g.check(
            DocKind::ManagedPolicyArn,
            "policy_arn",
            &json!("arn:aws:iam::aws:policy/job-function/ViewOnlyAccess")
        )
        .is_none()
    );
    assert!(
        g.check(
            DocKind::ManagedPolicyArn,
            "p",
            &json!("arn:aws:iam::aws:policy/PowerUserAccess")
        )
        .is_some()
    );
}

#[test]
fn checks_can_be_turned_off() {
    let g = GuardSpec {
        wildcard_admin: false,
        escalation: false,
        ..GuardSpec::default()
    };
    assert!(
        g.check(DocKind::Identity, "d", &allow(json!("*"), json!("*")))
            .is_none()
    );
}

/// Issue 11 (3): broad resources written with other wildcards were accepted.
#[test]
fn refuses_escalation_on_resources_broad_by_any_spelling() {
    for (action, resource) in [
        ("iam:PassRole", "arn:aws:iam::123456789012:role/?*"),
        ("iam:PassRole", "arn:aws:iam::123456789012:role/**"),
        ("iam:PassRole", "arn:aws:iam::*:role/**"),
        ("iam:PutUserPolicy", "arn:aws:iam::123456789012:user/?*"),
        ("iam:AttachUserPolicy", "arn:aws:iam::123456789012:user/**"),
        ("iam:CreateAccessKey", "arn:aws:iam::123456789012:user/*?"),
        ("iam:*", "arn:aws:iam::123456789012:user/?*"),
        ("iam:*", "arn:aws:iam::123456789012:role/?*"),
        ("iam:*", "arn:aws:iam::123456789012:policy/?*"),
        ("iam:*", "arn:aws:iam::123456789012:group/?*"),
        ("sts:AssumeRole", "arn:aws:iam::*:role/**"),
        ("iam:PassRole", "arn:aws:iam::123456789012:*"),
        ("iam:PassRole", "arn:aws:iam::123456789012:role*"),
        ("iam:PassRole", "**"),
    ] {
        let f = id(allow(json!(action), json!(resource)))
            .unwrap_or_else(|| panic!("{action} on {resource} was accepted"));
        assert!(
            matches!(f.check, "escalation" | "wildcard_admin"),
            "{action} on {resource}: {f:?}"
        );
    }
    let f = id(allow(json!("*"), json!("arn:aws:*:*:*:**"))).expect("refused");
    assert_eq!(f.check, "wildcard_admin");
    assert!(f.reason.contains("arn:aws:*:*:*:**"), "{}", f.reason);
    assert_eq!(
        id(allow(json!("s3:*"), json!("arn:*:*:*:*:*")))
            .unwrap()
            .check,
        "wildcard_admin"
    );
    // Narrow patterns still pass.
    for resource in [
        "arn:aws:iam::123456789012:role/app-*",
        "arn:aws:iam::123456789012:role/team/*",
        "arn:aws:iam::123456789012:role/app-role",
        "arn:aws:iam::123456789012:role/app-?",
        "arn:aws:iam::*:role/ci-deployer",
    ] {
        assert_eq!(
            id(allow(json!("iam:PassRole"), json!(resource))),
            None,
            "{resource}"
        );
    }
}

/// Issue 11 (3): open trust written other ways.
#[test]
fn refuses_open_trust_by_any_spelling() {
    let g = GuardSpec::default();
    for st in [
        json!({"Effect": "Allow", "Principal": ["*"], "Action": "sts:AssumeRole"}),
        json!({"Effect": "Allow", "Principal": {"aws": "*"}, "Action": "sts:AssumeRole"}),
        json!({"Effect": "Allow", "Principal": {"Federated": "*"}, "Action": "sts:AssumeRoleWithWebIdentity"}),
        json!({"Effect": "Allow", "Principal": {"Service": "*"}, "Action": "sts:AssumeRole"}),
        json!({"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::1:root", "**"]}, "Action": "sts:AssumeRole"}),
        json!({"Effect": "Allow", "NotPrincipal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRole"}),
    ] {
        let doc = json!({"Version": "2012-10-17", "Statement": [st]});
        let f = g
            .check(DocKind::Trust, "assume_role_policy_document", &doc)
            .unwrap_or_else(|| panic!("accepted: {doc}"));
        assert_eq!(f.check, "public_trust");
    }
}

/// Issue 11 (3): IAM receives exactly the document the guard checked.
#[test]
fn the_document_sent_is_the_one_checked() {
    let text = "{ \"Version\" : \"2012-10-17\",\n \"Statement\": [{\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\",\"Resource\":\"*\"}] }";
    let sent = PolicyDocument::Text(text.into()).to_text("d").unwrap();
    let checked = PolicyDocument::parse(&Value::String(text.into())).unwrap();
    assert_eq!(sent, checked.to_string());
    let dup =
        r#"{"Statement": [{"Effect": "Deny", "Effect": "Allow", "Action": "*", "Resource": "*"}]}"#;
    let e = PolicyDocument::Text(dup.into())
        .to_text("policy_document")
        .unwrap_err();
    assert!(e.to_string().contains("duplicate key"), "{e}");
    assert!(PolicyDocument::parse(&Value::String(dup.into())).is_none());
}

#[test]
fn documents_with_duplicate_keys_are_refused() {
    let e = parse_document(
        r#"{"Statement": [{"Effect": "Deny", "Effect": "Allow", "Action": "*", "Resource": "*"}]}"#,
    )
    .unwrap_err();
    assert!(e.0.contains("duplicate key \"Effect\""), "{e}");
    assert!(parse_document(r#"{"a": {"b": 1}, "c": [{"b": 2}]}"#).is_ok());
}

#[test]
fn wildcards() {
    assert!(wildcard_match("iam:*", "iam:PassRole"));
    assert!(wildcard_match("iam:Pass?ole", "iam:PassRole"));
    assert!(wildcard_match("*", "sts:AssumeRole"));
    assert!(!wildcard_match("iam:Get*", "iam:PassRole"));
    assert!(!wildcard_match("s3:*", "iam:PassRole"));
}

/// Issue 24 (4): which Access Analyzer answers refuse, and what the refusal quotes.
#[test]
fn access_analyzer_answers_refuse_by_type() {
    use super::analyzer::{AnalyzerFinding, AnalyzerSpec, FindingType, NoNewAccess};
    let finding = |op: &'static str, ty: &str, code: &str| AnalyzerFinding {
        origin: "policy_document".into(),
        operation: op,
        finding_type: ty.into(),
        issue_code: code.into(),
        details: "details".into(),
        learn_more: "https://docs.aws.amazon.com/x".into(),
        statement: Some(2),
    };
    let spec = AnalyzerSpec {
        validate: vec![FindingType::Error, FindingType::SecurityWarning],
        not_granted: vec!["iam:PassRole".into()],
        no_new_access: NoNewAccess::Deny,
    };
    assert!(spec.asks());
    assert_eq!(
        spec.refusal(&[finding(
            "ValidatePolicy",
            "SUGGESTION",
            "EMPTY_ARRAY_ACTION"
        )]),
        None,
        "a type not listed does not refuse"
    );
    let f = spec
        .refusal(&[finding(
            "ValidatePolicy",
            "SECURITY_WARNING",
            "PASS_ROLE_WITH_STAR_IN_RESOURCE",
        )])
        .unwrap();
    assert_eq!(f.check, "access_analyzer");
    assert_eq!(f.location, "policy_document Statement[2]");
    assert_eq!(
        f.reason,
        "IAM Access Analyzer ValidatePolicy SECURITY_WARNING PASS_ROLE_WITH_STAR_IN_RESOURCE: details (learn more: https://docs.aws.amazon.com/x)"
    );
    let f = spec
        .refusal(&[finding("CheckNoNewAccess", "FAIL", "")])
        .unwrap();
    assert!(
        f.reason
            .starts_with("IAM Access Analyzer CheckNoNewAccess: FAIL"),
        "{}",
        f.reason
    );
    assert!(!AnalyzerSpec::default().asks());
}
