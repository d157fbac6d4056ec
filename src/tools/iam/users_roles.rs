//! Users and roles.

use super::*;

// ---------------------------------------------------------------- users

/// A page of users.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct UsersOut {
    pub users: Vec<UserOut>,
    pub is_truncated: bool,
    pub marker: Option<String>,
}

pub(super) async fn list_users(ctx: ToolContext, a: ListArgs) -> Result<UsersOut, ToolError> {
    let out = ctx
        .aws
        .client::<aws_sdk_iam::Client>(None)
        .await
        .list_users()
        .set_path_prefix(a.path_prefix)
        .set_max_items(a.max_items)
        .set_marker(a.marker)
        .send()
        .await
        .map_err(|e| ctx.aws_error(e))?;
    Ok(UsersOut {
        users: out.users.iter().map(UserOut::from).collect(),
        is_truncated: out.is_truncated,
        marker: out.marker,
    })
}

/// A user with its groups, attached and inline policies and access keys.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct UserDetails {
    pub user: UserOut,
    pub groups: Vec<String>,
    pub attached_policies: Vec<AttachedPolicyOut>,
    pub inline_policies: Vec<String>,
    pub access_keys: Vec<AccessKeyMeta>,
}

pub(super) async fn get_user(ctx: ToolContext, a: UserArgs) -> Result<UserDetails, ToolError> {
    let iam = ctx.aws.client::<aws_sdk_iam::Client>(None).await;
    let user = iam
        .get_user()
        .user_name(&a.user_name)
        .send()
        .await
        .map_err(|e| ctx.aws_error(e))?;
    let user = user
        .user
        .as_ref()
        .map(UserOut::from)
        .ok_or_else(|| ToolError::Internal("GetUser returned no user".into()))?;
    let groups = iam
        .list_groups_for_user()
        .user_name(&a.user_name)
        .send()
        .await
        .map_err(|e| aws_error("iam:ListGroupsForUser", e))?;
    let attached = iam
        .list_attached_user_policies()
        .user_name(&a.user_name)
        .send()
        .await
        .map_err(|e| aws_error("iam:ListAttachedUserPolicies", e))?;
    let inline = iam
        .list_user_policies()
        .user_name(&a.user_name)
        .send()
        .await
        .map_err(|e| aws_error("iam:ListUserPolicies", e))?;
    let keys = iam
        .list_access_keys()
        .user_name(&a.user_name)
        .send()
        .await
        .map_err(|e| aws_error("iam:ListAccessKeys", e))?;
    Ok(UserDetails {
        user,
        groups: groups.groups.iter().map(|g| g.group_name.clone()).collect(),
        attached_policies: attached
            .attached_policies()
            .iter()
            .map(|p| AttachedPolicyOut {
                policy_name: p.policy_name.clone(),
                policy_arn: p.policy_arn.clone(),
            })
            .collect(),
        inline_policies: inline.policy_names,
        access_keys: keys
            .access_key_metadata
            .iter()
            .map(|k| AccessKeyMeta {
                access_key_id: k.access_key_id.clone(),
                status: k.status.as_ref().map(|s| s.as_str().to_string()),
                create_date: ts(k.create_date.as_ref()),
            })
            .collect(),
    })
}

/// Arguments of `create_user`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserArgs {
    #[schemars(regex(pattern = USER_NAME))]
    pub user_name: String,
    /// Path (`/` or `/division/`); `/` when omitted.
    #[schemars(regex(pattern = PATH))]
    #[serde(default)]
    pub path: Option<String>,
    /// ARN of a managed policy to set as the user's permissions boundary.
    #[schemars(regex(pattern = POLICY_ARN))]
    #[serde(default)]
    pub permissions_boundary: Option<String>,
    /// Accepted for compatibility with the AWS Labs server; policies may test it.
    #[serde(default)]
    pub confirmed: Option<bool>,
}
impl CheckArgs for CreateUserArgs {}

pub(super) async fn create_user(ctx: ToolContext, a: CreateUserArgs) -> Result<UserOut, ToolError> {
    let out = ctx
        .aws
        .client::<aws_sdk_iam::Client>(None)
        .await
        .create_user()
        .user_name(&a.user_name)
        .set_path(a.path)
        .set_permissions_boundary(a.permissions_boundary)
        .set_tags(iam_tags(&ctx))
        .send()
        .await
        .map_err(|e| ctx.aws_error(e))?;
    out.user
        .as_ref()
        .map(UserOut::from)
        .ok_or_else(|| ToolError::Internal("CreateUser returned no user".into()))
}

/// Arguments of `delete_user` and `delete_group`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteUserArgs {
    #[schemars(regex(pattern = USER_NAME))]
    pub user_name: String,
    /// First remove what blocks the deletion: group memberships, attached and inline
    /// policies, access keys and the login profile.
    #[serde(default)]
    pub force: bool,
    /// Accepted for compatibility with the AWS Labs server; policies may test it.
    #[serde(default)]
    pub confirmed: Option<bool>,
}
impl CheckArgs for DeleteUserArgs {}

/// What a deletion removed.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Deleted {
    pub deleted: String,
    /// What `force` removed first.
    pub also_removed: Vec<String>,
}

