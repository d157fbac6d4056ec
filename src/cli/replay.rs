//! `guarded-aws-mcp policy replay --audit LOG --policy CANDIDATE`: every call the audit log
//! records, decided again under a candidate policy, and what would change.
//!
//! The log is streamed (constant memory: one line at a time, and one counter per tool and
//! change). Arguments are taken as recorded: redacted secrets are present as `[REDACTED]`, and
//! schema validation is skipped (a recorded call already passed it). Calls that never reached
//! the policy (invalid arguments, unknown tools), `started` records, reloads, operator
//! decisions and calls whose arguments were too large to record are counted as skipped.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use chrono::DateTime;

use serde::Serialize;
use serde_json::Value;

use crate::audit::{AuditRecord, Outcome};
use crate::catalogue::Catalogue;
use crate::clock::Clock;
use crate::gate::GateOptions;
use crate::gate::offline::{Decider, DecisionKind, Fixtures};
use crate::policy::Caller;
use crate::validate::ArgValidator;

/// How many calls changed from `old` to `new` for one tool, with the first example.
#[derive(Debug, Serialize)]
struct Change {
    tool: String,
    old: DecisionKind,
    new: DecisionKind,
    count: u64,
    /// The first such record's timestamp and principal.
    first: String,
    /// The candidate's deciding rule for the first example.
    rule: Option<String>,
}

#[derive(Debug, Default, Serialize)]
struct Totals {
    records: u64,
    replayed: u64,
    unchanged: u64,
    changed: u64,
    skipped: u64,
    unreadable: u64,
    /// Allowed before, refused now.
    newly_refused: u64,
    /// Refused before, allowed now.
    newly_allowed: u64,
    /// Records the candidate reads more of than they kept (a claim or resource fact the
    /// recorded call's policy did not read): neither changed nor unchanged.
    undecidable: u64,
}

/// Why some records could not be decided again: how many, and the first one's time.
#[derive(Debug, Serialize)]
struct Undecidable {
    reason: String,
    count: u64,
    first: String,
}

/// Count a record that cannot be decided again, under its reason.
fn note_undecidable(
    totals: &mut Totals,
    undecidable: &mut BTreeMap<String, Undecidable>,
    why: String,
    first: String,
) {
    totals.undecidable += 1;
    undecidable
        .entry(why.clone())
        .or_insert_with(|| Undecidable {
            reason: why,
            count: 0,
            first,
        })
        .count += 1;
}

/// What the candidate reads of this call that its record did not keep, if anything.
fn unknown_to_record(
    policy: &crate::policy::CompiledPolicy,
    tool: &str,
    r: &AuditRecord,
) -> Option<String> {
    if r.token.is_some() {
        let kept = r.claims.as_ref();
        if let Some(c) = policy
            .claims_read()
            .iter()
            .find(|c| !kept.is_some_and(|m| m.contains_key(c.as_str())))
        {
            return Some(format!(
                "the candidate reads claims.{c}, which records of token callers did not keep"
            ));
        }
    }
    let kept = r.resource.as_ref().and_then(Value::as_object);
    policy
        .resource_paths(tool)
        .iter()
        .map(|p| p.join("."))
        .find(|p| !kept.is_some_and(|m| m.contains_key(p)))
        .map(|p| {
            format!("the candidate reads resource.{p} of {tool}, which the records did not keep")
        })
}

/// The recorded decision, as `policy test` names them; None for records that are not a
/// policy decision.
fn old_decision(r: &AuditRecord) -> Option<DecisionKind> {
    if matches!(
        r.outcome,
        Outcome::Started | Outcome::ApprovalDecided { .. } | Outcome::Checkpoint { .. }
    ) {
        return None;
    }
    if r.tool == "policy_reload" || r.args.get("truncated") == Some(&Value::Bool(true)) {
        return None;
    }
    if r.rule.as_deref() == Some("hide") {
        return Some(DecisionKind::Hidden);
    }
    if matches!(r.outcome, Outcome::RateLimited { .. }) {
        return Some(DecisionKind::RateLimited);
    }
    match r.decision.as_str() {
        "allow" => Some(DecisionKind::Allow),
        "approved" | "require_approval" => Some(DecisionKind::RequireApproval),
        "deny" => Some(DecisionKind::Deny),
        _ => None,
    }
}

