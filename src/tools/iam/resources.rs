//! The IAM resources the family's tools act on, as policy conditions see them
//! (`resource.tags.owner`, `resource.attached_policies` …): users, roles and groups by name,
//! and how their facts are fetched (GetUser, GetRole, GetGroup and their attached policies).

use futures::future::BoxFuture;
use serde_json::{Value, json};

use crate::aws::{AwsClients, aws_error};
use crate::error::ToolError;
use crate::resource::lookup::tags_object as tags_of;
use crate::resource::{Located, ResourceKind, Target};

/// What users and roles offer.
const PRINCIPAL_FACTS: &[(&str, &str)] = &[
    ("name", "string"),
    ("arn", "string"),
    ("path", "string"),
    ("attached_policies", "array"),
    ("tags", "object"),
];

const GROUP_FACTS: &[(&str, &str)] = &[
    ("name", "string"),
    ("arn", "string"),
    ("path", "string"),
    ("attached_policies", "array"),
];

pub static USER: ResourceKind = ResourceKind {
    id: "iam:user",
    name: "an IAM user",
    facts: PRINCIPAL_FACTS,
    fetch: user,
};

pub static ROLE: ResourceKind = ResourceKind {
    id: "iam:role",
    name: "an IAM role",
    facts: PRINCIPAL_FACTS,
    fetch: role,
};

pub static GROUP: ResourceKind = ResourceKind {
    id: "iam:group",
    name: "an IAM group",
    facts: GROUP_FACTS,
    fetch: group,
};

/// Every IAM resource kind.
pub static KINDS: [&ResourceKind; 3] = [&USER, &ROLE, &GROUP];

/// A user by name.
pub const fn user_by(arg: &'static str) -> Target {
    Target::one(arg, &USER)
}

/// A role by name.
pub const fn role_by(arg: &'static str) -> Target {
    Target::one(arg, &ROLE)
}

/// A group by name.
pub const fn group_by(arg: &'static str) -> Target {
    Target::one(arg, &GROUP)
}

/// A user or a role, by whichever of the two arguments the call gives (the user first).
pub const fn user_or_role_by(user: &'static str, role: &'static str) -> Target {
    Target::either(user, &USER, role, &ROLE)
}

fn user<'a>(aws: &'a AwsClients, at: &'a Located) -> BoxFuture<'a, Result<Value, ToolError>> {
    Box::pin(async move {
        let iam = aws.client::<aws_sdk_iam::Client>(None).await;
        let out = iam
            .get_user()
            .user_name(&at.name)
            .send()
            .await
            .map_err(|e| aws_error("iam:GetUser", e))?;
        let u = out.user();
        let attached = iam
            .list_attached_user_policies()
            .user_name(&at.name)
            .send()
            .await
            .map_err(|e| aws_error("iam:ListAttachedUserPolicies", e))?;
        Ok(json!({
            "name": u.map(|u| u.user_name()),
            "arn": u.map(|u| u.arn()),
            "path": u.map(|u| u.path()),
            "tags": tags_of(u.map(|u| u.tags()).unwrap_or_default().iter().map(|t| (t.key(), t.value()))),
            "attached_policies": attached.attached_policies().iter().filter_map(|p| p.policy_arn()).collect::<Vec<_>>(),
        }))
    })
}

fn role<'a>(aws: &'a AwsClients, at: &'a Located) -> BoxFuture<'a, Result<Value, ToolError>> {
    Box::pin(async move {
        let iam = aws.client::<aws_sdk_iam::Client>(None).await;
        let out = iam
            .get_role()
            .role_name(&at.name)
            .send()
            .await
            .map_err(|e| aws_error("iam:GetRole", e))?;
        let r = out.role();
        let attached = iam
            .list_attached_role_policies()
            .role_name(&at.name)
            .send()
            .await
            .map_err(|e| aws_error("iam:ListAttachedRolePolicies", e))?;
        Ok(json!({
            "name": r.map(|r| r.role_name()),
            "arn": r.map(|r| r.arn()),
            "path": r.map(|r| r.path()),
            "tags": tags_of(r.map(|r| r.tags()).unwrap_or_default().iter().map(|t| (t.key(), t.value()))),
            "attached_policies": attached.attached_policies().iter().filter_map(|p| p.policy_arn()).collect::<Vec<_>>(),
        }))
    })
}

fn group<'a>(aws: &'a AwsClients, at: &'a Located) -> BoxFuture<'a, Result<Value, ToolError>> {
    Box::pin(async move {
        let iam = aws.client::<aws_sdk_iam::Client>(None).await;
        let out = iam
            .get_group()
            .group_name(&at.name)
            .max_items(1)
            .send()
            .await
            .map_err(|e| aws_error("iam:GetGroup", e))?;
        let g = out.group();
        let attached = iam
            .list_attached_group_policies()
            .group_name(&at.name)
            .send()
            .await
            .map_err(|e| aws_error("iam:ListAttachedGroupPolicies", e))?;
        Ok(json!({
            "name": g.map(|g| g.group_name()),
            "arn": g.map(|g| g.arn()),
            "path": g.map(|g| g.path()),
            "attached_policies": attached.attached_policies().iter().filter_map(|p| p.policy_arn()).collect::<Vec<_>>(),
        }))
    })
}
