//! Reading what an IAM change puts in force, for the IAM guard, with the server's own AWS
//! identity: a managed policy's default version (GetPolicy, GetPolicyVersion), a group's
//! attached and inline policies (ListAttachedGroupPolicies, ListGroupPolicies,
//! GetGroupPolicy), and the server's own account (STS GetCallerIdentity, once). A policy
//! version's document never changes, so it is cached by ARN and version id; which version is
//! the default, and what a group holds, are cached for the resource cache's lifetime.
//! A failure to read is [`LookupError::Failed`]: the call is refused (fail closed).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::clock::Clock;

use serde_json::Value;
use tokio::sync::OnceCell;

use crate::aws::{AwsClients, aws_error};
use crate::error::ToolError;
use crate::resource::lookup::LookupError;
use crate::tools::iam::guard::{DocKind, GrantedDocument, Grants};

/// At most this many entries per cache; the oldest go first when full.
const MAX_CACHED: usize = 4096;
/// Pages of a group's policies read at most (100 each).
const MAX_PAGES: usize = 20;

type Timed<T> = Mutex<HashMap<String, (Instant, T)>>;

pub struct GrantLookups {
    aws: Arc<AwsClients>,
    ttl: Duration,
    /// Policy ARN: its default version id.
    versions: Timed<String>,
    /// (policy ARN, version id): the document.
    documents: Mutex<HashMap<(String, String), Value>>,
    /// Group name: its documents.
    groups: Timed<Vec<GrantedDocument>>,
    account: OnceCell<String>,
    made: std::sync::atomic::AtomicU64,
    clock: Clock,
}

impl GrantLookups {
    pub fn new(aws: Arc<AwsClients>, ttl: Duration) -> Self {
        GrantLookups {
            aws,
            ttl,
            versions: Mutex::default(),
            documents: Mutex::default(),
            groups: Mutex::default(),
            account: OnceCell::new(),
            made: Default::default(),
            clock: Clock::system(),
        }
    }

    /// Read the caches' time from this clock.
    pub fn set_clock(&mut self, clock: Clock) {
        self.clock = clock;
    }

