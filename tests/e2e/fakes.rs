//! Loopback fakes for AWS APIs the local AWS fake does not serve, following the AWS API model.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::support::{FakeAws, Request};

#[derive(Clone)]
struct Job {
    id: String,
    principal: String,
    status: &'static str,
    started: String,
}

fn query_param<'a>(query: &'a str, key: &str) -> Option<&'a str> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
}

fn error(status: u16, ty: &str, message: &str) -> (u16, String) {
    (
        status,
        json!({"__type": ty, "message": message}).to_string(),
    )
}

/// IAM Access Analyzer's policy-generation API (REST-JSON): StartPolicyGeneration
/// (`PUT /policy/generation`), GetGeneratedPolicy (`GET /policy/generation/{jobId}`),
/// ListPolicyGenerations (`GET /policy/generation`), CancelPolicyGeneration
/// (`PUT /policy/generation/{jobId}`). A job is IN_PROGRESS until first read, then SUCCEEDED
/// with a policy drafted for its principal, unless cancelled first. Client tokens are honoured.
pub async fn access_analyzer() -> FakeAws {
    let jobs: Arc<Mutex<Vec<Job>>> = Arc::default();
    let tokens: Arc<Mutex<HashMap<String, String>>> = Arc::default();
    FakeAws::start(Arc::new(move |req: &Request| {
        let mut jobs = jobs.lock().unwrap();
        let path = req.path.as_str();
        match (req.method.as_str(), path) {
            ("PUT", "/policy/generation") => {
                let body: Value = serde_json::from_str(&req.body).unwrap_or(Value::Null);
                let Some(principal) = body["policyGenerationDetails"]["principalArn"].as_str() else {
                    return error(400, "ValidationException", "policyGenerationDetails.principalArn is required");
                };
                if let Some(token) = body["clientToken"].as_str()
                    && let Some(id) = tokens.lock().unwrap().get(token) {
                        return (200, json!({"jobId": id}).to_string());
                    }
                let id = format!("job-{:04}", jobs.len() + 1);
                jobs.push(Job {
                    id: id.clone(),
                    principal: principal.to_string(),
                    status: "IN_PROGRESS",
                    started: "2026-11-27T10:00:00Z".into(),
                });
                if let Some(token) = body["clientToken"].as_str() {
                    tokens.lock().unwrap().insert(token.to_string(), id.clone());
                }
                (200, json!({"jobId": id}).to_string())
            }
            ("GET", "/policy/generation") => {
                let principal = query_param(&req.query, "principalArn").map(|p| p.replace("%3A", ":").replace("%2F", "/"));
                let max = query_param(&req.query, "maxResults").and_then(|m| m.parse().ok()).unwrap_or(100usize);
                let start = query_param(&req.query, "nextToken").and_then(|t| t.parse().ok()).unwrap_or(0usize);
                let selected: Vec<&Job> = jobs.iter().filter(|j| principal.as_deref().is_none_or(|p| j.principal == p)).collect();
                let page: Vec<Value> = selected
                    .iter()
                    .skip(start)
                    .take(max)
                    .map(|j| json!({"jobId": j.id, "principalArn": j.principal, "status": j.status, "startedOn": j.started}))
                    .collect();
                let mut out = json!({"policyGenerations": page});
                if start + max < selected.len() {
                    out["nextToken"] = json!((start + max).to_string());
                }
                (200, out.to_string())
            }
            (method, p) if p.starts_with("/policy/generation/") => {
                let id = p.trim_start_matches("/policy/generation/");
                let Some(job) = jobs.iter_mut().find(|j| j.id == id) else {
                    return error(404, "ResourceNotFoundException", &format!("no policy generation job {id}"));
                };
                if method == "PUT" {
                    if job.status != "IN_PROGRESS" {
                        return error(409, "ConflictException", &format!("job {id} is {}", job.status));
                    }
                    job.status = "CANCELED";
                    return (200, "{}".into());
                }
                if job.status == "IN_PROGRESS" {
                    job.status = "SUCCEEDED";
                }
                let mut out = json!({"jobDetails": {"jobId": job.id, "status": job.status, "startedOn": job.started}});
                if job.status == "SUCCEEDED" {
                    out["jobDetails"]["completedOn"] = json!("2026-11-27T10:05:00Z");
                    let resource = if query_param(&req.query, "includeResourcePlaceholders") == Some("true") {
                        "arn:aws:s3:::${BucketName}/*"
                    } else {
                        "*"
                    };
                    let policy = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "mq:ListBrokers"], "Resource": resource}]});
                    out["generatedPolicyResult"] = json!({
                        "properties": {"isComplete": true, "principalArn": job.principal},
                        "generatedPolicies": [{"policy": policy.to_string()}]
                    });
                }
                (200, out.to_string())
            }
            _ => error(404, "ResourceNotFoundException", "no such route"),
        }
    }))
    .await
}

