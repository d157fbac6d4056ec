//! Managed policies, access keys and policy simulation.

use super::*;

// ---------------------------------------------------------------- managed policies

/// Which managed policies to list.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
pub enum PolicyScope {
    All,
    #[serde(rename = "AWS")]
    Aws,
    Local,
}

pub(super) fn local() -> PolicyScope {
    PolicyScope::Local
}

/// Arguments of `list_policies`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListPoliciesArgs {
    /// `Local` (customer managed, the default), `AWS` (AWS managed) or `All`.
    #[serde(default = "local")]
    pub scope: PolicyScope,
    /// Only policies attached to a user, group or role.
    #[serde(default)]
    pub only_attached: bool,
    #[schemars(regex(pattern = PATH_PREFIX))]
    #[serde(default)]
    pub path_prefix: Option<String>,
    #[schemars(range(min = 1, max = 1000))]
    #[serde(default)]
    pub max_items: Option<i32>,
    #[schemars(length(min = 1, max = 320))]
    #[serde(default)]
    pub marker: Option<String>,
}
impl CheckArgs for ListPoliciesArgs {}

/// A page of managed policies.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct PoliciesOut {
    pub policies: Vec<PolicyOut>,
    pub is_truncated: bool,
    pub marker: Option<String>,
}

pub(super) async fn list_policies(
    ctx: ToolContext,
    a: ListPoliciesArgs,
) -> Result<PoliciesOut, ToolError> {
    let scope = match a.scope {
        PolicyScope::All => sdk::PolicyScopeType::All,
        PolicyScope::Aws => sdk::PolicyScopeType::Aws,
        PolicyScope::Local => sdk::PolicyScopeType::Local,
    };
    let out = ctx
        .aws
        .client::<aws_sdk_iam::Client>(None)
        .await
        .list_policies()
        .scope(scope)
        .only_attached(a.only_attached)
        .set_path_prefix(a.path_prefix)
        .set_max_items(a.max_items)
        .set_marker(a.marker)
        .send()
        .await
        .map_err(|e| ctx.aws_error(e))?;
    Ok(PoliciesOut {
        policies: out.policies().iter().map(PolicyOut::from).collect(),
        is_truncated: out.is_truncated,
        marker: out.marker,
    })
}

/// Arguments of `get_managed_policy_document`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyDocArgs {
    #[schemars(regex(pattern = POLICY_ARN))]
    pub policy_arn: String,
    /// Version (`v1`); the default version when omitted.
    #[schemars(regex(pattern = r"^v[1-9][0-9]*(\.[A-Za-z0-9-]*)?$"))]
    #[serde(default)]
    pub version_id: Option<String>,
}
impl CheckArgs for PolicyDocArgs {}

/// A managed policy's document.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyDocOut {
    pub policy_arn: String,
    pub version_id: Option<String>,
    pub is_default_version: bool,
    pub create_date: Option<String>,
    /// The policy document, decoded.
    pub document: Value,
}

pub(super) async fn get_managed_policy_document(
    ctx: ToolContext,
    a: PolicyDocArgs,
) -> Result<PolicyDocOut, ToolError> {
    let iam = ctx.aws.client::<aws_sdk_iam::Client>(None).await;
    let version = match a.version_id {
        Some(v) => v,
        None => iam
            .get_policy()
            .policy_arn(&a.policy_arn)
            .send()
            .await
            .map_err(|e| aws_error("iam:GetPolicy", e))?
            .policy
            .and_then(|p| p.default_version_id)
            .ok_or_else(|| ToolError::Internal("GetPolicy returned no default version".into()))?,
    };
    let out = iam
        .get_policy_version()
        .policy_arn(&a.policy_arn)
        .version_id(&version)
        .send()
        .await
        .map_err(|e| ctx.aws_error(e))?;
    let v = out
        .policy_version
        .ok_or_else(|| ToolError::Internal("GetPolicyVersion returned no version".into()))?;
    Ok(PolicyDocOut {
        policy_arn: a.policy_arn,
        version_id: v.version_id.clone(),
        is_default_version: v.is_default_version,
        create_date: ts(v.create_date.as_ref()),
        document: v
            .document
            .as_deref()
            .map(decode_document)
            .unwrap_or(Value::Null),
    })
}

/// A user and a managed policy.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPolicyArnArgs {
    #[schemars(regex(pattern = USER_NAME))]
    pub user_name: String,
    #[schemars(regex(pattern = POLICY_ARN))]
    pub policy_arn: String,
    /// Accepted for compatibility with the AWS Labs server; policies may test it.
    #[serde(default)]
    pub confirmed: Option<bool>,
}
impl CheckArgs for UserPolicyArnArgs {}

