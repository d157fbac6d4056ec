//! IAM tools (aws-sdk-iam): the 29 tools of the AWS Labs IAM server, plus `add_inline_policy`,
//! `attach_role_policy` and `detach_role_policy`.
//!
//! Differences from the AWS Labs server: no `ctx` parameter; list tools take `marker` and
//! `max_items` and return `Marker` / `IsTruncated`; policy documents are accepted as a JSON
//! object or a JSON string and checked before AWS; `create_access_key` returns the secret key
//! only when the deciding policy rule says `reveal_secrets: true`. `confirmed` is accepted for
//! compatibility and is only a value policies can test (`args.confirmed`): the gate decides.

use std::collections::HashMap;

use aws_sdk_iam::types as sdk;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::common::ts;
use crate::audit::REDACTED;
use crate::aws::aws_error;
use crate::catalogue::{CheckArgs, RiskClass, ToolContext, ToolSpec, info, tool};
use crate::error::{ArgError, ToolError};
use crate::iam_guard::DocKind;

const USER_NAME: &str = r"^[\w+=,.@-]{1,64}$";
const ROLE_NAME: &str = r"^[\w+=,.@-]{1,64}$";
const GROUP_NAME: &str = r"^[\w+=,.@-]{1,128}$";
const POLICY_NAME: &str = r"^[\w+=,.@-]{1,128}$";
const PATH: &str = r"^(/|/[!-~]{1,510}/)$";
const PATH_PREFIX: &str = r"^/[!-~]{0,511}$";
const POLICY_ARN: &str = r"^arn:aws[a-z-]*:iam::(aws|[0-9]{12}):policy/[!-~]+$";
const PRINCIPAL_ARN: &str = r"^arn:aws[a-z-]*:iam::[0-9]{12}:(user|role|group)/[!-~]+$";
const ACCESS_KEY_ID: &str = r"^\w{16,128}$";

// ---------------------------------------------------------------- policy documents

pub use crate::iam_guard::PolicyDocument;

/// IAM returns policy documents URL-encoded.
fn decode_document(encoded: &str) -> Value {
    let text = percent_encoding::percent_decode_str(encoded).decode_utf8_lossy();
    serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text.into_owned()))
}

// ---------------------------------------------------------------- outputs

/// An IAM user.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct UserOut {
    pub user_name: String,
    pub user_id: String,
    pub arn: String,
    pub path: String,
    pub create_date: Option<String>,
    pub password_last_used: Option<String>,
    pub permissions_boundary: Option<String>,
    pub tags: HashMap<String, String>,
}

fn tags(t: Option<&[sdk::Tag]>) -> HashMap<String, String> {
    t.unwrap_or_default()
        .iter()
        .map(|t| (t.key.clone(), t.value.clone()))
        .collect()
}

impl From<&sdk::User> for UserOut {
    fn from(u: &sdk::User) -> Self {
        UserOut {
            user_name: u.user_name.clone(),
            user_id: u.user_id.clone(),
            arn: u.arn.clone(),
            path: u.path.clone(),
            create_date: ts(Some(&u.create_date)),
            password_last_used: ts(u.password_last_used.as_ref()),
            permissions_boundary: u
                .permissions_boundary
                .as_ref()
                .and_then(|b| b.permissions_boundary_arn.clone()),
            tags: tags(u.tags.as_deref()),
        }
    }
}

/// An IAM role.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct RoleOut {
    pub role_name: String,
    pub role_id: String,
    pub arn: String,
    pub path: String,
    pub create_date: Option<String>,
    pub description: Option<String>,
    pub max_session_duration: Option<i32>,
    pub permissions_boundary: Option<String>,
    /// The trust policy, decoded.
    pub assume_role_policy_document: Option<Value>,
}

impl From<&sdk::Role> for RoleOut {
    fn from(r: &sdk::Role) -> Self {
        RoleOut {
            role_name: r.role_name.clone(),
            role_id: r.role_id.clone(),
            arn: r.arn.clone(),
            path: r.path.clone(),
            create_date: ts(Some(&r.create_date)),
            description: r.description.clone(),
            max_session_duration: r.max_session_duration,
            permissions_boundary: r
                .permissions_boundary
                .as_ref()
                .and_then(|b| b.permissions_boundary_arn.clone()),
            assume_role_policy_document: r
                .assume_role_policy_document
                .as_deref()
                .map(decode_document),
        }
    }
}

