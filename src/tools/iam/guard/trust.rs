//! Who a trust policy lets assume a role, by account: `AWS` principals only of the server's own
//! account or `iam_guard.trusted_accounts`; `Federated` principals only from
//! `iam_guard.trusted_federations`; `Service` principals (AWS services acting for the account)
//! allowed. Principals are compared by the account they denote, never by spelling: the 12-digit
//! form and every ARN form of an account are the same account.

use serde_json::Value;

use super::{Finding, GuardSpec, as_list, statement_location, statements};

/// The account an `AWS` principal denotes: `123456789012`, or the account field of an ARN
/// (`arn:aws:iam::123456789012:root`, `…:user/x`, `arn:aws:sts::123456789012:assumed-role/r/s`).
/// None when it names no single account (a unique id, a wildcard, anything else).
pub fn account_of(principal: &str) -> Option<&str> {
    let account = match principal.strip_prefix("arn:") {
        Some(rest) => rest.split(':').nth(3)?,
        None => principal,
    };
    (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())).then_some(account)
}

/// The first `AWS` principal outside the trusted accounts, or `Federated` principal not listed,
/// in an `Allow` statement of a trust policy.
pub(super) fn foreign_principal(
    spec: &GuardSpec,
    field: &str,
    doc: &Value,
    own_account: Option<&str>,
) -> Option<Finding> {
    for (i, st) in statements(doc).into_iter().enumerate() {
        if st.get("Effect").and_then(Value::as_str) != Some("Allow") {
            continue;
        }
        let Some(Value::Object(principal)) = st.get("Principal") else {
            continue; // "*" is the public-trust check's; no principal grants nothing
        };
        let finding = |reason: String| Finding {
            check: "foreign_trust",
            location: statement_location(field, i, st),
            reason,
        };
        for (kind, value) in principal {
            for p in as_list(Some(value)) {
                match kind.to_ascii_lowercase().as_str() {
                    "aws" => match account_of(p) {
                        Some(a) if Some(a) == own_account => {}
                        Some(a) if spec.trusted_accounts.iter().any(|t| t == a) => {}
                        Some(a) => {
                            return Some(finding(format!(
                                "lets account {a} ({p}) assume the role: it is not this server's account{} nor in iam_guard.trusted_accounts",
                                own_account.map(|o| format!(" ({o})")).unwrap_or_default()
                            )));
                        }
                        None if p == "*" => {} // the public-trust check's
                        None => {
                            return Some(finding(format!(
                                "names the AWS principal {p:?}, whose account cannot be told: name it by its ARN"
                            )));
                        }
                    },
                    "federated" => {
                        if !spec.trusted_federations.iter().any(|t| t == p) {
                            return Some(finding(format!(
                                "lets the federated identity provider {p} assume the role: it is not in iam_guard.trusted_federations"
                            )));
                        }
                    }
                    "service" => {}
                    _ => {
                        return Some(finding(format!(
                            "names a {kind} principal, which no trust policy of this server may name"
                        )));
                    }
                }
            }
        }
    }
    None
}
