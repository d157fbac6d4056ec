//! IAM policy generation through IAM Access Analyzer (aws-sdk-accessanalyzer): start a job that
//! reads a principal's CloudTrail activity and drafts a least-privilege policy, read its result,
//! list jobs, cancel one.

use aws_sdk_accessanalyzer::types as sdk;
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::common::{REGION_PATTERN, ts};
use crate::catalogue::{CheckArgs, RiskClass, ToolContext, ToolInfo, ToolSpec, tool};
use crate::error::{ArgError, ToolError};

const PRINCIPAL_ARN: &str = r"^arn:aws[a-z-]*:iam::[0-9]{12}:(user|role)/[!-~]+$";
const ROLE_ARN: &str = r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[!-~]+$";
const TRAIL_ARN: &str = r"^arn:aws[a-z-]*:cloudtrail:[a-z0-9-]+:[0-9]{12}:trail/[!-~]+$";
const JOB_ID: &str = r"^[A-Za-z0-9-]{1,128}$";

/// Which CloudTrail trails to read, and how.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CloudTrailArgs {
    /// ARNs of the trails to analyze.
    #[schemars(length(min = 1, max = 10), inner(regex(pattern = TRAIL_ARN)))]
    pub trail_arns: Vec<String>,
    /// Read the trails' events from all regions.
    #[serde(default)]
    pub all_regions: Option<bool>,
    /// Or only these regions.
    #[schemars(inner(regex(pattern = REGION_PATTERN)))]
    #[serde(default)]
    pub regions: Option<Vec<String>>,
    /// Role Access Analyzer assumes to read the trails.
    #[schemars(regex(pattern = ROLE_ARN))]
    pub access_role_arn: String,
    /// Start of the activity window, RFC 3339 (`2026-11-01T00:00:00Z`).
    pub start_time: String,
    /// End of the activity window, RFC 3339; now when omitted.
    #[serde(default)]
    pub end_time: Option<String>,
}

fn parse_time(field: &str, s: &str) -> Result<DateTime, ArgError> {
    DateTime::from_str(s, Format::DateTime).map_err(|_| {
        ArgError::rule(
            field,
            format!("`{s}` is not an RFC 3339 time like 2026-11-01T00:00:00Z"),
        )
    })
}

/// Arguments of `policy_generation_start`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StartArgs {
    /// AWS region for this call; the server's default region when omitted.
    #[schemars(regex(pattern = REGION_PATTERN))]
    #[serde(default)]
    pub region: Option<String>,
    /// The user or role whose activity the policy is generated from; when omitted, the AWS
    /// identity this call runs as (the caller's assumed role, or the server's own identity).
    #[schemars(regex(pattern = PRINCIPAL_ARN))]
    #[serde(default)]
    pub principal_arn: Option<String>,
    #[serde(default)]
    pub cloud_trail: Option<CloudTrailArgs>,
    /// Idempotency token: a retry with the same token starts no second job.
    #[schemars(length(min = 1, max = 64))]
    #[serde(default)]
    pub client_token: Option<String>,
    /// Wait up to this many seconds (at most 1800) for the job to finish (SUCCEEDED, FAILED or
    /// CANCELED), with progress notifications.
    #[schemars(range(min = 1, max = 1800))]
    #[serde(default)]
    pub wait: Option<u32>,
}

impl CheckArgs for StartArgs {
    fn check(&self) -> Result<(), ArgError> {
        if let Some(ct) = &self.cloud_trail {
            let start = parse_time("cloud_trail.start_time", &ct.start_time)?;
            if let Some(end) = &ct.end_time {
                let end = parse_time("cloud_trail.end_time", end)?;
                if end.secs() <= start.secs() {
                    return Err(ArgError::rule(
                        "cloud_trail.end_time",
                        "must be after start_time",
                    ));
                }
            }
            if ct.all_regions == Some(true) && ct.regions.is_some() {
                return Err(ArgError::rule(
                    "cloud_trail.regions",
                    "give regions or all_regions: true, not both",
                ));
            }
        }
        Ok(())
    }
}

/// A started job.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Started {
    pub job_id: String,
    /// The user or role the policy is generated for.
    pub principal_arn: String,
    /// With `wait`: the job's status when the wait ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waited: Option<super::common::Waited>,
}

