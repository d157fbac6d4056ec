//! Any JSON as the arguments of every tool, decided by a policy that uses every condition op.
#![no_main]
use std::sync::LazyLock;

use guarded_aws_mcp::catalogue::Catalogue;
use guarded_aws_mcp::policy::{CompiledPolicy, load_str};
use libfuzzer_sys::fuzz_target;

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

fuzz_target!(|data: &[u8]| {
    let Ok(args) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    for name in ["create_broker", "list_brokers", "list_users", "put_user_policy"] {
        if let Some(spec) = CATALOGUE.get(name) {
            let _ = POLICY.decide(spec, &args, &Default::default());
        }
    }
});
