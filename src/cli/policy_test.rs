//! `guarded-aws-mcp policy test FILE...`: a policy's expected decisions, as test cases.
//!
//! A test file names the policy it tests (relative to the test file) and lists calls with the
//! decision each must get. No AWS call is made: the cases go through the same validation and
//! the same pure `authorize` as the server.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::catalogue::Catalogue;
use crate::gate::GateOptions;
use crate::gate::offline::{Decider, Fixtures};
use crate::policy::Caller;
use crate::validate::ArgValidator;

/// A policy test file (`policies/tests/*.yaml`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "guarded-aws-mcp policy tests")]
pub struct TestFile {
    /// The policy under test, relative to this file.
    pub policy: PathBuf,
    /// Decide as the server does with `--read-only`.
    #[serde(default)]
    pub read_only: bool,
    pub cases: Vec<Case>,
}

/// One call and the decision it must get.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// What the case shows, in a sentence.
    pub name: String,
    pub tool: String,
    /// The call's arguments.
    #[serde(default = "empty_object")]
    pub args: Value,
    /// The caller's principal; `local` when omitted.
    #[serde(default = "local")]
    pub principal: String,
    /// The caller's roles.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Facts of the resource the call touches, for `resource.*` conditions
    /// (`{tags: {owner: alice}, state: RUNNING}`); none: those conditions see no facts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<Value>,
    /// What the IAM guard would read from AWS: the server's account, managed policies'
    /// documents by ARN, groups' documents, Access Analyzer's answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iam: Option<crate::tools::GuardFixtureFile>,
    pub expect: Expect,
    /// The deciding rule must be this one (`tools.create_broker[0]`, `classes.read`, `hide`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// The reason must contain this text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Calls made before this one (that ran and succeeded), for `history` conditions:
    /// `[{tool: describe_broker, args: {BrokerId: b-1}, ago: 5m}]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<crate::gate::offline::EarlierCall>,
    /// Calls of this caller already running, for `max_in_flight` limits.
    #[serde(default)]
    pub in_flight: u32,
    /// Make this many identical calls first (each must be allowed): with `expect:
    /// rate_limited`, the call after them must find its limit full.
    #[serde(default)]
    pub after: u32,
}

fn empty_object() -> Value {
    Value::Object(Default::default())
}

fn local() -> String {
    "local".into()
}

/// The decision a case expects.
pub use crate::gate::offline::DecisionKind as Expect;

/// One case's result, for `--json`.
#[derive(Debug, Serialize)]
struct Outcome {
    file: String,
    case: String,
    passed: bool,
    expected: Expect,
    got: Expect,
    rule: Option<String>,
    reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    problem: Option<String>,
}

/// The JSON Schema of test files (policies/policy-test.schema.json).
pub fn schema() -> Value {
    serde_json::to_value(schemars::schema_for!(TestFile)).unwrap_or_default()
}

/// Run test files; exit 1 when a case fails or a file cannot be used.
pub fn run(files: &[PathBuf], json: bool) -> ExitCode {
    let catalogue = Catalogue::builtin();
    let validator = match ArgValidator::new(&catalogue) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("guarded-aws-mcp: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut results = Vec::new();
    let mut broken = 0;
    for file in files {
        match run_file(file, &catalogue, &validator) {
            Ok(mut r) => results.append(&mut r),
            Err(e @ super::CliError::Input(_)) => {
                broken += 1;
                eprintln!("{e}");
            }
            Err(e) => {
                broken += 1;
                eprintln!("{}: {e}", file.display());
            }
        }
    }
    let failed = results.iter().filter(|r| !r.passed).count() + broken;
    let passed = results.iter().filter(|r| r.passed).count();
    if json {
        let report = serde_json::json!({"passed": passed, "failed": failed, "cases": results});
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        for r in &results {
            match &r.problem {
                None => println!("ok   {}: {}", r.file, r.case),
                Some(p) => println!("FAIL {}: {}: {p}", r.file, r.case),
            }
        }
        println!("policy test: {passed} passed, {failed} failed");
    }
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn run_file(
    file: &Path,
    catalogue: &Catalogue,
    validator: &ArgValidator,
) -> Result<Vec<Outcome>, super::CliError> {
    let text = crate::input::read(file)?;
    let name = file.display().to_string();
    crate::input::check_yaml(&text, &name)?;
    let tests: TestFile =
        serde_norway::from_str(&text).map_err(|e| crate::input::InputError::Format {
            file: name.clone(),
            expected: "a policy test file",
            detail: e.to_string(),
        })?;
    let policy_path = file.parent().unwrap_or(Path::new(".")).join(&tests.policy);
    let policy = super::load_policy(Some(&policy_path), catalogue)?;
    let options = GateOptions {
        read_only: tests.read_only,
        ..GateOptions::default()
    };
    let mut decider = Decider::new(catalogue, validator, &policy, options);
    Ok(tests
        .cases
        .iter()
        .map(|case| {
            decider.reset_limits();
            check(&decider, case, &name)
        })
        .collect())
}

fn check(decider: &Decider<'_>, case: &Case, file: &str) -> Outcome {
    let caller = Caller::new(case.principal.clone(), case.roles.clone());
    let decide = || {
        let fixtures = Fixtures {
            resource: case.resource.as_ref(),
            guard: case
                .iam
                .as_ref()
                .map(|f| f as &dyn crate::catalogue::guard::GuardFixture),
            history: &case.history,
            in_flight: case.in_flight,
            session: None,
        };
        decider.decide_with(&case.tool, case.args.clone(), &caller, &fixtures, true)
    };
    let mut problem = None;
    for i in 0..case.after {
        let before = decide();
        if before.kind != Expect::Allow {
            problem = Some(format!(
                "call {} of {} before the case was not allowed: {} by {} ({})",
                i + 1,
                case.after,
                before.kind,
                before.rule.as_deref().unwrap_or("-"),
                before.reason
            ));
            break;
        }
    }
    let got = decide();
    let expected = case.expect;
    if problem.is_none() {
        problem = if got.kind != expected {
            Some(format!(
                "expected {expected}, got {} by {} ({})",
                got.kind,
                got.rule.as_deref().unwrap_or("-"),
                got.reason
            ))
        } else if let Some(rule) = case
            .rule
            .as_deref()
            .filter(|r| got.rule.as_deref() != Some(*r))
        {
            Some(format!(
                "expected rule {rule}, got {}",
                got.rule.as_deref().unwrap_or("-")
            ))
        } else {
            case.reason
                .as_deref()
                .filter(|r| !got.reason.contains(*r))
                .map(|r| format!("the reason {:?} does not contain {r:?}", got.reason))
        };
    }
    Outcome {
        file: file.to_string(),
        case: case.name.clone(),
        passed: problem.is_none(),
        expected,
        got: got.kind,
        rule: got.rule,
        reason: got.reason,
        problem,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn schema_file_is_current() {
        let file = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/policies/policy-test.schema.json"
        ))
        .expect("policies/policy-test.schema.json");
        let current = serde_json::to_string_pretty(&super::schema()).expect("json");
        assert_eq!(
            file.trim(),
            current.trim(),
            "policies/policy-test.schema.json is stale: run `guarded-aws-mcp policy test --schema > policies/policy-test.schema.json`"
        );
    }
}
