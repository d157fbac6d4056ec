//! Each caller acting in AWS as its own role: STS `AssumeRole` with the caller as
//! `SourceIdentity` and session tags, credentials cached per (role, caller[, tool]) and renewed
//! [`RENEW_BEFORE`] before they end. The gate asks [`AwsIdentities::for_call`] before a tool
//! runs; an STS failure refuses the call before any other AWS call is made.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;

use super::aws_roles::{
    AwsRolesFile, Choice, SessionPolicy, session_name, session_policy_for, session_tags,
    source_identity,
};
use crate::aws::{AwsClients, aws_error};
use crate::catalogue::ToolSpec;
use crate::error::ToolError;
use crate::policy::Caller;

/// Credentials are renewed when less than this is left of them.
pub const RENEW_BEFORE: Duration = Duration::from_secs(300);

/// At most this many assumed sessions are kept; the expired go first, then all.
const MAX_CACHED: usize = 4096;

/// One assumed role session, with clients that act as it.
#[derive(Debug)]
pub struct Assumed {
    /// The role configured for the caller.
    pub role_arn: String,
    /// What AWS calls the session (`arn:aws:sts::…:assumed-role/<role>/<session>`).
    pub assumed_arn: String,
    pub session_name: String,
    pub source_identity: String,
    /// The roles-file entry that chose the role.
    pub chosen_by: String,
    /// Clients with the SDK's retries, and with one attempt (non-idempotent mutations).
    pub clients: Arc<AwsClients>,
    pub once: Arc<AwsClients>,
    expires: SystemTime,
}

/// The AWS identity a call runs as.
#[derive(Debug, Clone)]
pub enum Acting {
    /// The server's own credentials.
    Server,
    Assumed(Arc<Assumed>),
}

/// Why a call has no AWS identity.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("the AWS roles file gives {principal} no AWS identity (default: refuse)")]
    NoRole { principal: String },
    #[error("could not assume {role_arn} for {principal}: {source}")]
    AssumeRole {
        role_arn: String,
        principal: String,
        #[source]
        source: ToolError,
    },
}