/// A role and a managed policy.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RolePolicyArnArgs {
    #[schemars(regex(pattern = ROLE_NAME))]
    pub role_name: String,
    #[schemars(regex(pattern = POLICY_ARN))]
    pub policy_arn: String,
    #[serde(default)]
    pub confirmed: Option<bool>,
}
impl CheckArgs for RolePolicyArnArgs {}

/// A group and a managed policy.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupPolicyArnArgs {
    #[schemars(regex(pattern = GROUP_NAME))]
    pub group_name: String,
    #[schemars(regex(pattern = POLICY_ARN))]
    pub policy_arn: String,
    #[serde(default)]
    pub confirmed: Option<bool>,
}
impl CheckArgs for GroupPolicyArnArgs {}

pub(super) async fn attach_user_policy(
    ctx: ToolContext,
    a: UserPolicyArnArgs,
) -> Result<Changed, ToolError> {
    ctx.aws
        .client::<aws_sdk_iam::Client>(None)
        .await
        .attach_user_policy()
        .user_name(&a.user_name)
        .policy_arn(&a.policy_arn)
        .send()
        .await
        .map_err(|e| ctx.aws_error(e))?;
    Ok(changed(
        "attached",
        format!("user/{}", a.user_name),
        Some(a.policy_arn),
    ))
}

pub(super) async fn detach_user_policy(
    ctx: ToolContext,
    a: UserPolicyArnArgs,
) -> Result<Changed, ToolError> {
    ctx.aws
        .client::<aws_sdk_iam::Client>(None)
        .await
        .detach_user_policy()
        .user_name(&a.user_name)
        .policy_arn(&a.policy_arn)
        .send()
        .await
        .map_err(|e| ctx.aws_error(e))?;
    Ok(changed(
        "detached",
        format!("user/{}", a.user_name),
        Some(a.policy_arn),
    ))
}

pub(super) async fn attach_role_policy(
    ctx: ToolContext,
    a: RolePolicyArnArgs,
) -> Result<Changed, ToolError> {
    ctx.aws
        .client::<aws_sdk_iam::Client>(None)
        .await
        .attach_role_policy()
        .role_name(&a.role_name)
        .policy_arn(&a.policy_arn)
        .send()
        .await
        .map_err(|e| ctx.aws_error(e))?;
    Ok(changed(
        "attached",
        format!("role/{}", a.role_name),
        Some(a.policy_arn),
    ))
}

pub(super) async fn detach_role_policy(
    ctx: ToolContext,
    a: RolePolicyArnArgs,
) -> Result<Changed, ToolError> {
    ctx.aws
        .client::<aws_sdk_iam::Client>(None)
        .await
        .detach_role_policy()
        .role_name(&a.role_name)
        .policy_arn(&a.policy_arn)
        .send()
        .await
        .map_err(|e| ctx.aws_error(e))?;
    Ok(changed(
        "detached",
        format!("role/{}", a.role_name),
        Some(a.policy_arn),
    ))
}

pub(super) async fn attach_group_policy(
    ctx: ToolContext,
    a: GroupPolicyArnArgs,
) -> Result<Changed, ToolError> {
    ctx.aws
        .client::<aws_sdk_iam::Client>(None)
        .await
        .attach_group_policy()
        .group_name(&a.group_name)
        .policy_arn(&a.policy_arn)
        .send()
        .await
        .map_err(|e| ctx.aws_error(e))?;
    Ok(changed(
        "attached",
        format!("group/{}", a.group_name),
        Some(a.policy_arn),
    ))
}

pub(super) async fn detach_group_policy(
    ctx: ToolContext,
    a: GroupPolicyArnArgs,
) -> Result<Changed, ToolError> {
    ctx.aws
        .client::<aws_sdk_iam::Client>(None)
        .await
        .detach_group_policy()
        .group_name(&a.group_name)
        .policy_arn(&a.policy_arn)
        .send()
        .await
        .map_err(|e| ctx.aws_error(e))?;
    Ok(changed(
        "detached",
        format!("group/{}", a.group_name),
        Some(a.policy_arn),
    ))
}

// ---------------------------------------------------------------- access keys

/// Arguments of `create_access_key`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKeyArgs {
    #[schemars(regex(pattern = USER_NAME))]
    pub user_name: String,
    #[serde(default)]
    pub confirmed: Option<bool>,
}
impl CheckArgs for CreateKeyArgs {}

/// A new access key. `SecretAccessKey` is `[REDACTED]` unless the policy rule that allowed the
/// call says `reveal_secrets: true`.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct NewAccessKey {
    pub user_name: String,
    pub access_key_id: String,
    pub status: String,
    pub create_date: Option<String>,
    pub secret_access_key: String,
    pub secret_revealed: bool,
}

