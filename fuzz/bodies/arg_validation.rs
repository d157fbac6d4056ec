//! Any JSON as the arguments of any tool (chosen by the first byte): schema validation, the
//! AWS rules, and the IAM guard on what passes. Never panics, never accepts a non-object.
//! Shared by the cargo-fuzz target of the same name and the fuzz smoke test (tests/e2e).
use std::sync::LazyLock;

use guarded_aws_mcp::catalogue::Catalogue;
use guarded_aws_mcp::tools::iam::guard::GuardSpec;
use guarded_aws_mcp::validate::ArgValidator;

static CATALOGUE: LazyLock<Catalogue> = LazyLock::new(Catalogue::builtin);
static VALIDATOR: LazyLock<ArgValidator> =
    LazyLock::new(|| ArgValidator::new(&CATALOGUE).expect("schemas compile"));

pub fn run(data: &[u8]) {
    let Some((first, rest)) = data.split_first() else {
        return;
    };
    let tools: Vec<_> = CATALOGUE.iter().collect();
    let spec = tools[*first as usize % tools.len()];
    let Ok(args) = serde_json::from_slice::<serde_json::Value>(rest) else {
        return;
    };
    let was_object = args.is_object();
    if let Ok(valid) = VALIDATOR.validate(spec, args) {
        assert!(was_object);
        let _ = spec.prepare(&valid);
        let guard = GuardSpec::default();
        for (field, kind) in &spec.documents {
            if let Some(v) = valid.get(*field) {
                let doc = match v {
                    serde_json::Value::String(s) => {
                        serde_json::from_str(s).unwrap_or(serde_json::Value::Null)
                    }
                    other => other.clone(),
                };
                let _ = guard.check(*kind, field, &doc);
            }
        }
    }
}
