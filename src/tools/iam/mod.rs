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
use crate::catalogue::{CheckArgs, RiskClass, ToolContext, ToolInfo, ToolSpec, tool};
use crate::error::{ArgError, ToolError};
use crate::tools::iam::guard::DocKind;

pub(super) const USER_NAME: &str = r"^[\w+=,.@-]{1,64}$";
pub(super) const ROLE_NAME: &str = r"^[\w+=,.@-]{1,64}$";
pub(super) const GROUP_NAME: &str = r"^[\w+=,.@-]{1,128}$";
pub(super) const POLICY_NAME: &str = r"^[\w+=,.@-]{1,128}$";
pub(super) const PATH: &str = r"^(/|/[!-~]{1,510}/)$";
pub(super) const PATH_PREFIX: &str = r"^/[!-~]{0,511}$";
pub(super) const POLICY_ARN: &str = r"^arn:aws[a-z-]*:iam::(aws|[0-9]{12}):policy/[!-~]+$";
pub(super) const PRINCIPAL_ARN: &str = r"^arn:aws[a-z-]*:iam::[0-9]{12}:(user|role|group)/[!-~]+$";
pub(super) const ACCESS_KEY_ID: &str = r"^\w{16,128}$";

// ---------------------------------------------------------------- policy documents

pub use crate::tools::iam::guard::PolicyDocument;

/// IAM returns policy documents URL-encoded.
pub(super) fn decode_document(encoded: &str) -> Value {
    let text = percent_encoding::percent_decode_str(encoded).decode_utf8_lossy();
    serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text.into_owned()))
}

/// IAM Access Analyzer's checks of the documents an IAM change puts in force.
pub mod access_checks;
/// What an IAM change puts in force, read for the IAM guard.
pub mod grants;
pub mod groups;
/// The IAM policy-document guard (pure): what a policy change grants, judged.
pub mod guard;
pub mod inline;
pub mod managed;
/// The IAM resources its tools act on, for `resource.*` conditions.
pub mod resources;
pub mod types;
pub mod users_roles;

pub use groups::*;
pub use inline::*;
pub use managed::*;
pub use types::*;
pub use users_roles::*;

// ---------------------------------------------------------------- catalogue entries

/// The IAM tools.
/// The IAM family.
pub struct Iam;

impl super::Family for Iam {
    fn name(&self) -> &'static str {
        "IAM"
    }
    fn tools(&self) -> Vec<ToolSpec> {
        tools()
    }
    fn resource_kinds(&self) -> &'static [&'static crate::resource::ResourceKind] {
        &resources::KINDS
    }
    fn aws_services(&self) -> &'static [&'static str] {
        &["iam"]
    }
    fn guard_reader(
        &self,
        aws: &std::sync::Arc<crate::aws::AwsClients>,
        ttl: std::time::Duration,
        clock: &crate::clock::Clock,
    ) -> Option<std::sync::Arc<dyn crate::catalogue::guard::GuardReader>> {
        Some(std::sync::Arc::new(guard::reader::IamGuardReader::new(
            aws.clone(),
            ttl,
            clock.clone(),
        )))
    }
}

