//! The policy file format, version 1: the serde types that parse it are also the source of
//! `policies/policy.schema.json` (`guarded-aws-mcp policy schema`).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::catalogue::RiskClass;
use crate::tools::GuardSection as GuardSpec;

/// A guarded-aws-mcp policy. Decision order: among the rules of every `tools` key that matches
/// the tool (exact name or glob) whose `when` conditions all hold, `deny` wins over
/// `require_approval`, which wins over `allow`; when no rule matches, the tool's class default
/// (`classes`), else `default`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "guarded-aws-mcp policy")]
pub struct PolicyFile {
    /// Format version; must be 1.
    pub version: u32,
    /// `enforce` (the default) or `shadow`: every call is evaluated and audited with the decision
    /// it would get, and allowed.
    #[serde(default)]
    pub mode: Mode,
    /// Decision for calls that no rule and no class default decides.
    #[serde(default = "default_action")]
    pub default: Action,
    /// Tool names or globs: absent from `tools/list` and refused when called.
    #[serde(default)]
    pub hide: Vec<String>,
    /// Default decision per risk class (read, write, destructive, execute).
    #[serde(default)]
    pub classes: OrderedMap<RiskClass, Action>,
    /// Rate limits over many tools, applied to every allowed call they select.
    #[serde(default)]
    pub limits: Vec<LimitSpec>,
    /// Rules per tool: the key is a tool name or a glob (`describe_*`), the value a list of rules.
    /// Among rules of the same action, those under the tool's exact name come first, then those
    /// under globs, in file order. A key may appear once.
    #[serde(default)]
    pub tools: OrderedMap<String, Vec<Rule>>,
    /// Tags added to every broker, configuration, IAM user and role an agent creates, over any
    /// tags of the same key in the arguments. Values may hold caller templates
    /// (`owner: "${principal}"`).
    #[serde(default)]
    pub tag_on_create: OrderedMap<String, String>,
    /// The IAM policy-document guard; off when the section is absent, each check on when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iam_guard: Option<GuardSpec>,
}

fn default_action() -> Action {
    Action::Deny
}

/// Whether decisions are enforced.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    #[default]
    Enforce,
    /// Evaluate and audit every call, refuse none (read-only mode and invalid arguments still refuse).
    Shadow,
}

/// What the gate does with a call.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Allow,
    RequireApproval,
    Deny,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::RequireApproval => "require_approval",
            Action::Deny => "deny",
        }
    }
}

/// One rule of a tool key.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub action: Action,
    /// Returned to the agent when this rule decides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Conditions that must all hold for the rule to match; none: the rule always matches.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub when: Vec<Condition>,
    /// A rate limit counted for the calls this rule allows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<LimitSpec>,
    /// On an `allow` rule: the result may carry secrets (the secret access key of
    /// `create_access_key`); otherwise they are redacted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reveal_secrets: bool,
    /// On a `require_approval` rule: how long a human has to answer (elicitation) and how long
    /// an out-of-band approval stays valid (`approvals approve`); default 15m.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_timeout: Option<Window>,
    /// On a `require_approval` rule: who may approve. `operator` (out of band only:
    /// `guarded-aws-mcp approvals approve`, which the agent's MCP client cannot answer),
    /// `client` (the MCP client's elicitation only) or `any` (elicitation when the client offers
    /// it, else out of band; the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approver: Option<Approver>,
}

/// Who can approve a `require_approval` call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Approver {
    /// The MCP client's elicitation when it offers it, else an operator out of band.
    #[default]
    Any,
    /// Only the MCP client's elicitation (a call from a client without it is refused).
    Client,
    /// Only an operator out of band (`guarded-aws-mcp approvals`), never the MCP client: the
    /// agent's own client cannot answer for the human.
    Operator,
}

impl Approver {
    pub fn as_str(self) -> &'static str {
        match self {
            Approver::Any => "any",
            Approver::Client => "client",
            Approver::Operator => "operator",
        }
    }
}

/// A YAML mapping read in file order, refusing a key written twice (YAML parsers keep one of
/// the two silently).
#[derive(Debug, Clone, PartialEq)]
pub struct OrderedMap<K, V>(pub Vec<(K, V)>);

