//! `guarded-aws-mcp policy init --profile read-only|cautious|permissive`: a commented starting
//! policy written from the catalogue, every tool listed by family and risk class.

use std::collections::BTreeMap;

use clap::ValueEnum;

use crate::catalogue::{Catalogue, RiskClass};

/// How much a new policy lets an agent do by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Profile {
    /// Reads only; every other call is denied.
    ReadOnly,
    /// Reads allowed; writes and executes need approval (IAM writes and policy generation by an
    /// operator); destructive calls denied. Like the shipped default.
    Cautious,
    /// Reads, writes and executes allowed; destructive calls need approval; the IAM guard on.
    Permissive,
}

/// The policy text.
pub fn policy(profile: Profile, catalogue: &Catalogue) -> String {
    let (read, write, execute, destructive) = match profile {
        Profile::ReadOnly => ("allow", "deny", "deny", "deny"),
        Profile::Cautious => ("allow", "require_approval", "require_approval", "deny"),
        Profile::Permissive => ("allow", "allow", "allow", "require_approval"),
    };
    let name = match profile {
        Profile::ReadOnly => "read-only",
        Profile::Cautious => "cautious",
        Profile::Permissive => "permissive",
    };
    let mut out = format!(
        "# guarded-aws-mcp policy, written by `guarded-aws-mcp policy init --profile {name}`.\n\
         # Format: docs/policies.md; editor completion: policies/policy.schema.json.\n\
         # Check it with `guarded-aws-mcp policy validate --strict FILE`, and write test cases for\n\
         # it (`guarded-aws-mcp policy test`) before it guards a real account.\n\
         version: 1\n\
         default: deny\n\n\
         # The decision for every tool of a class that no rule below decides.\n\
         classes:\n  read: {read}\n  write: {write}\n  execute: {execute}\n  destructive: {destructive}\n\n\
         limits:\n  # Every call of a session, whatever its class.\n  - {{max: 120, window: 1m, per: session}}\n\
         \x20 # More kinds, by example (docs/policies.md; policies/history.yaml uses each):\n\
         \x20 # - {{max: 1, window: 1h, per: [args.BrokerId], tool: reboot_broker}}   # per broker\n\
         \x20 # - {{max_in_flight: 2, per: [principal], class: write}}                # changes at once\n\
         \x20 # - {{max: 20, window: 30d, per: [principal], tool: create_broker,      # a budget\n\
         \x20 #    cost: {{of: args.host_instance_type, table: {{mq.t3.micro: 1, mq.m5.large: 8}}, default: 32}}}}\n\
         # Rules can read what ran before, e.g. describe a broker before rebooting it:\n\
         #   tools:\n\
         #     reboot_broker:\n\
         #       - action: deny\n\
         #         reason: describe the broker in this session first\n\
         #         when: [{{history: {{tool: describe_broker, within: 15m, same: [BrokerId]}}, op: absent}}]\n\n\
         # Refuse IAM policy documents that widen an agent's power (admin wildcards, privilege\n\
         # escalation on broad resources, open trust, AdministratorAccess and the like).\n\
         iam_guard: {{}}\n"
    );
    if profile == Profile::Cautious {
        out.push_str(
            "\ntools:\n\
             \x20 # An agent's own MCP client could answer an elicitation: IAM writes and policy\n\
             \x20 # generation are approved by an operator (`guarded-aws-mcp approvals approve ID`).\n\
             \x20 policy_generation_start:\n\
             \x20   - action: require_approval\n\
             \x20     approver: operator\n\
             \x20     reason: policy generation reads CloudTrail and drafts IAM policies\n\
             \x20     limit: {max: 10, window: 1h, per: session}\n",
        );
        let mut iam_writes: Vec<&str> = catalogue
            .iter()
            .filter(|s| s.family == "IAM" && s.class == RiskClass::Write)
            .map(|s| s.name)
            .collect();
        iam_writes.sort();
        let mut first = true;
        for tool in iam_writes {
            if first {
                out.push_str(&format!(
                    "  {tool}: &iam_write\n    - action: require_approval\n      approver: operator\n      reason: IAM changes are approved by an operator\n"
                ));
                first = false;
            } else {
                out.push_str(&format!("  {tool}: *iam_write\n"));
            }
        }
    }
    out.push_str(
        "\n# Every tool, by family and risk class (rules go under `tools:` by name or glob):\n",
    );
    let mut by_family: BTreeMap<&str, BTreeMap<RiskClass, Vec<&str>>> = BTreeMap::new();
    for s in catalogue.iter() {
        by_family
            .entry(s.family)
            .or_default()
            .entry(s.class)
            .or_default()
            .push(s.name);
    }
    for (fam, classes) in by_family {
        out.push_str(&format!("#\n# {fam}\n"));
        for (class, mut tools) in classes {
            tools.sort();
            out.push_str(&format!("#   {class}: {}\n", tools.join(", ")));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_profile_validates_and_passes_lint() {
        let c = Catalogue::builtin();
        for p in [Profile::ReadOnly, Profile::Cautious, Profile::Permissive] {
            let text = policy(p, &c);
            let compiled = crate::policy::load_str(&text, "init.yaml", &c)
                .unwrap_or_else(|e| panic!("{p:?}: {e}\n{text}"));
            let w = crate::policy::lint::lint(&compiled, &c);
            assert!(w.is_empty(), "{p:?}: {w:?}");
            for s in c.iter() {
                assert!(text.contains(s.name), "{p:?} does not list {}", s.name);
            }
        }
        let cautious = policy(Profile::Cautious, &c);
        let compiled = crate::policy::load_str(&cautious, "init.yaml", &c).unwrap();
        let d = compiled.decide(
            c.get("create_user").unwrap(),
            &serde_json::json!({"user_name": "u"}),
            &crate::policy::Caller::default(),
        );
        assert_eq!(d.approver, crate::policy::Approver::Operator);
    }
}
