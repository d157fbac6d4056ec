//! Inline user and role policies.

use super::*;

// ---------------------------------------------------------------- inline policies

/// Arguments of `put_user_policy`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PutUserPolicyArgs {
    #[schemars(regex(pattern = USER_NAME))]
    pub user_name: String,
    #[schemars(regex(pattern = POLICY_NAME))]
    pub policy_name: String,
    /// The policy document (JSON object or JSON string).
    pub policy_document: PolicyDocument,
    #[serde(default)]
    pub confirmed: Option<bool>,
}

impl CheckArgs for PutUserPolicyArgs {
    fn check(&self) -> Result<(), ArgError> {
        self.policy_document.to_text("policy_document").map(|_| ())
    }
}

/// Arguments of `put_role_policy`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PutRolePolicyArgs {
    #[schemars(regex(pattern = ROLE_NAME))]
    pub role_name: String,
    #[schemars(regex(pattern = POLICY_NAME))]
    pub policy_name: String,
    /// The policy document (JSON object or JSON string).
    pub policy_document: PolicyDocument,
    #[serde(default)]
    pub confirmed: Option<bool>,
}

impl CheckArgs for PutRolePolicyArgs {
    fn check(&self) -> Result<(), ArgError> {
        self.policy_document.to_text("policy_document").map(|_| ())
    }
}

pub(super) async fn put_user_policy(
    ctx: ToolContext,
    a: PutUserPolicyArgs,
) -> Result<Changed, ToolError> {
    let doc = a.policy_document.to_text("policy_document")?;
    ctx.aws
        .client::<aws_sdk_iam::Client>(None)
        .await
        .put_user_policy()
        .user_name(&a.user_name)
        .policy_name(&a.policy_name)
        .policy_document(doc)
        .send()
        .await
        .map_err(|e| ctx.aws_error(e))?;
    Ok(changed(
        "put",
        format!("user/{}", a.user_name),
        Some(a.policy_name),
    ))
}

pub(super) async fn put_role_policy(
    ctx: ToolContext,
    a: PutRolePolicyArgs,
) -> Result<Changed, ToolError> {
    let doc = a.policy_document.to_text("policy_document")?;
    ctx.aws
        .client::<aws_sdk_iam::Client>(None)
        .await
        .put_role_policy()
        .role_name(&a.role_name)
        .policy_name(&a.policy_name)
        .policy_document(doc)
        .send()
        .await
        .map_err(|e| ctx.aws_error(e))?;
    Ok(changed(
        "put",
        format!("role/{}", a.role_name),
        Some(a.policy_name),
    ))
}

/// A user's inline policy.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPolicyArgs {
    #[schemars(regex(pattern = USER_NAME))]
    pub user_name: String,
    #[schemars(regex(pattern = POLICY_NAME))]
    pub policy_name: String,
    #[serde(default)]
    pub confirmed: Option<bool>,
}
impl CheckArgs for UserPolicyArgs {}

/// A role's inline policy.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RolePolicyArgs {
    #[schemars(regex(pattern = ROLE_NAME))]
    pub role_name: String,
    #[schemars(regex(pattern = POLICY_NAME))]
    pub policy_name: String,
    #[serde(default)]
    pub confirmed: Option<bool>,
}
impl CheckArgs for RolePolicyArgs {}

/// An inline policy and its document.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct InlinePolicyOut {
    /// `user/NAME` or `role/NAME`.
    pub owner: String,
    pub policy_name: String,
    /// The policy document, decoded.
    pub policy_document: Value,
}

pub(super) async fn get_user_policy(
    ctx: ToolContext,
    a: UserPolicyArgs,
) -> Result<InlinePolicyOut, ToolError> {
    let out = ctx
        .aws
        .client::<aws_sdk_iam::Client>(None)
        .await
        .get_user_policy()
        .user_name(&a.user_name)
        .policy_name(&a.policy_name)
        .send()
        .await
        .map_err(|e| ctx.aws_error(e))?;
    Ok(InlinePolicyOut {
        owner: format!("user/{}", out.user_name),
        policy_name: out.policy_name,
        policy_document: decode_document(&out.policy_document),
    })
}

pub(super) async fn get_role_policy(
    ctx: ToolContext,
    a: RolePolicyArgs,
) -> Result<InlinePolicyOut, ToolError> {
    let out = ctx
        .aws
        .client::<aws_sdk_iam::Client>(None)
        .await
        .get_role_policy()
        .role_name(&a.role_name)
        .policy_name(&a.policy_name)
        .send()
        .await
        .map_err(|e| ctx.aws_error(e))?;
    Ok(InlinePolicyOut {
        owner: format!("role/{}", out.role_name),
        policy_name: out.policy_name,
        policy_document: decode_document(&out.policy_document),
    })
}

pub(super) async fn delete_user_policy(
    ctx: ToolContext,
    a: UserPolicyArgs,
) -> Result<Changed, ToolError> {
    ctx.aws
        .client::<aws_sdk_iam::Client>(None)
        .await
        .delete_user_policy()
        .user_name(&a.user_name)
        .policy_name(&a.policy_name)
        .send()
        .await
        .map_err(|e| ctx.aws_error(e))?;
    Ok(changed(
        "deleted",
        format!("user/{}", a.user_name),
        Some(a.policy_name),
    ))
}