/// An IAM group.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct GroupOut {
    pub group_name: String,
    pub group_id: String,
    pub arn: String,
    pub path: String,
    pub create_date: Option<String>,
}

impl From<&sdk::Group> for GroupOut {
    fn from(g: &sdk::Group) -> Self {
        GroupOut {
            group_name: g.group_name.clone(),
            group_id: g.group_id.clone(),
            arn: g.arn.clone(),
            path: g.path.clone(),
            create_date: ts(Some(&g.create_date)),
        }
    }
}

/// A managed policy.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyOut {
    pub policy_name: Option<String>,
    pub policy_id: Option<String>,
    pub arn: Option<String>,
    pub path: Option<String>,
    pub default_version_id: Option<String>,
    pub attachment_count: Option<i32>,
    pub is_attachable: bool,
    pub description: Option<String>,
    pub create_date: Option<String>,
    pub update_date: Option<String>,
}

impl From<&sdk::Policy> for PolicyOut {
    fn from(p: &sdk::Policy) -> Self {
        PolicyOut {
            policy_name: p.policy_name.clone(),
            policy_id: p.policy_id.clone(),
            arn: p.arn.clone(),
            path: p.path.clone(),
            default_version_id: p.default_version_id.clone(),
            attachment_count: p.attachment_count,
            is_attachable: p.is_attachable,
            description: p.description.clone(),
            create_date: ts(p.create_date.as_ref()),
            update_date: ts(p.update_date.as_ref()),
        }
    }
}

/// A managed policy attached to a principal.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct AttachedPolicyOut {
    pub policy_name: Option<String>,
    pub policy_arn: Option<String>,
}

/// Access key metadata (never the secret).
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct AccessKeyMeta {
    pub access_key_id: Option<String>,
    pub status: Option<String>,
    pub create_date: Option<String>,
}

/// The result of a change to an IAM entity.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Changed {
    /// What was done, for example `attached`, `deleted`.
    pub action: String,
    /// The entity changed (`user/alice`, `role/app`, `group/ops`).
    pub target: String,
    /// What it concerned (a policy ARN or name, a user), when there is one.
    pub subject: Option<String>,
}

fn changed(action: &str, target: String, subject: Option<String>) -> Changed {
    Changed {
        action: action.into(),
        target,
        subject,
    }
}

// ---------------------------------------------------------------- argument shapes

/// A list of entities, one page.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListArgs {
    /// Only entities whose path starts with this (`/division/`).
    #[schemars(regex(pattern = PATH_PREFIX))]
    #[serde(default)]
    pub path_prefix: Option<String>,
    /// Page size, 1 to 1000 (AWS default 100).
    #[schemars(range(min = 1, max = 1000))]
    #[serde(default)]
    pub max_items: Option<i32>,
    /// The `Marker` of the previous page.
    #[schemars(length(min = 1, max = 320))]
    #[serde(default)]
    pub marker: Option<String>,
}
impl CheckArgs for ListArgs {}

/// One user.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserArgs {
    /// User name: 1–64 letters, digits and `+=,.@_-`.
    #[schemars(regex(pattern = USER_NAME))]
    pub user_name: String,
}
impl CheckArgs for UserArgs {}

/// One user's inline policy names, one page.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPageArgs {
    #[schemars(regex(pattern = USER_NAME))]
    pub user_name: String,
    #[schemars(range(min = 1, max = 1000))]
    #[serde(default)]
    pub max_items: Option<i32>,
    #[schemars(length(min = 1, max = 320))]
    #[serde(default)]
    pub marker: Option<String>,
}
impl CheckArgs for UserPageArgs {}

/// One role's inline policy names, one page.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RolePageArgs {
    #[schemars(regex(pattern = ROLE_NAME))]
    pub role_name: String,
    #[schemars(range(min = 1, max = 1000))]
    #[serde(default)]
    pub max_items: Option<i32>,
    #[schemars(length(min = 1, max = 320))]
    #[serde(default)]
    pub marker: Option<String>,
}
impl CheckArgs for RolePageArgs {}

