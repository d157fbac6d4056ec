//! Any JSON as the arguments of every tool, decided by a policy that uses every condition op.
//! Shared by the cargo-fuzz target of the same name and the fuzz smoke test (tests/e2e).
use std::sync::LazyLock;

use guarded_aws_mcp::catalogue::Catalogue;
use guarded_aws_mcp::policy::{Caller, CompiledPolicy, load_str};

static CATALOGUE: LazyLock<Catalogue> = LazyLock::new(Catalogue::builtin);
static POLICY: LazyLock<CompiledPolicy> = LazyLock::new(|| {
    let yaml = r#"
version: 1
default: allow
iam_guard: {}
tools:
  create_broker:
    - action: deny
      when:
        - {path: args.broker_name, op: regex, value: "^(prod|live)-"}
        - {path: args.host_instance_type, op: not_in, value: [mq.t3.micro]}
    - action: require_approval
      when:
        - {path: args.tags, op: contains, value: owner}
        - {path: args.broker_name, op: glob, value: "*-tmp"}
        - {path: args.publicly_accessible, op: ne, value: false}
    - action: allow
      when:
        - {path: args.engine_type, op: in, value: [RABBITMQ]}
        - {path: args.logs.General, op: exists}
    - action: require_approval
      approval_timeout: 2m
      when:
        - {path: principal, op: glob, value: "ci-*"}
        - {path: roles, op: not_in, value: [admin]}
  "list_*":
    - action: deny
      when:
        - {path: args.MaxResults, op: gt, value: 50}
        - {path: args.MaxResults, op: lte, value: 100}
    - action: allow
      when:
        - {path: args.MaxResults, op: lt, value: 5}
        - {path: args.MaxResults, op: gte, value: 1}
        - {path: args.NextToken, op: eq, value: "x"}
"#;
    load_str(yaml, "fuzz.yaml", &CATALOGUE).expect("fuzz policy loads")
});

pub fn run(data: &[u8]) {
    let Ok(args) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    // The caller comes from the first string values of the input, when there are any.
    let strings: Vec<String> = args
        .as_object()
        .map(|m| {
            m.values()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let caller = match strings.split_first() {
        Some((p, roles)) => Caller::new(p.clone(), roles.to_vec()),
        None => Caller::default(),
    };
    for name in [
        "create_broker",
        "list_brokers",
        "list_users",
        "put_user_policy",
    ] {
        if let Some(spec) = CATALOGUE.get(name) {
            let _ = POLICY.decide(spec, &args, &caller);
        }
    }
}