pub fn tools() -> Vec<ToolSpec> {
    use DocKind::*;
    use RiskClass::*;
    vec![
        tool(
            ToolInfo {
                name: "list_users",
                class: Read,
                aws_api: "iam:ListUsers",
                idempotent: true,
                description: "List IAM users, one page at a time (max_items, marker).",
            },
            list_users,
        ),
        tool(
            ToolInfo {
                name: "get_user",
                class: Read,
                aws_api: "iam:GetUser",
                idempotent: true,
                description: "Get an IAM user with its groups, attached and inline policies and \
                access keys (never secrets).",
            },
            get_user,
        )
        .targets(resources::user_by("user_name"))
        .also_calls(&[
            "iam:ListGroupsForUser",
            "iam:ListAttachedUserPolicies",
            "iam:ListUserPolicies",
            "iam:ListAccessKeys",
        ]),
        tool(
            ToolInfo {
                name: "create_user",
                class: Write,
                aws_api: "iam:CreateUser",
                idempotent: false,
                description: "Create an IAM user.",
            },
            create_user,
        )
        .tags_what_it_creates(),
        tool(
            ToolInfo {
                name: "delete_user",
                class: Destructive,
                aws_api: "iam:DeleteUser",
                idempotent: true,
                description: "Delete an IAM user; with force, first remove its group memberships, \
                policies, access keys and login profile.",
            },
            delete_user,
        )
        .targets(resources::user_by("user_name"))
        .also_calls(&[
            "iam:ListGroupsForUser",
            "iam:RemoveUserFromGroup",
            "iam:ListAttachedUserPolicies",
            "iam:DetachUserPolicy",
            "iam:ListUserPolicies",
            "iam:DeleteUserPolicy",
            "iam:ListAccessKeys",
            "iam:DeleteAccessKey",
            "iam:DeleteLoginProfile",
        ]),
        tool(
            ToolInfo {
                name: "list_roles",
                class: Read,
                aws_api: "iam:ListRoles",
                idempotent: true,
                description: "List IAM roles, one page at a time.",
            },
            list_roles,
        ),
        tool(
            ToolInfo {
                name: "create_role",
                class: Write,
                aws_api: "iam:CreateRole",
                idempotent: false,
                description: "Create an IAM role with a trust policy (JSON object or string).",
            },
            create_role,
        )
        .tags_what_it_creates()
        .with_documents(&[("assume_role_policy_document", Trust)]),
        tool(
            ToolInfo {
                name: "list_policies",
                class: Read,
                aws_api: "iam:ListPolicies",
                idempotent: true,
                description: "List managed policies (scope Local, AWS or All), one page at a time.",
            },
            list_policies,
        ),
        tool(
            ToolInfo {
                name: "get_managed_policy_document",
                class: Read,
                aws_api: "iam:GetPolicyVersion",
                idempotent: true,
                description: "Get a managed policy's document (the default version unless \
                version_id is given).",
            },
            get_managed_policy_document,
        )
        .also_calls(&["iam:GetPolicy"]),
        tool(
            ToolInfo {
                name: "attach_user_policy",
                class: Write,
                aws_api: "iam:AttachUserPolicy",
                idempotent: true,
                description: "Attach a managed policy to a user.",
            },
            attach_user_policy,
        )
        .targets(resources::user_by("user_name"))
        .with_documents(&[("policy_arn", ManagedPolicyArn)]),
        tool(
            ToolInfo {
                name: "detach_user_policy",
                class: Write,
                aws_api: "iam:DetachUserPolicy",
                idempotent: true,
                description: "Detach a managed policy from a user.",
            },
            detach_user_policy,
        )
        .targets(resources::user_by("user_name")),
        tool(
            ToolInfo {
                name: "attach_role_policy",
                class: Write,
                aws_api: "iam:AttachRolePolicy",
                idempotent: true,
                description: "Attach a managed policy to a role.",
            },
            attach_role_policy,
        )
        .targets(resources::role_by("role_name"))
        .with_documents(&[("policy_arn", ManagedPolicyArn)]),
        tool(
            ToolInfo {
                name: "detach_role_policy",
                class: Write,
                aws_api: "iam:DetachRolePolicy",
                idempotent: true,
                description: "Detach a managed policy from a role.",
            },
            detach_role_policy,
        )
        .targets(resources::role_by("role_name")),
        tool(
            ToolInfo {
                name: "create_access_key",
                class: Write,
                aws_api: "iam:CreateAccessKey",
                idempotent: false,
                description: "Create an access key for a user. The secret is returned only when \
                the policy allows it for the call (reveal_secrets).",
            },
            create_access_key,
        )
        .targets(resources::user_by("user_name")),
        tool(
            ToolInfo {
                name: "delete_access_key",
                class: Destructive,
                aws_api: "iam:DeleteAccessKey",
                idempotent: true,
                description: "Delete a user's access key.",
            },
            delete_access_key,
        )
        .targets(resources::user_by("user_name")),
        tool(
            ToolInfo {
                name: "simulate_principal_policy",
                class: Read,
                aws_api: "iam:SimulatePrincipalPolicy",
                idempotent: true,
                description: "Simulate whether a user, group or role may perform actions on \
                resources.",
            },
            simulate_principal_policy,
        ),
        tool(
            ToolInfo {
                name: "list_groups",
                class: Read,
                aws_api: "iam:ListGroups",
                idempotent: true,
                description: "List IAM groups, one page at a time.",
            },
            list_groups,
        ),
        tool(
            ToolInfo {
                name: "get_group",
                class: Read,
                aws_api: "iam:GetGroup",
                idempotent: true,
                description: "Get an IAM group with its members and policies.",
            },
            get_group,
        )
        .targets(resources::group_by("group_name"))
        .also_calls(&["iam:ListAttachedGroupPolicies", "iam:ListGroupPolicies"]),
        tool(
            ToolInfo {
                name: "create_group",
                class: Write,
                aws_api: "iam:CreateGroup",
                idempotent: false,
                description: "Create an IAM group.",
            },
            create_group,
        ),
        tool(
            ToolInfo {
                name: "delete_group",
                class: Destructive,
                aws_api: "iam:DeleteGroup",
                idempotent: true,
                description: "Delete an IAM group; with force, first remove its members and \
                policies.",
            },
            delete_group,
        )
        .targets(resources::group_by("group_name"))
        .also_calls(&[
            "iam:GetGroup",
            "iam:RemoveUserFromGroup",
            "iam:ListAttachedGroupPolicies",
            "iam:DetachGroupPolicy",
            "iam:ListGroupPolicies",
            "iam:DeleteGroupPolicy",
        ]),
        tool(
            ToolInfo {
                name: "add_user_to_group",
                class: Write,
                aws_api: "iam:AddUserToGroup",
                idempotent: true,
                description: "Add a user to a group.",
            },
            add_user_to_group,
        )
        .targets(resources::user_by("user_name"))
        .with_documents(&[("group_name", GroupMembership)]),
        tool(
            ToolInfo {
                name: "remove_user_from_group",
                class: Write,
                aws_api: "iam:RemoveUserFromGroup",
                idempotent: true,
                description: "Remove a user from a group.",
            },
            remove_user_from_group,
        )
        .targets(resources::user_by("user_name")),
        tool(
            ToolInfo {
                name: "attach_group_policy",
                class: Write,
                aws_api: "iam:AttachGroupPolicy",
                idempotent: true,
                description: "Attach a managed policy to a group.",
            },
            attach_group_policy,
        )
        .targets(resources::group_by("group_name"))
        .with_documents(&[("policy_arn", ManagedPolicyArn)]),
        tool(
            ToolInfo {
                name: "detach_group_policy",
                class: Write,
                aws_api: "iam:DetachGroupPolicy",
                idempotent: true,
                description: "Detach a managed policy from a group.",
            },
            detach_group_policy,
        )
        .targets(resources::group_by("group_name")),
        tool(
            ToolInfo {
                name: "put_user_policy",
                class: Write,
                aws_api: "iam:PutUserPolicy",
                idempotent: true,
                description: "Create or overwrite a user's inline policy.",
            },
            put_user_policy,
        )
        .targets(resources::user_by("user_name"))
        .with_documents(&[("policy_document", Identity)]),
        tool(
            ToolInfo {
                name: "get_user_policy",
                class: Read,
                aws_api: "iam:GetUserPolicy",
                idempotent: true,
                description: "Get a user's inline policy document.",
            },
            get_user_policy,
        )
        .targets(resources::user_by("user_name")),
        tool(
            ToolInfo {
                name: "delete_user_policy",
                class: Destructive,
                aws_api: "iam:DeleteUserPolicy",
                idempotent: true,
                description: "Delete a user's inline policy.",
            },
            delete_user_policy,
        )
        .targets(resources::user_by("user_name")),
        tool(
            ToolInfo {
                name: "put_role_policy",
                class: Write,
                aws_api: "iam:PutRolePolicy",
                idempotent: true,
                description: "Create or overwrite a role's inline policy.",
            },
            put_role_policy,
        )
        .targets(resources::role_by("role_name"))
        .with_documents(&[("policy_document", Identity)]),
        tool(
            ToolInfo {
                name: "get_role_policy",
                class: Read,
                aws_api: "iam:GetRolePolicy",
                idempotent: true,
                description: "Get a role's inline policy document.",
            },
            get_role_policy,
        )
        .targets(resources::role_by("role_name")),
        tool(
            ToolInfo {
                name: "delete_role_policy",
                class: Destructive,
                aws_api: "iam:DeleteRolePolicy",
                idempotent: true,
                description: "Delete a role's inline policy.",
            },
            delete_role_policy,
        )
        .targets(resources::role_by("role_name")),
        tool(
            ToolInfo {
                name: "list_user_policies",
                class: Read,
                aws_api: "iam:ListUserPolicies",
                idempotent: true,
                description: "List a user's inline policy names.",
            },
            list_user_policies,
        )
        .targets(resources::user_by("user_name")),
        tool(
            ToolInfo {
                name: "list_role_policies",
                class: Read,
                aws_api: "iam:ListRolePolicies",
                idempotent: true,
                description: "List a role's inline policy names.",
            },
            list_role_policies,
        )
        .targets(resources::role_by("role_name")),
        tool(
            ToolInfo {
                name: "add_inline_policy",
                class: Write,
                aws_api: "iam:PutUserPolicy, iam:PutRolePolicy",
                idempotent: false,
                description: "Add a new inline policy to a user or a role; refuses when one of \
                that name exists (never overwrites).",
            },
            add_inline_policy,
        )
        .targets(resources::user_or_role_by("user_name", "role_name"))
        .with_documents(&[("policy_document", Identity)])
        .also_calls(&["iam:GetUserPolicy", "iam:GetRolePolicy"]),
    ]
}

/// IAM is global: one client.
impl crate::aws::AwsService for aws_sdk_iam::Client {
    const GLOBAL: bool = true;
    fn from_config(config: &aws_config::SdkConfig) -> Self {
        aws_sdk_iam::Client::new(config)
    }
}