/// The IAM ARN of the identity a call runs as: the assumed role's when the caller acts as one,
/// else STS GetCallerIdentity's answer (an assumed-role session becomes its role's ARN).
async fn own_principal_arn(ctx: &ToolContext) -> Result<String, ToolError> {
    if let Some(role) = &ctx.acting_as {
        return Ok(role.to_string());
    }
    let me = ctx
        .aws
        .client::<aws_sdk_sts::Client>(None)
        .await
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| crate::aws::aws_error("sts:GetCallerIdentity", e))?;
    let arn = me.arn().unwrap_or_default();
    iam_arn_of(arn).ok_or_else(|| {
        ToolError::Arg(ArgError::rule(
            "principal_arn",
            format!(
                "the server's AWS identity ({arn}) is not an IAM user or role; name the principal"
            ),
        ))
    })
}

/// `arn:aws:sts::123456789012:assumed-role/app/session` is role `app`; user and role ARNs stay.
fn iam_arn_of(arn: &str) -> Option<String> {
    let re = regex::Regex::new(PRINCIPAL_ARN).ok()?;
    if re.is_match(arn) {
        return Some(arn.to_string());
    }
    let rest = arn.strip_prefix("arn:")?;
    let mut parts = rest.splitn(5, ':');
    let (partition, service, _, account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    let role = resource.strip_prefix("assumed-role/")?.split('/').next()?;
    (service == "sts" && !role.is_empty())
        .then(|| format!("arn:{partition}:iam::{account}:role/{role}"))
}

async fn policy_generation_start(ctx: ToolContext, a: StartArgs) -> Result<Started, ToolError> {
    let principal_arn = match a.principal_arn {
        Some(p) => p,
        None => own_principal_arn(&ctx).await?,
    };
    let details = sdk::PolicyGenerationDetails::builder()
        .principal_arn(&principal_arn)
        .build()
        .map_err(|e| ToolError::Internal(e.to_string()))?;
    let cloud_trail = match &a.cloud_trail {
        None => None,
        Some(ct) => {
            let trails = ct
                .trail_arns
                .iter()
                .map(|arn| {
                    sdk::Trail::builder()
                        .cloud_trail_arn(arn)
                        .set_regions(ct.regions.clone())
                        .set_all_regions(ct.all_regions)
                        .build()
                        .map_err(|e| ToolError::Internal(e.to_string()))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Some(
                sdk::CloudTrailDetails::builder()
                    .set_trails(Some(trails))
                    .access_role(&ct.access_role_arn)
                    .start_time(parse_time("cloud_trail.start_time", &ct.start_time)?)
                    .set_end_time(
                        ct.end_time
                            .as_deref()
                            .map(|e| parse_time("cloud_trail.end_time", e))
                            .transpose()?,
                    )
                    .build()
                    .map_err(|e| ToolError::Internal(e.to_string()))?,
            )
        }
    };
    let out = ctx
        .aws
        .client::<aws_sdk_accessanalyzer::Client>(a.region.as_deref())
        .await
        .start_policy_generation()
        .policy_generation_details(details)
        .set_cloud_trail_details(cloud_trail)
        .set_client_token(a.client_token)
        .send()
        .await
        .map_err(|e| ctx.aws_error(e))?;
    let waited = match a.wait {
        None => None,
        Some(seconds) => {
            let client = ctx
                .aws
                .client::<aws_sdk_accessanalyzer::Client>(a.region.as_deref())
                .await;
            let job = out.job_id.clone();
            Some(
                super::common::wait_for(
                    &ctx,
                    &format!("policy generation {job}"),
                    std::time::Duration::from_secs(seconds.into()),
                    || {
                        let (client, job) = (client.clone(), job.clone());
                        async move {
                            let got = client
                                .get_generated_policy()
                                .job_id(&job)
                                .send()
                                .await
                                .map_err(|e| {
                                    crate::aws::aws_error("access-analyzer:GetGeneratedPolicy", e)
                                })?;
                            Ok(got
                                .job_details
                                .map(|j| j.status.as_str().to_string())
                                .unwrap_or_else(|| "UNKNOWN".into()))
                        }
                    },
                    |status| matches!(status, "SUCCEEDED" | "FAILED" | "CANCELED"),
                )
                .await?,
            )
        }
    };
    Ok(Started {
        job_id: out.job_id,
        principal_arn,
        waited,
    })
}

/// Arguments of `policy_generation_get`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetArgs {
    #[schemars(regex(pattern = REGION_PATTERN))]
    #[serde(default)]
    pub region: Option<String>,
    #[schemars(regex(pattern = JOB_ID))]
    pub job_id: String,
    /// Put placeholders for resource ARNs in the generated policy.
    #[serde(default)]
    pub include_resource_placeholders: Option<bool>,
    /// Generate a service-level policy template rather than action-level.
    #[serde(default)]
    pub include_service_level_template: Option<bool>,
}
impl CheckArgs for GetArgs {}

/// A job's state.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct JobOut {
    pub job_id: String,
    /// IN_PROGRESS, SUCCEEDED, FAILED or CANCELED.
    pub status: String,
    pub started_on: Option<String>,
    pub completed_on: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
}

/// A job and, when it succeeded, the generated policies.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct GeneratedOut {
    pub job: Option<JobOut>,
    pub principal_arn: Option<String>,
    pub is_complete: Option<bool>,
    /// The generated policy documents, parsed.
    pub generated_policies: Vec<Value>,
}

