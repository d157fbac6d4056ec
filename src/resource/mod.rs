//! The resource a call touches, as policy conditions see it (`resource.tags.env`,
//! `resource.state` …). Each catalogue entry that acts on one existing resource names a
//! [`Target`]: which argument identifies it and what kind it is. This module is pure: the
//! kinds, the facts each offers and their types; [`lookup`] fetches the facts (I/O, in the
//! gate, only when a deciding rule uses `resource.*`), with a short cache.

pub mod lookup;

use serde_json::Value;

/// A kind of resource a family's tools act on: what it is, the facts it offers and how they
/// are fetched. Each family declares its own (`tools/mq/resources.rs`); this module knows none.
pub struct ResourceKind {
    /// A stable id (`mq:broker`, `iam:group`): kinds are equal when their ids are.
    pub id: &'static str,
    /// What it is, for messages (`an Amazon MQ broker`).
    pub name: &'static str,
    /// The facts a lookup gives, with their JSON types (`("tags", "object")`).
    pub facts: &'static [(&'static str, &'static str)],
    /// The lookup (I/O, with the server's own AWS identity), called by [`lookup::Lookups`].
    pub fetch: FetchFn,
}

/// How a kind's facts are fetched.
pub type FetchFn =
    for<'a> fn(
        &'a crate::aws::AwsClients,
        &'a Located,
    ) -> futures::future::BoxFuture<'a, Result<Value, crate::error::ToolError>>;

impl PartialEq for ResourceKind {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl Eq for ResourceKind {}

impl std::hash::Hash for ResourceKind {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.id.hash(state);
    }
}

impl std::fmt::Debug for ResourceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id)
    }
}

/// The existing resource a tool acts on: the argument that names it and its kind, or two such
/// (`add_inline_policy` names a user or a role: whichever argument the call gives, first
/// first). Kinds given together offer the same facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Target {
    first: (&'static str, &'static ResourceKind),
    second: Option<(&'static str, &'static ResourceKind)>,
}

impl Target {
    /// The resource named by `arg`.
    pub const fn one(arg: &'static str, kind: &'static ResourceKind) -> Target {
        Target {
            first: (arg, kind),
            second: None,
        }
    }

    /// The resource named by `arg` when the call gives it, else by `other`.
    pub const fn either(
        arg: &'static str,
        kind: &'static ResourceKind,
        other: &'static str,
        other_kind: &'static ResourceKind,
    ) -> Target {
        Target {
            first: (arg, kind),
            second: Some((other, other_kind)),
        }
    }

