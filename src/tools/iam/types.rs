//! Result and argument types shared by the IAM tools.

use super::*;
use crate::tools::common::iam_paged;

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

pub(super) fn tags(t: Option<&[sdk::Tag]>) -> HashMap<String, String> {
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

pub(super) fn changed(action: &str, target: String, subject: Option<String>) -> Changed {
    Changed {
        action: action.into(),
        target,
        subject,
    }
}

// ---------------------------------------------------------------- argument shapes

iam_paged! {
/// A list of entities, one page.
    pub struct ListArgs {
        /// Only entities whose path starts with this (`/division/`).
        #[schemars(regex(pattern = PATH_PREFIX))]
        #[serde(default)]
        pub path_prefix: Option<String>,
    }
}

/// One user.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserArgs {
    /// User name: 1–64 letters, digits and `+=,.@_-`.
    #[schemars(regex(pattern = USER_NAME))]
    pub user_name: String,
}
impl CheckArgs for UserArgs {}

iam_paged! {
/// One user's inline policy names, one page.
    pub struct UserPageArgs {
        #[schemars(regex(pattern = USER_NAME))]
        pub user_name: String,
    }
}

iam_paged! {
/// One role's inline policy names, one page.
    pub struct RolePageArgs {
        #[schemars(regex(pattern = ROLE_NAME))]
        pub role_name: String,
    }
}

iam_paged! {
/// One group.
    pub struct GroupArgs {
        /// Group name: 1–128 letters, digits and `+=,.@_-`.
        #[schemars(regex(pattern = GROUP_NAME))]
        pub group_name: String,
    }
}
