//! The resource a call touches, as policy conditions see it (`resource.tags.env`,
//! `resource.state` …). Each catalogue entry that acts on one existing resource names a
//! [`Target`]: which argument identifies it and what kind it is. This module is pure: the
//! kinds, the facts each offers and their types; [`lookup`] fetches the facts (I/O, in the
//! gate, only when a deciding rule uses `resource.*`), with a short cache.

pub mod lookup;

use serde_json::Value;

/// What kind of resource a tool acts on, and the argument that names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// An Amazon MQ broker by id (`BrokerId`).
    Broker(&'static str),
    /// An Amazon MQ configuration by id (`ConfigurationId`).
    Configuration(&'static str),
    /// An Amazon MQ broker or configuration by ARN (`ResourceArn`).
    MqArn(&'static str),
    /// An IAM user by name.
    IamUser(&'static str),
    /// An IAM role by name.
    IamRole(&'static str),
    /// An IAM group by name.
    IamGroup(&'static str),
    /// An IAM user or an IAM role, by whichever of the two arguments the call gives (user
    /// first): `add_inline_policy`.
    IamUserOrRole(&'static str, &'static str),
}

impl Target {
    /// The argument that names the resource.
    pub fn arg(&self) -> &'static str {
        match *self {
            Target::Broker(a)
            | Target::Configuration(a)
            | Target::MqArn(a)
            | Target::IamUser(a)
            | Target::IamRole(a)
            | Target::IamGroup(a)
            | Target::IamUserOrRole(a, _) => a,
        }
    }

    /// What the resource is, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Target::Broker(_) => "an Amazon MQ broker",
            Target::Configuration(_) => "an Amazon MQ configuration",
            Target::MqArn(_) => "an Amazon MQ broker or configuration",
            Target::IamUser(_) => "an IAM user",
            Target::IamRole(_) => "an IAM role",
            Target::IamGroup(_) => "an IAM group",
            Target::IamUserOrRole(..) => "an IAM user or role",
        }
    }

    /// The facts a lookup offers for this kind, with their JSON types. `tags` is an object of
    /// tag values (`resource.tags.<key>`, strings).
    pub fn facts(&self) -> &'static [(&'static str, &'static str)] {
        const BROKER: &[(&str, &str)] = &[
            ("id", "string"),
            ("name", "string"),
            ("arn", "string"),
            ("state", "string"),
            ("engine_type", "string"),
            ("engine_version", "string"),
            ("deployment_mode", "string"),
            ("host_instance_type", "string"),
            ("publicly_accessible", "boolean"),
            ("tags", "object"),
        ];
        const CONFIGURATION: &[(&str, &str)] = &[
            ("id", "string"),
            ("name", "string"),
            ("arn", "string"),
            ("engine_type", "string"),
            ("engine_version", "string"),
            ("tags", "object"),
        ];
        const PRINCIPAL: &[(&str, &str)] = &[
            ("name", "string"),
            ("arn", "string"),
            ("path", "string"),
            ("attached_policies", "array"),
            ("tags", "object"),
        ];
        const GROUP: &[(&str, &str)] = &[
            ("name", "string"),
            ("arn", "string"),
            ("path", "string"),
            ("attached_policies", "array"),
        ];
        match self {
            Target::Broker(_) => BROKER,
            // A broker or configuration by ARN: the facts both have.
            Target::Configuration(_) | Target::MqArn(_) => CONFIGURATION,
            Target::IamUser(_) | Target::IamRole(_) | Target::IamUserOrRole(..) => PRINCIPAL,
            Target::IamGroup(_) => GROUP,
        }
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

    /// Which resource a call's (validated) arguments name: its id or name, and region.
    pub fn locate(&self, args: &Value) -> Option<Located> {
        let named = |arg: &str| args.get(arg).and_then(Value::as_str).map(str::to_string);
        let (target, name) = match *self {
            Target::IamUserOrRole(user, role) => match named(user) {
                Some(n) => (Target::IamUser(user), n),
                None => (Target::IamRole(role), named(role)?),
            },
            t => (t, named(t.arg())?),
        };
        let region = args
            .get("region")
            .and_then(Value::as_str)
            .map(str::to_string);
        Some(Located {
            target,
            name,
            region,
        })
    }
}

/// One resource to look up.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Located {
    pub target: Target,
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

    #[test]
    fn facts_have_types_and_tags_have_keys() {
        let b = Target::Broker("BrokerId");
        assert_eq!(b.fact_types(&["tags", "env"]), Some(vec!["string"]));
        assert_eq!(
            b.fact_types(&["publicly_accessible"]),
            Some(vec!["boolean"])
        );
        assert_eq!(b.fact_types(&["state", "x"]), None);
        assert_eq!(b.fact_types(&["path"]), None);
        assert_eq!(
            Target::IamGroup("group_name").fact_types(&["tags", "x"]),
            None
        );
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