    /// How many requests reached AWS (tests and benchmarks).
    pub fn made(&self) -> u64 {
        self.made.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn count(&self) {
        self.made.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// What a call with these (validated) arguments puts in force, for a tool whose documents
    /// are `docs`; None when it reads nothing (no managed policy, group or trust policy).
    pub async fn for_call(
        &self,
        docs: &[(&'static str, DocKind)],
        args: &Value,
    ) -> Result<Option<Grants>, LookupError> {
        let mut grants = Grants::default();
        let mut any = false;
        for (field, kind) in docs {
            let Some(value) = args.get(*field) else {
                continue;
            };
            match kind {
                DocKind::ManagedPolicyArn => {
                    if let Some(arn) = value.as_str() {
                        grants.documents.push(self.managed(arn).await?);
                        any = true;
                    }
                }
                DocKind::GroupMembership => {
                    if let Some(group) = value.as_str() {
                        grants.documents.extend(self.group(group).await?);
                        any = true;
                    }
                }
                DocKind::Trust => {
                    grants.own_account = Some(self.own_account().await?);
                    any = true;
                }
                DocKind::Identity => {}
            }
        }
        Ok(any.then_some(grants))
    }

    /// A managed policy's default version's document.
    async fn managed(&self, arn: &str) -> Result<GrantedDocument, LookupError> {
        let version = match fresh(&self.versions, arn, self.ttl, &self.clock) {
            Some(v) => v,
            None => {
                self.count();
                let out = self
                    .aws
                    .client::<aws_sdk_iam::Client>(None)
                    .await
                    .get_policy()
                    .policy_arn(arn)
                    .send()
                    .await
                    .map_err(|e| LookupError::of(aws_error("iam:GetPolicy", e)))?;
                let v = out
                    .policy()
                    .and_then(|p| p.default_version_id())
                    .ok_or_else(|| failed(format!("{arn} has no default version")))?
                    .to_string();
                keep(&self.versions, arn, v.clone(), &self.clock);
                v
            }
        };
        let key = (arn.to_string(), version.clone());
        let cached = self.lock_documents().get(&key).cloned();
        let document = match cached {
            Some(d) => d,
            None => {
                self.count();
                let out = self
                    .aws
                    .client::<aws_sdk_iam::Client>(None)
                    .await
                    .get_policy_version()
                    .policy_arn(arn)
                    .version_id(&version)
                    .send()
                    .await
                    .map_err(|e| LookupError::of(aws_error("iam:GetPolicyVersion", e)))?;
                let text = out
                    .policy_version()
                    .and_then(|v| v.document())
                    .ok_or_else(|| failed(format!("{arn} {version} has no document")))?;
                let d = document(text, arn)?;
                let mut docs = self.lock_documents();
                if docs.len() >= MAX_CACHED {
                    docs.clear();
                }
                docs.insert(key, d.clone());
                d
            }
        };
        Ok(GrantedDocument {
            origin: format!("policy {arn} (version {version})"),
            document,
        })
    }

    /// Every policy a group holds: attached (their default versions) and inline.
    async fn group(&self, group: &str) -> Result<Vec<GrantedDocument>, LookupError> {
        if let Some(d) = fresh(&self.groups, group, self.ttl, &self.clock) {
            return Ok(d);
        }
        let iam = self.aws.client::<aws_sdk_iam::Client>(None).await;
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        for _ in 0..MAX_PAGES {
            self.count();
            let page = iam
                .list_attached_group_policies()
                .group_name(group)
                .set_marker(marker.clone())
                .send()
                .await
                .map_err(|e| LookupError::of(aws_error("iam:ListAttachedGroupPolicies", e)))?;
            for p in page.attached_policies() {
                if let Some(arn) = p.policy_arn() {
                    let mut d = self.managed(arn).await?;
                    d.origin = format!("group {group} attached {}", d.origin);
                    out.push(d);
                }
            }
            marker = page.marker().map(str::to_string);
            if !page.is_truncated() || marker.is_none() {
                marker = None;
                break;
            }
        }
        if marker.is_some() {
            return Err(failed(format!(
                "group {group} has too many attached policies to read"
            )));
        }
        let mut names = Vec::new();
        for _ in 0..MAX_PAGES {
            self.count();
            let page = iam
                .list_group_policies()
                .group_name(group)
                .set_marker(marker.clone())
                .send()
                .await
                .map_err(|e| LookupError::of(aws_error("iam:ListGroupPolicies", e)))?;
            names.extend(page.policy_names().iter().cloned());
            marker = page.marker().map(str::to_string);
            if !page.is_truncated() || marker.is_none() {
                marker = None;
                break;
            }
        }
        if marker.is_some() {
            return Err(failed(format!(
                "group {group} has too many inline policies to read"
            )));
        }
        for name in names {
            self.count();
            let p = iam
                .get_group_policy()
                .group_name(group)
                .policy_name(&name)
                .send()
                .await
                .map_err(|e| LookupError::of(aws_error("iam:GetGroupPolicy", e)))?;
            out.push(GrantedDocument {
                origin: format!("group {group} inline policy {name}"),
                document: document(p.policy_document(), &name)?,
            });
        }
        keep(&self.groups, group, out.clone(), &self.clock);
        Ok(out)
    }

    /// The server's own account, read once.
    async fn own_account(&self) -> Result<String, LookupError> {
        self.account
            .get_or_try_init(|| async {
                self.count();
                let out = self
                    .aws
                    .client::<aws_sdk_sts::Client>(None)
                    .await
                    .get_caller_identity()
                    .send()
                    .await
                    .map_err(|e| LookupError::Failed(aws_error("sts:GetCallerIdentity", e)))?;
                out.account()
                    .map(str::to_string)
                    .ok_or_else(|| failed("GetCallerIdentity named no account".into()))
            })
            .await
            .cloned()
    }

    /// The inline policy a `put_*_policy` call would replace (its `policy_name` on its
    /// `user_name` or `role_name`), as canonical JSON text; None when there is none.
    pub async fn replaced_inline(&self, args: &Value) -> Result<Option<String>, LookupError> {
        let Some(name) = args.get("policy_name").and_then(Value::as_str) else {
            return Ok(None);
        };
        let iam = self.aws.client::<aws_sdk_iam::Client>(None).await;
        let text = if let Some(user) = args.get("user_name").and_then(Value::as_str) {
            self.count();
            match iam
                .get_user_policy()
                .user_name(user)
                .policy_name(name)
                .send()
                .await
            {
                Ok(p) => p.policy_document().to_string(),
                Err(e) => return absent(aws_error("iam:GetUserPolicy", e)),
            }
        } else if let Some(role) = args.get("role_name").and_then(Value::as_str) {
            self.count();
            match iam
                .get_role_policy()
                .role_name(role)
                .policy_name(name)
                .send()
                .await
            {
                Ok(p) => p.policy_document().to_string(),
                Err(e) => return absent(aws_error("iam:GetRolePolicy", e)),
            }
        } else {
            return Ok(None);
        };
        Ok(Some(document(&text, name)?.to_string()))
    }

    /// A group's policies changed (a call attached, detached, put or deleted one).
    pub fn forget_group(&self, group: &str) {
        self.groups
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(group);
    }

    /// A call changed this resource: what is cached of it is stale (a group's documents).
    pub fn resource_changed(&self, at: &crate::resource::Located) {
        if at.kind == &super::resources::GROUP {
            self.forget_group(&at.name);
        }
    }

    fn lock_documents(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Value>> {
        self.documents.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn fresh<T: Clone>(cache: &Timed<T>, key: &str, ttl: Duration, clock: &Clock) -> Option<T> {
    let map = cache.lock().unwrap_or_else(|e| e.into_inner());
    map.get(key)
        .filter(|(when, _)| clock.since(*when) < ttl)
        .map(|(_, v)| v.clone())
}

fn keep<T>(cache: &Timed<T>, key: &str, value: T, clock: &Clock) {
    let mut map = cache.lock().unwrap_or_else(|e| e.into_inner());
    if map.len() >= MAX_CACHED {
        map.clear();
    }
    map.insert(key.to_string(), (clock.now(), value));
}

/// No such policy is no replacement; any other failure refuses.
fn absent(e: ToolError) -> Result<Option<String>, LookupError> {
    match LookupError::of(e) {
        LookupError::NotFound(_) => Ok(None),
        failed => Err(failed),
    }
}

fn failed(message: String) -> LookupError {
    LookupError::Failed(ToolError::Internal(message))
}

/// A document as IAM returns it: URL-encoded JSON (RFC 3986), or plain JSON from some fakes.
fn document(text: &str, what: &str) -> Result<Value, LookupError> {
    let decoded = percent_encoding::percent_decode_str(text).decode_utf8_lossy();
    crate::tools::iam::guard::parse_document(&decoded)
        .or_else(|_| crate::tools::iam::guard::parse_document(text))
        .map_err(|e| failed(format!("the document of {what} is not JSON: {e}")))
}