impl<K, V> Default for OrderedMap<K, V> {
    fn default() -> Self {
        OrderedMap(Vec::new())
    }
}

impl<K, V> OrderedMap<K, V> {
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl<'a, K, V> IntoIterator for &'a OrderedMap<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter = std::iter::Map<std::slice::Iter<'a, (K, V)>, fn(&'a (K, V)) -> (&'a K, &'a V)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl<K: Serialize, V: Serialize> Serialize for OrderedMap<K, V> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

impl<'de, K, V> Deserialize<'de> for OrderedMap<K, V>
where
    K: Deserialize<'de> + PartialEq + std::fmt::Debug,
    V: Deserialize<'de>,
{
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit<K, V>(std::marker::PhantomData<(K, V)>);
        impl<'de, K, V> serde::de::Visitor<'de> for Visit<K, V>
        where
            K: Deserialize<'de> + PartialEq + std::fmt::Debug,
            V: Deserialize<'de>,
        {
            type Value = OrderedMap<K, V>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut out: Vec<(K, V)> = Vec::new();
                while let Some(k) = map.next_key::<K>()? {
                    if out.iter().any(|(seen, _)| *seen == k) {
                        return Err(serde::de::Error::custom(format!(
                            "the key {k:?} is written twice; write each key once (its rules would otherwise be dropped silently)"
                        )));
                    }
                    let v = map.next_value()?;
                    out.push((k, v));
                }
                Ok(OrderedMap(out))
            }
        }
        d.deserialize_map(Visit(std::marker::PhantomData))
    }
}

impl<K: JsonSchema, V: JsonSchema> JsonSchema for OrderedMap<K, V> {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        <BTreeMap<K, V>>::schema_name()
    }
    fn inline_schema() -> bool {
        <BTreeMap<K, V>>::inline_schema()
    }
    fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        <BTreeMap<K, V>>::json_schema(g)
    }
}

/// A test on one argument, fact of the caller or resource, or on what was called before.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// `args.` followed by the parameter name, with dots into nested objects; or `principal`
    /// (the caller's name: the token's principal over HTTP, `--principal` on stdio); or `roles`
    /// (the caller's roles, a list: use `contains`, `in`... ); or `claims.` followed by a
    /// claim of the caller's identity-provider token (`claims.team`; a caller without a token
    /// has none); or `resource.` followed by a fact of the resource the tool acts on
    /// (`resource.tags.env`, `resource.state`), looked up before the decision. Either `path` or
    /// `history`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(
        pattern = r"^(args\.[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*|principal|roles|claims\.[A-Za-z0-9_:.-]+|resource\.[A-Za-z0-9_]+(\..+)?)$"
    ))]
    pub path: Option<String>,
    /// Calls made before this one (that ran and succeeded), looked up in the state store
    /// before the decision: test them with `exists`, `absent`, `count_gte` or `count_lt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<HistorySpec>,
    pub op: Op,
    /// The operand: a scalar for eq/ne/lt/lte/gt/gte/contains, a list for in/not_in, a
    /// pattern string for regex/glob, a boolean for exists (default true), a count for
    /// count_gte/count_lt. For eq and ne, a caller template: `${principal}`, `${roles}` or
    /// `${claims.<name>}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
}

/// Which earlier calls a history condition counts.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HistorySpec {
    /// A tool name or glob.
    pub tool: String,
    /// How far back: seconds, or a number with s, m, h or d.
    pub within: Window,
    /// Whose calls: `session` (the default), `principal` or `global`.
    #[serde(default)]
    pub per: Scope,
    /// Arguments whose values must be the same in the earlier call as in this one
    /// (`[BrokerId]`); both tools must have them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub same: Vec<String>,
}

