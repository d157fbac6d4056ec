//! Groups and their members.

use super::*;

// ---------------------------------------------------------------- groups

/// A page of groups.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct GroupsOut {
    pub groups: Vec<GroupOut>,
    pub is_truncated: bool,
    pub marker: Option<String>,
}

pub(super) async fn list_groups(ctx: ToolContext, a: ListArgs) -> Result<GroupsOut, ToolError> {
    let out = ctx
        .aws
        .client::<aws_sdk_iam::Client>(None)
        .await
        .list_groups()
        .set_path_prefix(a.path_prefix)
        .set_max_items(a.max_items)
        .set_marker(a.marker)
        .send()
        .await
        .map_err(|e| ctx.aws_error(e))?;
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

pub(super) async fn get_group(ctx: ToolContext, a: GroupArgs) -> Result<GroupDetails, ToolError> {
    let iam = ctx.aws.client::<aws_sdk_iam::Client>(None).await;
    let out = iam
        .get_group()
        .group_name(&a.group_name)
        .set_max_items(a.max_items)
        .set_marker(a.marker)
        .send()
        .await
        .map_err(|e| ctx.aws_error(e))?;
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

pub(super) async fn create_group(
    ctx: ToolContext,
    a: CreateGroupArgs,
) -> Result<GroupOut, ToolError> {
    let out = ctx
        .aws
        .client::<aws_sdk_iam::Client>(None)
        .await
        .create_group()
        .group_name(&a.group_name)
        .set_path(a.path)
        .send()
        .await
        .map_err(|e| ctx.aws_error(e))?;
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

pub(super) async fn delete_group(
    ctx: ToolContext,
    a: DeleteGroupArgs,
) -> Result<Deleted, ToolError> {
    let iam = ctx.aws.client::<aws_sdk_iam::Client>(None).await;
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
        .map_err(|e| ctx.aws_error(e))?;
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

pub(super) async fn add_user_to_group(
    ctx: ToolContext,
    a: MembershipArgs,
) -> Result<Changed, ToolError> {
    ctx.aws
        .client::<aws_sdk_iam::Client>(None)
        .await
        .add_user_to_group()
        .group_name(&a.group_name)
        .user_name(&a.user_name)
        .send()
        .await
        .map_err(|e| ctx.aws_error(e))?;
    Ok(changed(
        "added",
        format!("group/{}", a.group_name),
        Some(format!("user/{}", a.user_name)),
    ))
}

pub(super) async fn remove_user_from_group(
    ctx: ToolContext,
    a: MembershipArgs,
) -> Result<Changed, ToolError> {
    ctx.aws
        .client::<aws_sdk_iam::Client>(None)
        .await
        .remove_user_from_group()
        .group_name(&a.group_name)
        .user_name(&a.user_name)
        .send()
        .await
        .map_err(|e| ctx.aws_error(e))?;
    Ok(changed(
        "removed",
        format!("group/{}", a.group_name),
        Some(format!("user/{}", a.user_name)),
    ))
}