/// One group.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupArgs {
    /// Group name: 1–128 letters, digits and `+=,.@_-`.
    #[schemars(regex(pattern = GROUP_NAME))]
    pub group_name: String,
    /// Members to read (page size), 1 to 1000.
    #[schemars(range(min = 1, max = 1000))]
    #[serde(default)]
    pub max_items: Option<i32>,
    #[schemars(length(min = 1, max = 320))]
    #[serde(default)]
    pub marker: Option<String>,
}
impl CheckArgs for GroupArgs {}

// ---------------------------------------------------------------- users

/// A page of users.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct UsersOut {
    pub users: Vec<UserOut>,
    pub is_truncated: bool,
    pub marker: Option<String>,
}

async fn list_users(ctx: ToolContext, a: ListArgs) -> Result<UsersOut, ToolError> {
    let out = ctx
        .aws
        .iam()
        .await
        .list_users()
        .set_path_prefix(a.path_prefix)
        .set_max_items(a.max_items)
        .set_marker(a.marker)
        .send()
        .await
        .map_err(|e| aws_error("iam:ListUsers", e))?;
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

async fn get_user(ctx: ToolContext, a: UserArgs) -> Result<UserDetails, ToolError> {
    let iam = ctx.aws.iam().await;
    let user = iam
        .get_user()
        .user_name(&a.user_name)
        .send()
        .await
        .map_err(|e| aws_error("iam:GetUser", e))?;
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

async fn create_user(ctx: ToolContext, a: CreateUserArgs) -> Result<UserOut, ToolError> {
    let out = ctx
        .aws
        .iam()
        .await
        .create_user()
        .user_name(&a.user_name)
        .set_path(a.path)
        .set_permissions_boundary(a.permissions_boundary)
        .send()
        .await
        .map_err(|e| aws_error("iam:CreateUser", e))?;
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

async fn delete_user(ctx: ToolContext, a: DeleteUserArgs) -> Result<Deleted, ToolError> {
    let iam = ctx.aws.iam().await;
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
        .map_err(|e| aws_error("iam:DeleteUser", e))?;
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

async fn list_roles(ctx: ToolContext, a: ListArgs) -> Result<RolesOut, ToolError> {
    let out = ctx
        .aws
        .iam()
        .await
        .list_roles()
        .set_path_prefix(a.path_prefix)
        .set_max_items(a.max_items)
        .set_marker(a.marker)
        .send()
        .await
        .map_err(|e| aws_error("iam:ListRoles", e))?;
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

async fn create_role(ctx: ToolContext, a: CreateRoleArgs) -> Result<RoleOut, ToolError> {
    let doc = a
        .assume_role_policy_document
        .to_text("assume_role_policy_document")?;
    let out = ctx
        .aws
        .iam()
        .await
        .create_role()
        .role_name(&a.role_name)
        .assume_role_policy_document(doc)
        .set_path(a.path)
        .set_description(a.description)
        .set_max_session_duration(a.max_session_duration)
        .set_permissions_boundary(a.permissions_boundary)
        .send()
        .await
        .map_err(|e| aws_error("iam:CreateRole", e))?;
    out.role
        .as_ref()
        .map(RoleOut::from)
        .ok_or_else(|| ToolError::Internal("CreateRole returned no role".into()))
}

// ---------------------------------------------------------------- managed policies

/// Which managed policies to list.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
pub enum PolicyScope {
    All,
    #[serde(rename = "AWS")]
    Aws,
    Local,
}

fn local() -> PolicyScope {
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

async fn list_policies(ctx: ToolContext, a: ListPoliciesArgs) -> Result<PoliciesOut, ToolError> {
    let scope = match a.scope {
        PolicyScope::All => sdk::PolicyScopeType::All,
        PolicyScope::Aws => sdk::PolicyScopeType::Aws,
        PolicyScope::Local => sdk::PolicyScopeType::Local,
    };
    let out = ctx
        .aws
        .iam()
        .await
        .list_policies()
        .scope(scope)
        .only_attached(a.only_attached)
        .set_path_prefix(a.path_prefix)
        .set_max_items(a.max_items)
        .set_marker(a.marker)
        .send()
        .await
        .map_err(|e| aws_error("iam:ListPolicies", e))?;
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

async fn get_managed_policy_document(
    ctx: ToolContext,
    a: PolicyDocArgs,
) -> Result<PolicyDocOut, ToolError> {
    let iam = ctx.aws.iam().await;
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
        .map_err(|e| aws_error("iam:GetPolicyVersion", e))?;
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

async fn attach_user_policy(ctx: ToolContext, a: UserPolicyArnArgs) -> Result<Changed, ToolError> {
    ctx.aws
        .iam()
        .await
        .attach_user_policy()
        .user_name(&a.user_name)
        .policy_arn(&a.policy_arn)
        .send()
        .await
        .map_err(|e| aws_error("iam:AttachUserPolicy", e))?;
    Ok(changed(
        "attached",
        format!("user/{}", a.user_name),
        Some(a.policy_arn),
    ))
}

async fn detach_user_policy(ctx: ToolContext, a: UserPolicyArnArgs) -> Result<Changed, ToolError> {
    ctx.aws
        .iam()
        .await
        .detach_user_policy()
        .user_name(&a.user_name)
        .policy_arn(&a.policy_arn)
        .send()
        .await
        .map_err(|e| aws_error("iam:DetachUserPolicy", e))?;
    Ok(changed(
        "detached",
        format!("user/{}", a.user_name),
        Some(a.policy_arn),
    ))
}

async fn attach_role_policy(ctx: ToolContext, a: RolePolicyArnArgs) -> Result<Changed, ToolError> {
    ctx.aws
        .iam()
        .await
        .attach_role_policy()
        .role_name(&a.role_name)
        .policy_arn(&a.policy_arn)
        .send()
        .await
        .map_err(|e| aws_error("iam:AttachRolePolicy", e))?;
    Ok(changed(
        "attached",
        format!("role/{}", a.role_name),
        Some(a.policy_arn),
    ))
}

async fn detach_role_policy(ctx: ToolContext, a: RolePolicyArnArgs) -> Result<Changed, ToolError> {
    ctx.aws
        .iam()
        .await
        .detach_role_policy()
        .role_name(&a.role_name)
        .policy_arn(&a.policy_arn)
        .send()
        .await
        .map_err(|e| aws_error("iam:DetachRolePolicy", e))?;
    Ok(changed(
        "detached",
        format!("role/{}", a.role_name),
        Some(a.policy_arn),
    ))
}

async fn attach_group_policy(
    ctx: ToolContext,
    a: GroupPolicyArnArgs,
) -> Result<Changed, ToolError> {
    ctx.aws
        .iam()
        .await
        .attach_group_policy()
        .group_name(&a.group_name)
        .policy_arn(&a.policy_arn)
        .send()
        .await
        .map_err(|e| aws_error("iam:AttachGroupPolicy", e))?;
    Ok(changed(
        "attached",
        format!("group/{}", a.group_name),
        Some(a.policy_arn),
    ))
}

async fn detach_group_policy(
    ctx: ToolContext,
    a: GroupPolicyArnArgs,
) -> Result<Changed, ToolError> {
    ctx.aws
        .iam()
        .await
        .detach_group_policy()
        .group_name(&a.group_name)
        .policy_arn(&a.policy_arn)
        .send()
        .await
        .map_err(|e| aws_error("iam:DetachGroupPolicy", e))?;
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

async fn create_access_key(ctx: ToolContext, a: CreateKeyArgs) -> Result<NewAccessKey, ToolError> {
    let out = ctx
        .aws
        .iam()
        .await
        .create_access_key()
        .user_name(&a.user_name)
        .send()
        .await
        .map_err(|e| aws_error("iam:CreateAccessKey", e))?;
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

async fn delete_access_key(ctx: ToolContext, a: DeleteKeyArgs) -> Result<Changed, ToolError> {
    ctx.aws
        .iam()
        .await
        .delete_access_key()
        .user_name(&a.user_name)
        .access_key_id(&a.access_key_id)
        .send()
        .await
        .map_err(|e| aws_error("iam:DeleteAccessKey", e))?;
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

async fn simulate_principal_policy(
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
        .iam()
        .await
        .simulate_principal_policy()
        .policy_source_arn(&a.policy_source_arn)
        .set_action_names(Some(a.action_names))
        .set_resource_arns(a.resource_arns)
        .set_context_entries(entries)
        .send()
        .await
        .map_err(|e| aws_error("iam:SimulatePrincipalPolicy", e))?;
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

// ---------------------------------------------------------------- groups

/// A page of groups.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct GroupsOut {
    pub groups: Vec<GroupOut>,
    pub is_truncated: bool,
    pub marker: Option<String>,
}

async fn list_groups(ctx: ToolContext, a: ListArgs) -> Result<GroupsOut, ToolError> {
    let out = ctx
        .aws
        .iam()
        .await
        .list_groups()
        .set_path_prefix(a.path_prefix)
        .set_max_items(a.max_items)
        .set_marker(a.marker)
        .send()
        .await
        .map_err(|e| aws_error("iam:ListGroups", e))?;
    Ok(GroupsOut {
        groups: out.groups.iter().map(GroupOut::from).collect(),
        is_truncated: out.is_truncated,
        marker: out.marker,
    })
}

/// A group with its members (one page) and policies.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct GroupDetails {
    pub group: GroupOut,
    pub users: Vec<String>,
    pub is_truncated: bool,
    pub marker: Option<String>,
    pub attached_policies: Vec<AttachedPolicyOut>,
    pub inline_policies: Vec<String>,
}

async fn get_group(ctx: ToolContext, a: GroupArgs) -> Result<GroupDetails, ToolError> {
    let iam = ctx.aws.iam().await;
    let out = iam
        .get_group()
        .group_name(&a.group_name)
        .set_max_items(a.max_items)
        .set_marker(a.marker)
        .send()
        .await
        .map_err(|e| aws_error("iam:GetGroup", e))?;
    let group = out
        .group
        .as_ref()
        .map(GroupOut::from)
        .ok_or_else(|| ToolError::Internal("GetGroup returned no group".into()))?;
    let attached = iam
        .list_attached_group_policies()
        .group_name(&a.group_name)
        .send()
        .await
        .map_err(|e| aws_error("iam:ListAttachedGroupPolicies", e))?;
    let inline = iam
        .list_group_policies()
        .group_name(&a.group_name)
        .send()
        .await
        .map_err(|e| aws_error("iam:ListGroupPolicies", e))?;
    Ok(GroupDetails {
        group,
        users: out.users.iter().map(|u| u.user_name.clone()).collect(),
        is_truncated: out.is_truncated,
        marker: out.marker,
        attached_policies: attached
            .attached_policies()
            .iter()
            .map(|p| AttachedPolicyOut {
                policy_name: p.policy_name.clone(),
                policy_arn: p.policy_arn.clone(),
            })
            .collect(),
        inline_policies: inline.policy_names,
    })
}

/// Arguments of `create_group`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateGroupArgs {
    #[schemars(regex(pattern = GROUP_NAME))]
    pub group_name: String,
    #[schemars(regex(pattern = PATH))]
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub confirmed: Option<bool>,
}
impl CheckArgs for CreateGroupArgs {}

async fn create_group(ctx: ToolContext, a: CreateGroupArgs) -> Result<GroupOut, ToolError> {
    let out = ctx
        .aws
        .iam()
        .await
        .create_group()
        .group_name(&a.group_name)
        .set_path(a.path)
        .send()
        .await
        .map_err(|e| aws_error("iam:CreateGroup", e))?;
    out.group
        .as_ref()
        .map(GroupOut::from)
        .ok_or_else(|| ToolError::Internal("CreateGroup returned no group".into()))
}

/// Arguments of `delete_group`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteGroupArgs {
    #[schemars(regex(pattern = GROUP_NAME))]
    pub group_name: String,
    /// First remove members, attached and inline policies.
    #[serde(default)]
    pub force: bool,
    #[serde(default)]
    pub confirmed: Option<bool>,
}
impl CheckArgs for DeleteGroupArgs {}

async fn delete_group(ctx: ToolContext, a: DeleteGroupArgs) -> Result<Deleted, ToolError> {
    let iam = ctx.aws.iam().await;
    let g = &a.group_name;
    let mut removed = Vec::new();
    if a.force {
        let out = iam
            .get_group()
            .group_name(g)
            .send()
            .await
            .map_err(|e| aws_error("iam:GetGroup", e))?;
        for u in &out.users {
            iam.remove_user_from_group()
                .group_name(g)
                .user_name(&u.user_name)
                .send()
                .await
                .map_err(|e| aws_error("iam:RemoveUserFromGroup", e))?;
            removed.push(format!("member {}", u.user_name));
        }
        let attached = iam
            .list_attached_group_policies()
            .group_name(g)
            .send()
            .await
            .map_err(|e| aws_error("iam:ListAttachedGroupPolicies", e))?;
        for p in attached.attached_policies() {
            if let Some(arn) = &p.policy_arn {
                iam.detach_group_policy()
                    .group_name(g)
                    .policy_arn(arn)
                    .send()
                    .await
                    .map_err(|e| aws_error("iam:DetachGroupPolicy", e))?;
                removed.push(format!("attached policy {arn}"));
            }
        }
        let inline = iam
            .list_group_policies()
            .group_name(g)
            .send()
            .await
            .map_err(|e| aws_error("iam:ListGroupPolicies", e))?;
        for name in &inline.policy_names {
            iam.delete_group_policy()
                .group_name(g)
                .policy_name(name)
                .send()
                .await
                .map_err(|e| aws_error("iam:DeleteGroupPolicy", e))?;
            removed.push(format!("inline policy {name}"));
        }
    }
    iam.delete_group()
        .group_name(g)
        .send()
        .await
        .map_err(|e| aws_error("iam:DeleteGroup", e))?;
    Ok(Deleted {
        deleted: format!("group/{g}"),
        also_removed: removed,
    })
}

/// A group and a user.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MembershipArgs {
    #[schemars(regex(pattern = GROUP_NAME))]
    pub group_name: String,
    #[schemars(regex(pattern = USER_NAME))]
    pub user_name: String,
    #[serde(default)]
    pub confirmed: Option<bool>,
}
impl CheckArgs for MembershipArgs {}

async fn add_user_to_group(ctx: ToolContext, a: MembershipArgs) -> Result<Changed, ToolError> {
    ctx.aws
        .iam()
        .await
        .add_user_to_group()
        .group_name(&a.group_name)
        .user_name(&a.user_name)
        .send()
        .await
        .map_err(|e| aws_error("iam:AddUserToGroup", e))?;
    Ok(changed(
        "added",
        format!("group/{}", a.group_name),
        Some(format!("user/{}", a.user_name)),
    ))
}

async fn remove_user_from_group(ctx: ToolContext, a: MembershipArgs) -> Result<Changed, ToolError> {
    ctx.aws
        .iam()
        .await
        .remove_user_from_group()
        .group_name(&a.group_name)
        .user_name(&a.user_name)
        .send()
        .await
        .map_err(|e| aws_error("iam:RemoveUserFromGroup", e))?;
    Ok(changed(
        "removed",
        format!("group/{}", a.group_name),
        Some(format!("user/{}", a.user_name)),
    ))
}

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

async fn put_user_policy(ctx: ToolContext, a: PutUserPolicyArgs) -> Result<Changed, ToolError> {
    let doc = a.policy_document.to_text("policy_document")?;
    ctx.aws
        .iam()
        .await
        .put_user_policy()
        .user_name(&a.user_name)
        .policy_name(&a.policy_name)
        .policy_document(doc)
        .send()
        .await
        .map_err(|e| aws_error("iam:PutUserPolicy", e))?;
    Ok(changed(
        "put",
        format!("user/{}", a.user_name),
        Some(a.policy_name),
    ))
}

async fn put_role_policy(ctx: ToolContext, a: PutRolePolicyArgs) -> Result<Changed, ToolError> {
    let doc = a.policy_document.to_text("policy_document")?;
    ctx.aws
        .iam()
        .await
        .put_role_policy()
        .role_name(&a.role_name)
        .policy_name(&a.policy_name)
        .policy_document(doc)
        .send()
        .await
        .map_err(|e| aws_error("iam:PutRolePolicy", e))?;
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

async fn get_user_policy(
    ctx: ToolContext,
    a: UserPolicyArgs,
) -> Result<InlinePolicyOut, ToolError> {
    let out = ctx
        .aws
        .iam()
        .await
        .get_user_policy()
        .user_name(&a.user_name)
        .policy_name(&a.policy_name)
        .send()
        .await
        .map_err(|e| aws_error("iam:GetUserPolicy", e))?;
    Ok(InlinePolicyOut {
        owner: format!("user/{}", out.user_name),
        policy_name: out.policy_name,
        policy_document: decode_document(&out.policy_document),
    })
}

async fn get_role_policy(
    ctx: ToolContext,
    a: RolePolicyArgs,
) -> Result<InlinePolicyOut, ToolError> {
    let out = ctx
        .aws
        .iam()
        .await
        .get_role_policy()
        .role_name(&a.role_name)
        .policy_name(&a.policy_name)
        .send()
        .await
        .map_err(|e| aws_error("iam:GetRolePolicy", e))?;
    Ok(InlinePolicyOut {
        owner: format!("role/{}", out.role_name),
        policy_name: out.policy_name,
        policy_document: decode_document(&out.policy_document),
    })
}

async fn delete_user_policy(ctx: ToolContext, a: UserPolicyArgs) -> Result<Changed, ToolError> {
    ctx.aws
        .iam()
        .await
        .delete_user_policy()
        .user_name(&a.user_name)
        .policy_name(&a.policy_name)
        .send()
        .await
        .map_err(|e| aws_error("iam:DeleteUserPolicy", e))?;
    Ok(changed(
        "deleted",
        format!("user/{}", a.user_name),
        Some(a.policy_name),
    ))
}

async fn delete_role_policy(ctx: ToolContext, a: RolePolicyArgs) -> Result<Changed, ToolError> {
    ctx.aws
        .iam()
        .await
        .delete_role_policy()
        .role_name(&a.role_name)
        .policy_name(&a.policy_name)
        .send()
        .await
        .map_err(|e| aws_error("iam:DeleteRolePolicy", e))?;
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

async fn list_user_policies(
    ctx: ToolContext,
    a: UserPageArgs,
) -> Result<PolicyNamesOut, ToolError> {
    let out = ctx
        .aws
        .iam()
        .await
        .list_user_policies()
        .user_name(&a.user_name)
        .set_max_items(a.max_items)
        .set_marker(a.marker)
        .send()
        .await
        .map_err(|e| aws_error("iam:ListUserPolicies", e))?;
    Ok(PolicyNamesOut {
        policy_names: out.policy_names,
        is_truncated: out.is_truncated,
        marker: out.marker,
    })
}

async fn list_role_policies(
    ctx: ToolContext,
    a: RolePageArgs,
) -> Result<PolicyNamesOut, ToolError> {
    let out = ctx
        .aws
        .iam()
        .await
        .list_role_policies()
        .role_name(&a.role_name)
        .set_max_items(a.max_items)
        .set_marker(a.marker)
        .send()
        .await
        .map_err(|e| aws_error("iam:ListRolePolicies", e))?;
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

async fn add_inline_policy(ctx: ToolContext, a: AddInlineArgs) -> Result<Changed, ToolError> {
    let doc = a.policy_document.to_text("policy_document")?;
    let iam = ctx.aws.iam().await;
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

// ---------------------------------------------------------------- catalogue entries

/// The IAM tools.
pub fn tools() -> Vec<ToolSpec> {
    use DocKind::*;
    use RiskClass::*;
    vec![
        tool(info("list_users", Read, "iam:ListUsers", true, "List IAM users, one page at a time (max_items, marker)."), list_users),
        tool(info("get_user", Read, "iam:GetUser", true, "Get an IAM user with its groups, attached and inline policies and access keys (never secrets)."), get_user),
        tool(info("create_user", Write, "iam:CreateUser", false, "Create an IAM user."), create_user),
        tool(info("delete_user", Destructive, "iam:DeleteUser", true, "Delete an IAM user; with force, first remove its group memberships, policies, access keys and login profile."), delete_user),
        tool(info("list_roles", Read, "iam:ListRoles", true, "List IAM roles, one page at a time."), list_roles),
        tool(info("create_role", Write, "iam:CreateRole", false, "Create an IAM role with a trust policy (JSON object or string)."), create_role)
            .with_documents(&[("assume_role_policy_document", Trust)]),
        tool(info("list_policies", Read, "iam:ListPolicies", true, "List managed policies (scope Local, AWS or All), one page at a time."), list_policies),
        tool(info("get_managed_policy_document", Read, "iam:GetPolicyVersion", true, "Get a managed policy's document (the default version unless version_id is given)."), get_managed_policy_document),
        tool(info("attach_user_policy", Write, "iam:AttachUserPolicy", true, "Attach a managed policy to a user."), attach_user_policy)
            .with_documents(&[("policy_arn", ManagedPolicyArn)]),
        tool(info("detach_user_policy", Write, "iam:DetachUserPolicy", true, "Detach a managed policy from a user."), detach_user_policy),
        tool(info("attach_role_policy", Write, "iam:AttachRolePolicy", true, "Attach a managed policy to a role."), attach_role_policy)
            .with_documents(&[("policy_arn", ManagedPolicyArn)]),
        tool(info("detach_role_policy", Write, "iam:DetachRolePolicy", true, "Detach a managed policy from a role."), detach_role_policy),
        tool(info("create_access_key", Write, "iam:CreateAccessKey", false, "Create an access key for a user. The secret is returned only when the policy allows it for the call (reveal_secrets)."), create_access_key),
        tool(info("delete_access_key", Destructive, "iam:DeleteAccessKey", true, "Delete a user's access key."), delete_access_key),
        tool(info("simulate_principal_policy", Read, "iam:SimulatePrincipalPolicy", true, "Simulate whether a user, group or role may perform actions on resources."), simulate_principal_policy),
        tool(info("list_groups", Read, "iam:ListGroups", true, "List IAM groups, one page at a time."), list_groups),
        tool(info("get_group", Read, "iam:GetGroup", true, "Get an IAM group with its members and policies."), get_group),
        tool(info("create_group", Write, "iam:CreateGroup", false, "Create an IAM group."), create_group),
        tool(info("delete_group", Destructive, "iam:DeleteGroup", true, "Delete an IAM group; with force, first remove its members and policies."), delete_group),
        tool(info("add_user_to_group", Write, "iam:AddUserToGroup", true, "Add a user to a group."), add_user_to_group),
        tool(info("remove_user_from_group", Write, "iam:RemoveUserFromGroup", true, "Remove a user from a group."), remove_user_from_group),
        tool(info("attach_group_policy", Write, "iam:AttachGroupPolicy", true, "Attach a managed policy to a group."), attach_group_policy)
            .with_documents(&[("policy_arn", ManagedPolicyArn)]),
        tool(info("detach_group_policy", Write, "iam:DetachGroupPolicy", true, "Detach a managed policy from a group."), detach_group_policy),
        tool(info("put_user_policy", Write, "iam:PutUserPolicy", true, "Create or overwrite a user's inline policy."), put_user_policy)
            .with_documents(&[("policy_document", Identity)]),
        tool(info("get_user_policy", Read, "iam:GetUserPolicy", true, "Get a user's inline policy document."), get_user_policy),
        tool(info("delete_user_policy", Destructive, "iam:DeleteUserPolicy", true, "Delete a user's inline policy."), delete_user_policy),
        tool(info("put_role_policy", Write, "iam:PutRolePolicy", true, "Create or overwrite a role's inline policy."), put_role_policy)
            .with_documents(&[("policy_document", Identity)]),
        tool(info("get_role_policy", Read, "iam:GetRolePolicy", true, "Get a role's inline policy document."), get_role_policy),
        tool(info("delete_role_policy", Destructive, "iam:DeleteRolePolicy", true, "Delete a role's inline policy."), delete_role_policy),
        tool(info("list_user_policies", Read, "iam:ListUserPolicies", true, "List a user's inline policy names."), list_user_policies),
        tool(info("list_role_policies", Read, "iam:ListRolePolicies", true, "List a role's inline policy names."), list_role_policies),
        tool(info("add_inline_policy", Write, "iam:PutUserPolicy, iam:PutRolePolicy", false, "Add a new inline policy to a user or a role; refuses when one of that name exists (never overwrites)."), add_inline_policy)
            .with_documents(&[("policy_document", Identity)]),
    ]
}