    /// The argument that names the resource (the first, for two).
    pub fn arg(&self) -> &'static str {
        self.first.0
    }

    /// What the resource is, for messages.
    pub fn kind(&self) -> String {
        match self.second {
            None => self.first.1.name.to_string(),
            Some((_, k)) => format!("{} or {}", self.first.1.name, k.name),
        }
    }

    /// The facts the resource offers (the kinds of a two-way target offer the same).
    pub fn facts(&self) -> &'static [(&'static str, &'static str)] {
        self.first.1.facts
    }

    /// The JSON types a `resource.<path>` condition compares with, or None when this kind
    /// offers no such fact.
    pub fn fact_types(&self, path: &[&str]) -> Option<Vec<&'static str>> {
        let (first, rest) = path.split_first()?;
        let (_, ty) = self.facts().iter().find(|(n, _)| n == first)?;
        match (*ty, rest.len()) {
            ("object", 1) => Some(vec!["string"]),
            ("object", 0) => Some(vec!["object"]),
            ("array", 0) => Some(vec!["array", "string"]),
            (t, 0) => Some(vec![t]),
            _ => None,
        }
    }

    /// The fact names, for messages (`id, name, tags.<key>, …`).
    pub fn fact_names(&self) -> String {
        self.facts()
            .iter()
            .map(|(n, t)| {
                if *t == "object" {
                    format!("{n}.<key>")
                } else {
                    n.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Which resource a call's (validated) arguments name: its kind, id or name, and region.
    pub fn locate(&self, args: &Value) -> Option<Located> {
        let named = |arg: &str| args.get(arg).and_then(Value::as_str).map(str::to_string);
        let (kind, name) = match (named(self.first.0), self.second) {
            (Some(n), _) => (self.first.1, n),
            (None, Some((other, kind))) => (kind, named(other)?),
            (None, None) => return None,
        };
        let region = args
            .get("region")
            .and_then(Value::as_str)
            .map(str::to_string);
        Some(Located { kind, name, region })
    }
}

/// One resource to look up.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Located {
    pub kind: &'static ResourceKind,
    /// The id, name or ARN the arguments give.
    pub name: String,
    pub region: Option<String>,
}

/// The facts of a looked-up resource that the given `resource.*` paths read (for the audit
/// record: only what the policy uses, never more). A fact the resource lacks is kept as null,
/// so `policy replay` tells "read and absent" from "not read".
pub fn used_facts(facts: &Value, paths: &[Vec<String>]) -> Value {
    let mut out = serde_json::Map::new();
    for path in paths {
        let v = path.iter().try_fold(facts, |v, k| v.get(k));
        out.insert(path.join("."), v.cloned().unwrap_or(Value::Null));
    }
    Value::Object(out)
}

/// The facts an audit record kept (`{"tags.env": "dev"}`) as conditions read them
/// (`{"tags": {"env": "dev"}}`), for `policy replay`.
pub fn nested_facts(used: &Value) -> Value {
    let mut out = serde_json::Map::new();
    for (k, v) in used.as_object().into_iter().flatten() {
        if v.is_null() {
            continue; // read and absent: absent again
        }
        match k.split_once('.') {
            Some((first, rest)) => {
                let inner = out
                    .entry(first.to_string())
                    .or_insert_with(|| Value::Object(Default::default()));
                if let Value::Object(m) = inner {
                    m.insert(rest.to_string(), v.clone());
                }
            }
            None => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn no_fetch<'a>(
        _: &'a crate::aws::AwsClients,
        _: &'a Located,
    ) -> futures::future::BoxFuture<'a, Result<Value, crate::error::ToolError>> {
        Box::pin(async { Ok(Value::Null) })
    }

    static THING: ResourceKind = ResourceKind {
        id: "test:thing",
        name: "a thing",
        facts: &[
            ("state", "string"),
            ("publicly_accessible", "boolean"),
            ("tags", "object"),
        ],
        fetch: no_fetch,
    };
    static GROUP: ResourceKind = ResourceKind {
        id: "test:group",
        name: "a group",
        facts: &[("name", "string"), ("attached_policies", "array")],
        fetch: no_fetch,
    };

    #[test]
    fn facts_have_types_and_tags_have_keys() {
        let b = Target::one("BrokerId", &THING);
        assert_eq!(b.fact_types(&["tags", "env"]), Some(vec!["string"]));
        assert_eq!(
            b.fact_types(&["publicly_accessible"]),
            Some(vec!["boolean"])
        );
        assert_eq!(b.fact_types(&["state", "x"]), None);
        assert_eq!(b.fact_types(&["path"]), None);
        assert_eq!(
            Target::one("group_name", &GROUP).fact_types(&["tags", "x"]),
            None
        );
        let two = Target::either("user_name", &THING, "role_name", &GROUP);
        assert_eq!(two.locate(&json!({"role_name": "r"})).unwrap().kind, &GROUP);
        assert_eq!(
            two.locate(&json!({"user_name": "u", "role_name": "r"}))
                .unwrap()
                .kind,
            &THING
        );
        assert_eq!(two.kind(), "a thing or a group");
        assert!(b.fact_names().contains("tags.<key>"));
        let l = b
            .locate(&json!({"BrokerId": "b-1", "region": "eu-west-1"}))
            .unwrap();
        assert_eq!(
            (l.name.as_str(), l.region.as_deref()),
            ("b-1", Some("eu-west-1"))
        );
        assert!(b.locate(&json!({})).is_none());
    }

    #[test]
    fn only_the_facts_the_policy_reads_are_kept() {
        let facts =
            json!({"id": "b-1", "tags": {"env": "dev", "secret-ish": "x"}, "state": "RUNNING"});
        let used = used_facts(
            &facts,
            &[
                vec!["tags".into(), "env".into()],
                vec!["state".into()],
                vec!["tags".into(), "missing".into()],
            ],
        );
        assert_eq!(
            used,
            json!({"tags.env": "dev", "state": "RUNNING", "tags.missing": null}),
            "a fact read and absent is kept as null"
        );
        assert_eq!(
            nested_facts(&used),
            json!({"tags": {"env": "dev"}, "state": "RUNNING"})
        );
    }
}