/// IAM's SimulatePrincipalPolicy (Query protocol, XML answer): every action is `allowed` when
/// it starts with `s3:Get`, else `implicitDeny`. moto answers this operation with a 500.
pub async fn iam_simulation() -> FakeAws {
    FakeAws::start(Arc::new(|req: &Request| {
        if !req.body.contains("Action=SimulatePrincipalPolicy") {
            return (400, "<ErrorResponse><Error><Code>InvalidAction</Code><Message>only SimulatePrincipalPolicy</Message></Error></ErrorResponse>".into());
        }
        let actions: Vec<String> = req
            .body
            .split('&')
            .filter(|kv| kv.starts_with("ActionNames.member."))
            .filter_map(|kv| kv.split_once('=').map(|(_, v)| v.replace("%3A", ":")))
            .collect();
        let members: String = actions
            .iter()
            .map(|a| {
                let decision = if a.starts_with("s3:Get") { "allowed" } else { "implicitDeny" };
                format!("<member><EvalActionName>{a}</EvalActionName><EvalResourceName>*</EvalResourceName><EvalDecision>{decision}</EvalDecision><MatchedStatements><member><SourcePolicyId>read-only</SourcePolicyId></member></MatchedStatements><MissingContextValues/></member>")
            })
            .collect();
        (
            200,
            format!("<SimulatePrincipalPolicyResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><SimulatePrincipalPolicyResult><IsTruncated>false</IsTruncated><EvaluationResults>{members}</EvaluationResults></SimulatePrincipalPolicyResult><ResponseMetadata><RequestId>sim-1</RequestId></ResponseMetadata></SimulatePrincipalPolicyResponse>"),
        )
    }))
    .await
}

/// The actions of a policy document's Allow statements, lower-cased.
fn allowed_actions(doc: &Value) -> Vec<(usize, String)> {
    let statements = match &doc["Statement"] {
        Value::Array(a) => a.clone(),
        v @ Value::Object(_) => vec![v.clone()],
        _ => vec![],
    };
    let mut out = Vec::new();
    for (i, st) in statements.iter().enumerate() {
        if st["Effect"] != "Allow" {
            continue;
        }
        let actions = match &st["Action"] {
            Value::String(s) => vec![s.clone()],
            Value::Array(a) => a
                .iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect(),
            _ => vec![],
        };
        out.extend(actions.into_iter().map(|a| (i, a.to_ascii_lowercase())));
    }
    out
}