pub(super) async fn delete_role_policy(
    ctx: ToolContext,
    a: RolePolicyArgs,
) -> Result<Changed, ToolError> {
    ctx.aws
        .client::<aws_sdk_iam::Client>(None)
        .await
        .delete_role_policy()
        .role_name(&a.role_name)
        .policy_name(&a.policy_name)
        .send()
        .await
        .map_err(|e| ctx.aws_error(e))?;
    Ok(changed(
        "deleted",
        format!("role/{}", a.role_name),
        Some(a.policy_name),
    ))
}

/// Inline policy names, one page.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyNamesOut {
    pub policy_names: Vec<String>,
    pub is_truncated: bool,
    pub marker: Option<String>,
}

pub(super) async fn list_user_policies(
    ctx: ToolContext,
    a: UserPageArgs,
) -> Result<PolicyNamesOut, ToolError> {
    let out = ctx
        .aws
        .client::<aws_sdk_iam::Client>(None)
        .await
        .list_user_policies()
        .user_name(&a.user_name)
        .set_max_items(a.max_items)
        .set_marker(a.marker)
        .send()
        .await
        .map_err(|e| ctx.aws_error(e))?;
    Ok(PolicyNamesOut {
        policy_names: out.policy_names,
        is_truncated: out.is_truncated,
        marker: out.marker,
    })
}

pub(super) async fn list_role_policies(
    ctx: ToolContext,
    a: RolePageArgs,
) -> Result<PolicyNamesOut, ToolError> {
    let out = ctx
        .aws
        .client::<aws_sdk_iam::Client>(None)
        .await
        .list_role_policies()
        .role_name(&a.role_name)
        .set_max_items(a.max_items)
        .set_marker(a.marker)
        .send()
        .await
        .map_err(|e| ctx.aws_error(e))?;
    Ok(PolicyNamesOut {
        policy_names: out.policy_names,
        is_truncated: out.is_truncated,
        marker: out.marker,
    })
}

/// Arguments of `add_inline_policy`: exactly one of `user_name` and `role_name`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddInlineArgs {
    #[schemars(regex(pattern = POLICY_NAME))]
    pub policy_name: String,
    /// The policy document (JSON object or JSON string).
    pub policy_document: PolicyDocument,
    #[schemars(regex(pattern = USER_NAME))]
    #[serde(default)]
    pub user_name: Option<String>,
    #[schemars(regex(pattern = ROLE_NAME))]
    #[serde(default)]
    pub role_name: Option<String>,
    #[serde(default)]
    pub confirmed: Option<bool>,
}

impl CheckArgs for AddInlineArgs {
    fn check(&self) -> Result<(), ArgError> {
        match (&self.user_name, &self.role_name) {
            (Some(_), Some(_)) => {
                return Err(ArgError::rule(
                    "user_name",
                    "give user_name or role_name, not both",
                ));
            }
            (None, None) => return Err(ArgError::rule("user_name", "give user_name or role_name")),
            _ => {}
        }
        self.policy_document.to_text("policy_document").map(|_| ())
    }
}

pub(super) async fn add_inline_policy(
    ctx: ToolContext,
    a: AddInlineArgs,
) -> Result<Changed, ToolError> {
    let doc = a.policy_document.to_text("policy_document")?;
    let iam = ctx.aws.client::<aws_sdk_iam::Client>(None).await;
    let exists = |owner: String| {
        ToolError::Arg(ArgError::rule(
            "policy_name",
            format!(
                "{owner} already has an inline policy named {}; add_inline_policy never overwrites (put_user_policy / put_role_policy do)",
                a.policy_name
            ),
        ))
    };
    if let Some(user) = &a.user_name {
        match iam
            .get_user_policy()
            .user_name(user)
            .policy_name(&a.policy_name)
            .send()
            .await
        {
            Ok(_) => return Err(exists(format!("user/{user}"))),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_no_such_entity_exception()) => {}
            Err(e) => return Err(aws_error("iam:GetUserPolicy", e)),
        }
        iam.put_user_policy()
            .user_name(user)
            .policy_name(&a.policy_name)
            .policy_document(doc)
            .send()
            .await
            .map_err(|e| aws_error("iam:PutUserPolicy", e))?;
        return Ok(changed(
            "added",
            format!("user/{user}"),
            Some(a.policy_name),
        ));
    }
    let role = a.role_name.clone().unwrap_or_default();
    match iam
        .get_role_policy()
        .role_name(&role)
        .policy_name(&a.policy_name)
        .send()
        .await
    {
        Ok(_) => return Err(exists(format!("role/{role}"))),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_entity_exception()) => {}
        Err(e) => return Err(aws_error("iam:GetRolePolicy", e)),
    }
    iam.put_role_policy()
        .role_name(&role)
        .policy_name(&a.policy_name)
        .policy_document(doc)
        .send()
        .await
        .map_err(|e| aws_error("iam:PutRolePolicy", e))?;
    Ok(changed(
        "added",
        format!("role/{role}"),
        Some(a.policy_name),
    ))
}