/// Condition operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Eq,
    Ne,
    In,
    NotIn,
    Lt,
    Lte,
    Gt,
    Gte,
    Regex,
    Contains,
    Exists,
    Glob,
    /// History: no such call.
    Absent,
    /// History: at least `value` such calls.
    CountGte,
    /// History: fewer than `value` such calls.
    CountLt,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "eq",
            Op::Ne => "ne",
            Op::In => "in",
            Op::NotIn => "not_in",
            Op::Lt => "lt",
            Op::Lte => "lte",
            Op::Gt => "gt",
            Op::Gte => "gte",
            Op::Regex => "regex",
            Op::Contains => "contains",
            Op::Exists => "exists",
            Op::Glob => "glob",
            Op::Absent => "absent",
            Op::CountGte => "count_gte",
            Op::CountLt => "count_lt",
        }
    }
}

/// A limit on the calls it selects: `max` calls (or cost units, with `cost`) per `window`,
/// or `max_in_flight` calls running at once; counted apart for each value of its `per` keys.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LimitSpec {
    /// Calls allowed in one window (with `cost`: units of cost); `0` blocks every call the
    /// limit counts (refused with its own text, without asking the state store).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u32>,
    /// Window length: seconds as a number, or a number with a unit s, m, h or d (`30s`, `1h`).
    /// Required with `max`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<Window>,
    /// Calls running at once (from the slot's reservation to the end of the call: success,
    /// error, cancellation or a lost connection); instead of `max` and `window`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_in_flight: Option<u32>,
    /// What the limit is counted per: one key or a list of keys, counted apart for each
    /// combination of their values. `session` (on stdio, the process), `principal` (the caller,
    /// over every session and replica), `global`, `roles` (the caller's roles, as a set),
    /// `claims.NAME` (a claim of the caller's token), `args.PATH` (an argument),
    /// `resource.PATH` (a fact of the resource the call acts on). A call without a key's value
    /// is counted under an explicit empty value, shared by every call without it. Default
    /// `session`.
    #[serde(default)]
    pub per: PerKeys,
    /// Only in `limits`: count only tools of this risk class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<RiskClass>,
    /// Only in `limits`: count only tools whose name matches this name or glob.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    /// With `max`: what one call costs instead of 1, making `max` a budget over the window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<CostSpec>,
    /// Conditions that must all hold for the limit to count a call (`[{path:
    /// claims.suspended, op: eq, value: true}]` with `max: 0` blocks those callers); none:
    /// it counts every call it selects. History conditions are not taken here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub when: Vec<Condition>,
}

/// The keys a limit is counted per: one word or a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum PerKeys {
    One(
        #[schemars(regex(
            pattern = r"^(session|principal|global|roles|claims\.[A-Za-z0-9_:.-]+|args\.[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*|resource\.[A-Za-z0-9_]+(\..+)?)$"
        ))]
        String,
    ),
    Many(Vec<String>),
}

impl Default for PerKeys {
    fn default() -> Self {
        PerKeys::One("session".into())
    }
}

impl PerKeys {
    pub fn keys(&self) -> Vec<&str> {
        match self {
            PerKeys::One(k) => vec![k.as_str()],
            PerKeys::Many(ks) => ks.iter().map(String::as_str).collect(),
        }
    }
}

/// What one call costs: a numeric argument (`args.Count`), or a table of an argument's values.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum CostSpec {
    /// `args.PATH` holding a non-negative number (a fraction counts as the next whole unit).
    Path(#[schemars(regex(pattern = r"^args\.[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$"))] String),
    /// The cost of each value of an argument.
    Table(CostTable),
}

/// `{of: args.PATH, table: {value: cost}, default: cost}`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CostTable {
    /// The argument whose value is looked up (`args.host_instance_type`).
    #[schemars(regex(pattern = r"^args\.[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$"))]
    pub of: String,
    /// Cost per value; without a table, the argument's own (numeric) value is the cost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<OrderedMap<String, u64>>,
    /// The cost of a value the table does not list, or of a call without the argument; without
    /// a default, such a call is refused (a budget never guesses low).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<u64>,
}

/// A window length.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Window {
    Seconds(u64),
    Text(#[schemars(regex(pattern = r"^[0-9]+[smhd]$"))] String),
}

/// Whose calls a history condition counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    #[default]
    Session,
    Principal,
    Global,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Session => "session",
            Scope::Principal => "principal",
            Scope::Global => "global",
        }
    }
}