pub fn run(audit: &Path, candidate: &Path, json: bool) -> ExitCode {
    let catalogue = Catalogue::builtin();
    let policy = match super::load_policy(Some(candidate), &catalogue) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let validator = match ArgValidator::new(&catalogue) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("guarded-aws-mcp: {e}");
            return ExitCode::FAILURE;
        }
    };
    let file = match std::fs::File::open(audit) {
        Ok(f) => std::io::BufReader::with_capacity(1 << 20, f),
        Err(e) => {
            eprintln!("{}: cannot be read: {e}", audit.display());
            return ExitCode::FAILURE;
        }
    };
    // Limits, budgets and history are rebuilt from the records in order: time follows the
    // records' timestamps; a call the candidate would run is counted, and logged in the
    // history when the record says it succeeded.
    let (clock, hand) = Clock::manual();
    let decider = Decider::new(&catalogue, &validator, &policy, GateOptions::default())
        .with_clock(clock)
        .logging_only_told();
    let mut first_at: Option<DateTime<chrono::FixedOffset>> = None;
    let mut moved = Duration::ZERO;
    let start = Instant::now();
    let mut totals = Totals::default();
    let mut changes: BTreeMap<(String, DecisionKind, DecisionKind), Change> = BTreeMap::new();
    let mut undecidable: BTreeMap<String, Undecidable> = BTreeMap::new();
    for line in file.lines() {
        let Ok(line) = line else {
            totals.unreadable += 1;
            continue;
        };
        totals.records += 1;
        let Ok(r) = serde_json::from_str::<AuditRecord>(&line) else {
            totals.unreadable += 1;
            continue;
        };
        let Some(old) = old_decision(&r) else {
            totals.skipped += 1;
            continue;
        };
        totals.replayed += 1;
        let tool = r.tool.as_str();
        let first = format!("{} by {}", r.ts, r.principal.as_deref().unwrap_or("?"));
        if let Some(why) = unknown_to_record(&policy, tool, &r) {
            note_undecidable(&mut totals, &mut undecidable, why, first);
            continue;
        }
        let mut caller = Caller::new(r.principal.as_deref().unwrap_or("local"), r.roles.clone());
        if let Some(t) = &r.token {
            // The claims the record kept (null: the token lacked it).
            let claims = r
                .claims
                .as_ref()
                .map(|m| {
                    m.iter()
                        .filter(|(_, v)| !v.is_null())
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect()
                })
                .unwrap_or_default();
            caller = caller.with_token(crate::policy::TokenFacts {
                issuer: t.issuer.clone(),
                id: t.jti.clone(),
                claims,
            });
        }
        // The facts the recorded call's policy read, as they were then.
        let resource = r.resource.as_ref().map(crate::resource::nested_facts);
        // The replay's clock moves to the record's time (never back: a log is in order).
        let at = DateTime::parse_from_rfc3339(&r.ts).ok();
        let since_start = match (at, first_at) {
            (Some(at), Some(first)) => (at - first).to_std().unwrap_or_default(),
            (Some(at), None) => {
                first_at = Some(at);
                Duration::ZERO
            }
            (None, _) => moved,
        };
        if since_start > moved {
            hand.advance(since_start - moved);
            moved = since_start;
        }
        // The recorded call, as history keys read it.
        let facts = crate::policy::CallFacts {
            session: &r.session,
            caller: &caller,
            args: &r.args,
            resource: resource.as_ref(),
        };
        if let Some(back) = catalogue
            .get(tool)
            .and_then(|spec| policy.lookback(spec))
            .filter(|back| *back > moved)
        {
            // It ran as recorded: later calls' history counts it.
            if r.outcome == Outcome::Ok {
                decider.log_success(tool, &facts);
            }
            let why = format!(
                "the candidate counts {tool}'s calls of the {} before each call (history or a budget), and the log does not reach back that far",
                crate::policy::limit::wait_text(back)
            );
            note_undecidable(&mut totals, &mut undecidable, why, first);
            continue;
        }
        let fixtures = Fixtures {
            resource: resource.as_ref(),
            session: Some(&r.session),
            ..Fixtures::default()
        };
        let got = decider.decide_with(tool, r.args.clone(), &caller, &fixtures, false);
        if got.kind == DecisionKind::Allow && r.outcome == Outcome::Ok {
            decider.log_success(tool, &facts);
        }
        let new = got.kind;
        if new == old {
            totals.unchanged += 1;
            continue;
        }
        totals.changed += 1;
        if !old.refused() && new.refused() {
            totals.newly_refused += 1;
        }
        if old.refused() && !new.refused() {
            totals.newly_allowed += 1;
        }
        changes
            .entry((tool.to_string(), old, new))
            .or_insert_with(|| Change {
                tool: tool.to_string(),
                old,
                new,
                count: 0,
                first,
                rule: got.rule.clone(),
            })
            .count += 1;
    }
    let seconds = start.elapsed().as_secs_f64();
    let rate = (totals.records as f64 / seconds.max(1e-9)) as u64;
    let changes: Vec<Change> = changes.into_values().collect();
    let undecidable: Vec<Undecidable> = undecidable.into_values().collect();
    if json {
        let report = serde_json::json!({"totals": totals, "changes": changes,
            "undecidable": undecidable, "seconds": seconds, "records_per_second": rate});
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        print_table(&changes, totals.undecidable);
        for u in &undecidable {
            println!(
                "undecidable: {} record(s): {} (first {})",
                u.count, u.reason, u.first
            );
        }
        println!(
            "replay: {} records, {} replayed, {} unchanged, {} changed ({} newly refused, {} newly allowed), {} undecidable, {} skipped, {} unreadable; {:.2}s, {rate} records/s",
            totals.records,
            totals.replayed,
            totals.unchanged,
            totals.changed,
            totals.newly_refused,
            totals.newly_allowed,
            totals.undecidable,
            totals.skipped,
            totals.unreadable,
            seconds
        );
    }
    // 2: decisions change; 3: none among the records that could be decided, but some could
    // not be (the answer is incomplete, never "unchanged").
    if totals.newly_refused > 0 || totals.newly_allowed > 0 {
        ExitCode::from(2)
    } else if totals.undecidable > 0 {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    }
}

fn print_table(changes: &[Change], undecidable: u64) {
    if changes.is_empty() {
        if undecidable == 0 {
            println!("no decision changes");
        } else {
            println!(
                "no decision changes among the records that could be decided; {undecidable} could not be"
            );
        }
        return;
    }
    println!(
        "{:<40} {:<34} {:>8}  {:<40} first example",
        "tool", "old -> new", "count", "deciding rule"
    );
    for c in changes {
        println!(
            "{:<40} {:<34} {:>8}  {:<40} {}",
            c.tool,
            format!("{} -> {}", c.old, c.new),
            c.count,
            c.rule.as_deref().unwrap_or("-"),
            c.first
        );
    }
}