pub(super) async fn delete_user(ctx: ToolContext, a: DeleteUserArgs) -> Result<Deleted, ToolError> {
    let iam = ctx.aws.client::<aws_sdk_iam::Client>(None).await;
    let u = &a.user_name;
    let mut removed = Vec::new();
    if a.force {
        let groups = iam
            .list_groups_for_user()
            .user_name(u)
            .send()
            .await
            .map_err(|e| aws_error("iam:ListGroupsForUser", e))?;
        for g in &groups.groups {
            iam.remove_user_from_group()
                .group_name(&g.group_name)
                .user_name(u)
                .send()
                .await
                .map_err(|e| aws_error("iam:RemoveUserFromGroup", e))?;
            removed.push(format!("group membership {}", g.group_name));
        }
        let attached = iam
            .list_attached_user_policies()
            .user_name(u)
            .send()
            .await
            .map_err(|e| aws_error("iam:ListAttachedUserPolicies", e))?;
        for p in attached.attached_policies() {
            if let Some(arn) = &p.policy_arn {
                iam.detach_user_policy()
                    .user_name(u)
                    .policy_arn(arn)
                    .send()
                    .await
                    .map_err(|e| aws_error("iam:DetachUserPolicy", e))?;
                removed.push(format!("attached policy {arn}"));
            }
        }
        let inline = iam
            .list_user_policies()
            .user_name(u)
            .send()
            .await
            .map_err(|e| aws_error("iam:ListUserPolicies", e))?;
        for name in &inline.policy_names {
            iam.delete_user_policy()
                .user_name(u)
                .policy_name(name)
                .send()
                .await
                .map_err(|e| aws_error("iam:DeleteUserPolicy", e))?;
            removed.push(format!("inline policy {name}"));
        }
        let keys = iam
            .list_access_keys()
            .user_name(u)
            .send()
            .await
            .map_err(|e| aws_error("iam:ListAccessKeys", e))?;
        for k in &keys.access_key_metadata {
            if let Some(id) = &k.access_key_id {
                iam.delete_access_key()
                    .user_name(u)
                    .access_key_id(id)
                    .send()
                    .await
                    .map_err(|e| aws_error("iam:DeleteAccessKey", e))?;
                removed.push(format!("access key {id}"));
            }
        }
        match iam.delete_login_profile().user_name(u).send().await {
            Ok(_) => removed.push("login profile".into()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_no_such_entity_exception()) => {}
            Err(e) => return Err(aws_error("iam:DeleteLoginProfile", e)),
        }
    }
    iam.delete_user()
        .user_name(u)
        .send()
        .await
        .map_err(|e| ctx.aws_error(e))?;
    Ok(Deleted {
        deleted: format!("user/{u}"),
        also_removed: removed,
    })
}

// ---------------------------------------------------------------- roles

/// A page of roles.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct RolesOut {
    pub roles: Vec<RoleOut>,
    pub is_truncated: bool,
    pub marker: Option<String>,
}

pub(super) async fn list_roles(ctx: ToolContext, a: ListArgs) -> Result<RolesOut, ToolError> {
    let out = ctx
        .aws
        .client::<aws_sdk_iam::Client>(None)
        .await
        .list_roles()
        .set_path_prefix(a.path_prefix)
        .set_max_items(a.max_items)
        .set_marker(a.marker)
        .send()
        .await
        .map_err(|e| ctx.aws_error(e))?;
    Ok(RolesOut {
        roles: out.roles.iter().map(RoleOut::from).collect(),
        is_truncated: out.is_truncated,
        marker: out.marker,
    })
}

/// Arguments of `create_role`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRoleArgs {
    #[schemars(regex(pattern = ROLE_NAME))]
    pub role_name: String,
    /// The trust policy: who may assume the role (JSON object or JSON string).
    pub assume_role_policy_document: PolicyDocument,
    #[schemars(regex(pattern = PATH))]
    #[serde(default)]
    pub path: Option<String>,
    #[schemars(length(max = 1000))]
    #[serde(default)]
    pub description: Option<String>,
    /// Maximum session length in seconds, 3600 to 43200.
    #[schemars(range(min = 3600, max = 43200))]
    #[serde(default)]
    pub max_session_duration: Option<i32>,
    #[schemars(regex(pattern = POLICY_ARN))]
    #[serde(default)]
    pub permissions_boundary: Option<String>,
    /// Accepted for compatibility with the AWS Labs server; policies may test it.
    #[serde(default)]
    pub confirmed: Option<bool>,
}

impl CheckArgs for CreateRoleArgs {
    fn check(&self) -> Result<(), ArgError> {
        self.assume_role_policy_document
            .to_text("assume_role_policy_document")
            .map(|_| ())
    }
}

pub(super) async fn create_role(ctx: ToolContext, a: CreateRoleArgs) -> Result<RoleOut, ToolError> {
    let doc = a
        .assume_role_policy_document
        .to_text("assume_role_policy_document")?;
    let out = ctx
        .aws
        .client::<aws_sdk_iam::Client>(None)
        .await
        .create_role()
        .role_name(&a.role_name)
        .assume_role_policy_document(doc)
        .set_path(a.path)
        .set_description(a.description)
        .set_max_session_duration(a.max_session_duration)
        .set_permissions_boundary(a.permissions_boundary)
        .set_tags(iam_tags(&ctx))
        .send()
        .await
        .map_err(|e| ctx.aws_error(e))?;
    out.role
        .as_ref()
        .map(RoleOut::from)
        .ok_or_else(|| ToolError::Internal("CreateRole returned no role".into()))
}

/// The policy's `tag_on_create` tags as IAM tags (None when there are none).
fn iam_tags(ctx: &ToolContext) -> Option<Vec<sdk::Tag>> {
    if ctx.add_tags.is_empty() {
        return None;
    }
    Some(
        ctx.add_tags
            .iter()
            .filter_map(|(k, v)| sdk::Tag::builder().key(k).value(v).build().ok())
            .collect(),
    )
}