pub(super) async fn create_access_key(
    ctx: ToolContext,
    a: CreateKeyArgs,
) -> Result<NewAccessKey, ToolError> {
    let out = ctx
        .aws
        .client::<aws_sdk_iam::Client>(None)
        .await
        .create_access_key()
        .user_name(&a.user_name)
        .send()
        .await
        .map_err(|e| ctx.aws_error(e))?;
    let key = out
        .access_key
        .ok_or_else(|| ToolError::Internal("CreateAccessKey returned no key".into()))?;
    Ok(NewAccessKey {
        user_name: key.user_name,
        access_key_id: key.access_key_id,
        status: key.status.as_str().to_string(),
        create_date: ts(key.create_date.as_ref()),
        secret_access_key: if ctx.reveal_secrets {
            key.secret_access_key
        } else {
            REDACTED.to_string()
        },
        secret_revealed: ctx.reveal_secrets,
    })
}

/// Arguments of `delete_access_key`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteKeyArgs {
    #[schemars(regex(pattern = USER_NAME))]
    pub user_name: String,
    #[schemars(regex(pattern = ACCESS_KEY_ID))]
    pub access_key_id: String,
    #[serde(default)]
    pub confirmed: Option<bool>,
}
impl CheckArgs for DeleteKeyArgs {}

pub(super) async fn delete_access_key(
    ctx: ToolContext,
    a: DeleteKeyArgs,
) -> Result<Changed, ToolError> {
    ctx.aws
        .client::<aws_sdk_iam::Client>(None)
        .await
        .delete_access_key()
        .user_name(&a.user_name)
        .access_key_id(&a.access_key_id)
        .send()
        .await
        .map_err(|e| ctx.aws_error(e))?;
    Ok(changed(
        "deleted",
        format!("user/{}", a.user_name),
        Some(format!("access key {}", a.access_key_id)),
    ))
}

// ---------------------------------------------------------------- simulation

/// A context value for a simulation: one string or a list of strings.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ContextValue {
    One(String),
    Many(Vec<String>),
}

/// Arguments of `simulate_principal_policy`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SimulateArgs {
    /// ARN of the user, group or role whose policies are simulated.
    #[schemars(regex(pattern = PRINCIPAL_ARN))]
    pub policy_source_arn: String,
    /// Actions to simulate (`s3:GetObject`), 1 to 100.
    #[schemars(
        length(min = 1, max = 100),
        inner(regex(pattern = r"^[A-Za-z0-9-]+:[A-Za-z0-9*?]+$"))
    )]
    pub action_names: Vec<String>,
    /// Resource ARNs; `*` when omitted.
    #[schemars(length(max = 100))]
    #[serde(default)]
    pub resource_arns: Option<Vec<String>>,
    /// Condition context keys and values (`{"aws:SourceIp": "10.0.0.1"}`), as strings.
    #[serde(default)]
    pub context_entries: Option<HashMap<String, ContextValue>>,
}
impl CheckArgs for SimulateArgs {}

/// One simulated decision.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Evaluation {
    pub action: String,
    pub resource: Option<String>,
    /// `allowed`, `explicitDeny` or `implicitDeny`.
    pub decision: String,
    pub matched_statements: Vec<String>,
    pub missing_context_values: Vec<String>,
}

/// Simulation results.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct SimulationOut {
    pub evaluation_results: Vec<Evaluation>,
    pub is_truncated: bool,
}

pub(super) async fn simulate_principal_policy(
    ctx: ToolContext,
    a: SimulateArgs,
) -> Result<SimulationOut, ToolError> {
    let entries = a.context_entries.map(|m| {
        m.into_iter()
            .map(|(k, v)| {
                let values = match v {
                    ContextValue::One(s) => vec![s],
                    ContextValue::Many(l) => l,
                };
                let ty = if values.len() > 1 {
                    sdk::ContextKeyTypeEnum::StringList
                } else {
                    sdk::ContextKeyTypeEnum::String
                };
                sdk::ContextEntry::builder()
                    .context_key_name(k)
                    .set_context_key_values(Some(values))
                    .context_key_type(ty)
                    .build()
            })
            .collect()
    });
    let out = ctx
        .aws
        .client::<aws_sdk_iam::Client>(None)
        .await
        .simulate_principal_policy()
        .policy_source_arn(&a.policy_source_arn)
        .set_action_names(Some(a.action_names))
        .set_resource_arns(a.resource_arns)
        .set_context_entries(entries)
        .send()
        .await
        .map_err(|e| ctx.aws_error(e))?;
    Ok(SimulationOut {
        evaluation_results: out
            .evaluation_results()
            .iter()
            .map(|r| Evaluation {
                action: r.eval_action_name.clone(),
                resource: r.eval_resource_name.clone(),
                decision: r.eval_decision.as_str().to_string(),
                matched_statements: r
                    .matched_statements()
                    .iter()
                    .filter_map(|s| s.source_policy_id.clone())
                    .collect(),
                missing_context_values: r.missing_context_values().to_vec(),
            })
            .collect(),
        is_truncated: out.is_truncated,
    })
}