/// IAM Access Analyzer's policy checks (REST-JSON), with recorded rules in AWS's answer
/// shapes: ValidatePolicy (`POST /policy/validation`) finds SECURITY_WARNING
/// PASS_ROLE_WITH_STAR_IN_RESOURCE for `iam:PassRole` on `*`; CheckAccessNotGranted
/// (`POST /policy/check-access-not-granted`) fails when an Allow statement names one of the
/// actions (or `*`); CheckNoNewAccess (`POST /policy/check-no-new-access`) fails when the new
/// document allows an action the existing one does not.
pub async fn access_analyzer_checks() -> FakeAws {
    FakeAws::start(Arc::new(|req: &Request| {
        let body: Value = serde_json::from_str(&req.body).unwrap_or(Value::Null);
        let parse = |k: &str| -> Option<Value> {
            body[k].as_str().and_then(|t| serde_json::from_str(t).ok())
        };
        match (req.method.as_str(), req.path.as_str()) {
            ("POST", "/policy/validation") => {
                let Some(doc) = parse("policyDocument") else {
                    return error(400, "ValidationException", "policyDocument is required");
                };
                let statements = match &doc["Statement"] {
                    Value::Array(a) => a.clone(),
                    v => vec![v.clone()],
                };
                let mut findings = Vec::new();
                for (i, st) in statements.iter().enumerate() {
                    let names_pass_role = allowed_actions(&json!({"Statement": [st]}))
                        .iter()
                        .any(|(_, a)| a == "iam:passrole");
                    if names_pass_role && (st["Resource"] == "*" || st["Resource"] == json!(["*"])) {
                        findings.push(json!({
                            "findingType": "SECURITY_WARNING",
                            "issueCode": "PASS_ROLE_WITH_STAR_IN_RESOURCE",
                            "findingDetails": "Using the iam:PassRole action with wildcards (*) in the resource can be overly permissive.",
                            "learnMoreLink": "https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-reference-policy-checks.html#access-analyzer-reference-policy-checks-security-warning-pass-role-with-star-in-resource",
                            "locations": [{"path": [{"value": "Statement"}, {"index": i}, {"value": "Resource"}],
                                           "span": {"start": {"line": 1, "column": 1, "offset": 0}, "end": {"line": 1, "column": 2, "offset": 1}}}]
                        }));
                    }
                }
                (200, json!({"findings": findings}).to_string())
            }
            ("POST", "/policy/check-access-not-granted") => {
                let Some(doc) = parse("policyDocument") else {
                    return error(400, "ValidationException", "policyDocument is required");
                };
                let wanted: Vec<String> = body["access"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .flat_map(|a| a["actions"].as_array().cloned().unwrap_or_default())
                    .filter_map(|a| a.as_str().map(str::to_ascii_lowercase))
                    .collect();
                let hit = allowed_actions(&doc)
                    .into_iter()
                    .find(|(_, a)| a == "*" || wanted.contains(a));
                match hit {
                    Some((i, a)) => (200, json!({"result": "FAIL", "message": "The policy document grants access to perform one or more of the listed actions.",
                        "reasons": [{"description": format!("One or more of the listed actions in the statement is granted ({a})."), "statementIndex": i}]}).to_string()),
                    None => (200, json!({"result": "PASS", "message": "The policy document does not grant access to perform the listed actions.", "reasons": []}).to_string()),
                }
            }
            ("POST", "/policy/check-no-new-access") => {
                let (Some(new), Some(old)) = (parse("newPolicyDocument"), parse("existingPolicyDocument")) else {
                    return error(400, "ValidationException", "both documents are required");
                };
                let before: Vec<String> = allowed_actions(&old).into_iter().map(|(_, a)| a).collect();
                match allowed_actions(&new).into_iter().find(|(_, a)| !before.contains(a)) {
                    Some((i, a)) => (200, json!({"result": "FAIL", "message": "The modified permissions grant new access compared to your existing policy.",
                        "reasons": [{"description": format!("New access in the statement: {a}."), "statementIndex": i}]}).to_string()),
                    None => (200, json!({"result": "PASS", "message": "The modified permissions do not grant new access compared to your existing policy.", "reasons": []}).to_string()),
                }
            }
            _ => error(404, "ResourceNotFoundException", "no such operation"),
        }
    }))
    .await
}