type Key = (String, String, String, &'static str);

/// The roles file and the sessions assumed under it.
pub struct AwsIdentities {
    file: AwsRolesFile,
    /// The server's own clients: STS is called with them.
    server: Arc<AwsClients>,
    cache: Mutex<HashMap<Key, Arc<Assumed>>>,
    /// One AssumeRole at a time (they are rare; this keeps a burst from assuming N times).
    assuming: tokio::sync::Mutex<()>,
    assumed: std::sync::atomic::AtomicU64,
    /// When cached credentials are near their end.
    clock: crate::clock::Clock,
}

impl AwsIdentities {
    pub fn new(file: AwsRolesFile, server: Arc<AwsClients>) -> Self {
        AwsIdentities {
            file,
            server,
            cache: Mutex::default(),
            assuming: tokio::sync::Mutex::new(()),
            assumed: Default::default(),
            clock: crate::clock::Clock::system(),
        }
    }

    /// Read credential lifetimes from this clock (tests step it).
    pub fn with_clock(mut self, clock: crate::clock::Clock) -> Self {
        self.clock = clock;
        self
    }

    /// How many AssumeRole calls succeeded (tests and metrics).
    pub fn assume_count(&self) -> u64 {
        self.assumed.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Arc<Assumed>>> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn cached(&self, key: &Key) -> Option<Arc<Assumed>> {
        let a = self.lock().get(key).cloned()?;
        let left = a
            .expires
            .duration_since(self.clock.wall())
            .unwrap_or_default();
        (left > RENEW_BEFORE).then_some(a)
    }

    /// The identity `caller` acts as for one call of `spec`. Tools that call no AWS API run as
    /// the server (they need no AWS identity).
    pub async fn for_call(
        &self,
        caller: &Caller,
        spec: &ToolSpec,
    ) -> Result<Acting, IdentityError> {
        let actions = spec.aws_actions();
        if actions.is_empty() {
            return Ok(Acting::Server);
        }
        let (role_arn, by) = match self.file.choose(caller) {
            Choice::Server => return Ok(Acting::Server),
            Choice::Refuse => {
                return Err(IdentityError::NoRole {
                    principal: caller.principal.clone(),
                });
            }
            Choice::Assume { role_arn, by } => (role_arn, by),
        };
        let per_tool = self.file.session_policy == SessionPolicy::PerTool;
        let key: Key = (
            role_arn.clone(),
            caller.principal.clone(),
            caller.roles.join("\n"),
            if per_tool { spec.name } else { "" },
        );
        if let Some(a) = self.cached(&key) {
            return Ok(Acting::Assumed(a));
        }
        let _one = self.assuming.lock().await;
        if let Some(a) = self.cached(&key) {
            return Ok(Acting::Assumed(a));
        }
        let policy = per_tool.then(|| session_policy_for(actions));
        let assumed = self
            .assume(caller, &role_arn, by, policy)
            .await
            .map_err(|source| IdentityError::AssumeRole {
                role_arn: role_arn.clone(),
                principal: caller.principal.clone(),
                source,
            })?;
        let assumed = Arc::new(assumed);
        let mut cache = self.lock();
        if cache.len() >= MAX_CACHED {
            let now = self.clock.wall();
            cache.retain(|_, a| a.expires > now);
            if cache.len() >= MAX_CACHED {
                cache.clear();
            }
        }
        cache.insert(key, assumed.clone());
        Ok(Acting::Assumed(assumed))
    }

    async fn assume(
        &self,
        caller: &Caller,
        role_arn: &str,
        chosen_by: String,
        policy: Option<String>,
    ) -> Result<Assumed, ToolError> {
        let session = session_name(&caller.principal);
        let source = source_identity(&caller.principal);
        let mut req = self
            .server
            .client::<aws_sdk_sts::Client>(None)
            .await
            .assume_role()
            .role_arn(role_arn)
            .role_session_name(&session)
            .source_identity(&source)
            .duration_seconds(self.file.duration_seconds as i32)
            .set_external_id(self.file.external_id.clone())
            .set_policy(policy);
        for (k, v) in session_tags(caller) {
            let tag = aws_sdk_sts::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| ToolError::Internal(e.to_string()))?;
            req = req.tags(tag);
        }
        let out = req
            .send()
            .await
            .map_err(|e| aws_error("sts:AssumeRole", e))?;
        let (Some(c), Some(user)) = (out.credentials(), out.assumed_role_user()) else {
            return Err(ToolError::Internal(
                "AssumeRole answered without credentials".into(),
            ));
        };
        let expires = SystemTime::try_from(*c.expiration())
            .unwrap_or_else(|_| self.clock.wall() + Duration::from_secs(900));
        let credentials = Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_string()),
            Some(expires),
            "guarded-aws-mcp-assume-role",
        );
        let clients = self.server.with_credentials(credentials.clone()).await;
        let once = clients.single_attempt();
        self.assumed
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::info!(role = role_arn, session = %session, principal = %caller.principal, "assumed an AWS role for a caller");
        Ok(Assumed {
            role_arn: role_arn.to_string(),
            assumed_arn: user.arn().to_string(),
            session_name: session,
            source_identity: source,
            chosen_by,
            clients: Arc::new(clients),
            once: Arc::new(once),
            expires,
        })
    }
}

/// STS (AssumeRole per caller, GetCallerIdentity): one client, in the default region.
impl crate::aws::AwsService for aws_sdk_sts::Client {
    const GLOBAL: bool = true;
    fn from_config(config: &aws_config::SdkConfig) -> Self {
        aws_sdk_sts::Client::new(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::AwsOptions;

    fn assumed(left: Duration) -> Arc<Assumed> {
        let clients = Arc::new(AwsClients::new(AwsOptions::default()));
        Arc::new(Assumed {
            role_arn: "arn:aws:iam::123456789012:role/r".into(),
            assumed_arn: "arn:aws:sts::123456789012:assumed-role/r/alice".into(),
            session_name: "alice".into(),
            source_identity: "alice".into(),
            chosen_by: "principals.alice".into(),
            clients: clients.clone(),
            once: clients,
            expires: SystemTime::now() + left,
        })
    }

    #[test]
    fn credentials_are_renewed_before_they_end() {
        let file = AwsRolesFile::parse("default: server\n", "r").unwrap();
        let ids = AwsIdentities::new(file, Arc::new(AwsClients::new(AwsOptions::default())));
        let key: Key = ("r".into(), "alice".into(), String::new(), "");
        let (clock, hand) = crate::clock::Clock::manual();
        let ids = ids.with_clock(clock);
        ids.lock()
            .insert(key.clone(), assumed(Duration::from_secs(3600)));
        assert!(ids.cached(&key).is_some(), "an hour left: used");
        hand.advance(Duration::from_secs(3600 - 240));
        assert!(
            ids.cached(&key).is_none(),
            "four minutes left: assumed again"
        );
    }
}