async fn policy_generation_get(ctx: ToolContext, a: GetArgs) -> Result<GeneratedOut, ToolError> {
    let out = ctx
        .aws
        .client::<aws_sdk_accessanalyzer::Client>(a.region.as_deref())
        .await
        .get_generated_policy()
        .job_id(&a.job_id)
        .set_include_resource_placeholders(a.include_resource_placeholders)
        .set_include_service_level_template(a.include_service_level_template)
        .send()
        .await
        .map_err(|e| ctx.aws_error(e))?;
    let result = out.generated_policy_result.as_ref();
    Ok(GeneratedOut {
        job: out.job_details.as_ref().map(|j| JobOut {
            job_id: j.job_id.clone(),
            status: j.status.as_str().to_string(),
            started_on: ts(Some(&j.started_on)),
            completed_on: ts(j.completed_on.as_ref()),
            error_code: j.job_error.as_ref().map(|e| e.code.as_str().to_string()),
            error_message: j.job_error.as_ref().map(|e| e.message.clone()),
        }),
        principal_arn: result
            .and_then(|r| r.properties.as_ref())
            .map(|p| p.principal_arn.clone()),
        is_complete: result
            .and_then(|r| r.properties.as_ref())
            .and_then(|p| p.is_complete),
        generated_policies: result
            .map(|r| {
                r.generated_policies()
                    .iter()
                    .map(|p| {
                        serde_json::from_str(&p.policy)
                            .unwrap_or_else(|_| Value::String(p.policy.clone()))
                    })
                    .collect()
            })
            .unwrap_or_default(),
    })
}

/// Arguments of `policy_generation_list`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListArgs {
    #[schemars(regex(pattern = REGION_PATTERN))]
    #[serde(default)]
    pub region: Option<String>,
    /// Only jobs for this user or role.
    #[schemars(regex(pattern = PRINCIPAL_ARN))]
    #[serde(default)]
    pub principal_arn: Option<String>,
    #[schemars(range(min = 1, max = 100))]
    #[serde(default)]
    pub max_results: Option<i32>,
    #[schemars(length(min = 1, max = 4096))]
    #[serde(default)]
    pub next_token: Option<String>,
}
impl CheckArgs for ListArgs {}

/// One job in a listing.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct GenerationOut {
    pub job_id: String,
    pub principal_arn: String,
    pub status: String,
    pub started_on: Option<String>,
    pub completed_on: Option<String>,
}

/// Jobs, one page.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct GenerationsOut {
    pub policy_generations: Vec<GenerationOut>,
    pub next_token: Option<String>,
}

async fn policy_generation_list(
    ctx: ToolContext,
    a: ListArgs,
) -> Result<GenerationsOut, ToolError> {
    let out = ctx
        .aws
        .client::<aws_sdk_accessanalyzer::Client>(a.region.as_deref())
        .await
        .list_policy_generations()
        .set_principal_arn(a.principal_arn)
        .set_max_results(a.max_results)
        .set_next_token(a.next_token)
        .send()
        .await
        .map_err(|e| ctx.aws_error(e))?;
    Ok(GenerationsOut {
        policy_generations: out
            .policy_generations
            .iter()
            .map(|g| GenerationOut {
                job_id: g.job_id.clone(),
                principal_arn: g.principal_arn.clone(),
                status: g.status.as_str().to_string(),
                started_on: ts(Some(&g.started_on)),
                completed_on: ts(g.completed_on.as_ref()),
            })
            .collect(),
        next_token: out.next_token,
    })
}

/// Arguments of `policy_generation_cancel`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelArgs {
    #[schemars(regex(pattern = REGION_PATTERN))]
    #[serde(default)]
    pub region: Option<String>,
    #[schemars(regex(pattern = JOB_ID))]
    pub job_id: String,
}
impl CheckArgs for CancelArgs {}

/// A cancelled job.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Cancelled {
    pub job_id: String,
    pub cancel_requested: bool,
}

async fn policy_generation_cancel(ctx: ToolContext, a: CancelArgs) -> Result<Cancelled, ToolError> {
    ctx.aws
        .client::<aws_sdk_accessanalyzer::Client>(a.region.as_deref())
        .await
        .cancel_policy_generation()
        .job_id(&a.job_id)
        .send()
        .await
        .map_err(|e| ctx.aws_error(e))?;
    Ok(Cancelled {
        job_id: a.job_id,
        cancel_requested: true,
    })
}

/// The IAM Access Analyzer policy-generation tools.
/// The IAM policy generation family (IAM Access Analyzer).
pub struct PolicyGeneration;

impl super::Family for PolicyGeneration {
    fn name(&self) -> &'static str {
        "IAM policy generation (IAM Access Analyzer)"
    }
    fn tools(&self) -> Vec<ToolSpec> {
        tools()
    }
    fn aws_services(&self) -> &'static [&'static str] {
        &["access-analyzer", "iam", "sts"]
    }
}

pub fn tools() -> Vec<ToolSpec> {
    use RiskClass::*;
    vec![
        tool(
            ToolInfo {
                name: "policy_generation_start",
                class: Execute,
                aws_api: "access-analyzer:StartPolicyGeneration",
                idempotent: false,
                description: "Start an IAM Access Analyzer job that drafts a least-privilege \
                policy for a user or role from its CloudTrail activity. Returns the job id.",
            },
            policy_generation_start,
        )
        .also_calls(&[
            "sts:GetCallerIdentity",
            "iam:PassRole",
            "access-analyzer:GetGeneratedPolicy",
        ]),
        tool(
            ToolInfo {
                name: "policy_generation_get",
                class: Read,
                aws_api: "access-analyzer:GetGeneratedPolicy",
                idempotent: true,
                description: "Get a policy-generation job's status, error and generated policy \
                documents.",
            },
            policy_generation_get,
        ),
        tool(
            ToolInfo {
                name: "policy_generation_list",
                class: Read,
                aws_api: "access-analyzer:ListPolicyGenerations",
                idempotent: true,
                description: "List policy-generation jobs, one page at a time.",
            },
            policy_generation_list,
        ),
        tool(
            ToolInfo {
                name: "policy_generation_cancel",
                class: Write,
                aws_api: "access-analyzer:CancelPolicyGeneration",
                idempotent: true,
                description: "Cancel a policy-generation job.",
            },
            policy_generation_cancel,
        ),
    ]
}

/// IAM Access Analyzer: one client per region.
impl crate::aws::AwsService for aws_sdk_accessanalyzer::Client {
    fn from_config(config: &aws_config::SdkConfig) -> Self {
        aws_sdk_accessanalyzer::Client::new(config)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_callers_own_arn_is_its_user_or_its_roles() {
        use super::iam_arn_of;
        assert_eq!(
            iam_arn_of("arn:aws:sts::123456789012:assumed-role/agent-alice/alice").as_deref(),
            Some("arn:aws:iam::123456789012:role/agent-alice")
        );
        assert_eq!(
            iam_arn_of("arn:aws:iam::123456789012:user/ci").as_deref(),
            Some("arn:aws:iam::123456789012:user/ci")
        );
        assert_eq!(iam_arn_of("arn:aws:iam::123456789012:root"), None);
        assert_eq!(
            iam_arn_of("arn:aws:sts::123456789012:federated-user/x"),
            None
        );
    }
}
