//! The OAuth 2.1 resource server of `serve --http` (MCP authorization, protocol 2025-06-18 and
//! later): JWT access tokens from the team's identity provider, checked against the provider's
//! keys ([`super::jwks`]), its issuer, this server's resource URI as audience (RFC 8707),
//! `exp`/`nbf` with a small clock skew, and an algorithm allow-list (RS256, ES256, EdDSA: never
//! `none`, never an HMAC algorithm). The token's claims become the [`Caller`] the policy sees:
//! the principal from one claim, the roles from others. The token itself is never kept,
//! logged, or passed on.

use std::time::Duration;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde_json::{Map, Value};

use super::jwks::{KeyCache, KeySource, KeysError};
use crate::policy::{Caller, TokenFacts};

/// The signing algorithms accepted.
pub const ALGORITHMS: [Algorithm; 3] = [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA];

/// How the server checks identity-provider tokens.
#[derive(Debug, Clone)]
pub struct OAuthConfig {
    /// The token issuer (`iss`), e.g. `https://keycloak.example.com/realms/team`.
    pub issuer: String,
    /// This server's resource URI: tokens must name it in `aud`.
    pub audience: String,
    /// The JWKS URL; discovered from the issuer's metadata when None.
    pub jwks_url: Option<String>,
    /// The claim naming the principal (dotted for nested claims).
    pub principal_claim: String,
    /// Put before every principal from this provider (`idp:` makes `sub` alice the principal
    /// `idp:alice`), so that its principals and a tokens file's can never be the same caller.
    pub principal_prefix: String,
    /// Claims whose values are roles (arrays, or strings split on spaces).
    pub roles_claims: Vec<String>,
    /// A scope every token must carry (else 403 insufficient_scope).
    pub required_scope: Option<String>,
    /// Clock skew allowed on `exp` and `nbf`.
    pub leeway: Duration,
    /// An unknown key id fetches the key set again at most this often.
    pub refetch_interval: Duration,
    /// The clock the key set's age and the refetch interval are read from.
    pub clock: crate::clock::Clock,
}

impl OAuthConfig {
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        OAuthConfig {
            issuer: issuer.into(),
            audience: audience.into(),
            jwks_url: None,
            principal_claim: "sub".into(),
            principal_prefix: String::new(),
            roles_claims: vec!["roles".into()],
            required_scope: None,
            leeway: Duration::from_secs(30),
            refetch_interval: Duration::from_secs(10),
            clock: crate::clock::Clock::system(),
        }
    }
}

/// Why a token was refused. The text is safe to send back and to log: it never holds the
/// token or its claims.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TokenError {
    #[error("the bearer token is not a well-formed JWT")]
    Malformed,
    #[error("the token is signed with {0}; accepted: RS256, ES256, EdDSA")]
    Algorithm(String),
    #[error("the token's signing key is not in the identity provider's key set")]
    UnknownKey,
    #[error("the identity provider's keys are unavailable: {0}")]
    KeysUnavailable(crate::identity::jwks::FetchError),
    #[error("the token's signature does not verify")]
    Signature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token is for another audience (this server is {0})")]
    Audience(String),
    #[error("the token is from another issuer")]
    Issuer,
    #[error("the token lacks the {0} claim")]
    MissingClaim(String),
    #[error("the token lacks the scope {0}")]
    InsufficientScope(String),
    #[error("the token's principal claim is refused: {0}")]
    Principal(#[from] super::principal::PrincipalError),
    #[error(
        "the token's principal is also a principal of the tokens file; the server keeps the two apart (its operator can set --oauth-principal-prefix)"
    )]
    SharedPrincipal,
}

impl TokenError {
    /// A short label for metrics (bounded: one per variant).
    pub fn label(&self) -> &'static str {
        match self {
            TokenError::Malformed => "malformed",
            TokenError::Algorithm(_) => "algorithm",
            TokenError::UnknownKey => "unknown_key",
            TokenError::KeysUnavailable(_) => "keys_unavailable",
            TokenError::Signature => "signature",
            TokenError::Expired => "expired",
            TokenError::NotYetValid => "not_yet_valid",
            TokenError::Audience(_) => "audience",
            TokenError::Issuer => "issuer",
            TokenError::MissingClaim(_) => "missing_claim",
            TokenError::InsufficientScope(_) => "insufficient_scope",
            TokenError::Principal(_) => "principal",
            TokenError::SharedPrincipal => "shared_principal",
        }
    }

    /// The RFC 6750 error code.
    pub fn code(&self) -> &'static str {
        match self {
            TokenError::InsufficientScope(_) => "insufficient_scope",
            _ => "invalid_token",
        }
    }
}

/// An OAuth configuration the server cannot start with.
#[derive(Debug, thiserror::Error)]
pub enum OAuthConfigError {
    #[error("--oauth-issuer and --oauth-audience must not be empty")]
    Empty,
    #[error(transparent)]
    Keys(#[from] crate::identity::jwks::FetchError),
}

/// The resource server: configuration and the provider's keys.
pub struct OAuth {
    config: OAuthConfig,
    keys: KeyCache,
}

impl OAuth {
    pub fn new(config: OAuthConfig) -> Result<Self, OAuthConfigError> {
        if config.issuer.trim().is_empty() || config.audience.trim().is_empty() {
            return Err(OAuthConfigError::Empty);
        }
        let source = match &config.jwks_url {
            Some(u) => KeySource::Url(u.clone()),
            None => KeySource::Discover {
                issuer: config.issuer.clone(),
            },
        };
        let keys = KeyCache::new(source, config.refetch_interval, config.clock.clone())?;
        Ok(OAuth { config, keys })
    }

    pub fn config(&self) -> &OAuthConfig {
        &self.config
    }

    /// How many times the key set (or the issuer's metadata) was requested.
    pub fn key_fetches(&self) -> u64 {
        self.keys.fetches()
    }

    /// Check a presented token; the caller it names.
    pub async fn verify(&self, token: &str) -> Result<Caller, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
        if !ALGORITHMS.contains(&header.alg) {
            return Err(TokenError::Algorithm(format!("{:?}", header.alg)));
        }
        let keys = self
            .keys
            .keys_for(header.kid.as_deref(), header.alg)
            .await
            .map_err(|e| match e {
                KeysError::UnknownKey => TokenError::UnknownKey,
                KeysError::Unavailable(why) => TokenError::KeysUnavailable(why),
            })?;
        let mut validation = Validation::new(header.alg);
        // `exp` and `nbf` are checked below by the server's clock (injected: tests step it),
        // not the library's reading of the system time; `exp` must still be present.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.set_audience(&[&self.config.audience]);
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        let mut last = TokenError::Signature;
        for key in &keys {
            match jsonwebtoken::decode::<Map<String, Value>>(token, &key.key, &validation) {
                Ok(data) => {
                    times_hold(&data.claims, self.config.clock.unix(), self.config.leeway)?;
                    return self.caller(data.claims);
                }
                Err(e) => {
                    last = match e.kind() {
                        ErrorKind::InvalidSignature => TokenError::Signature,
                        ErrorKind::ExpiredSignature => TokenError::Expired,
                        ErrorKind::ImmatureSignature => TokenError::NotYetValid,
                        ErrorKind::InvalidAudience => {
                            TokenError::Audience(self.config.audience.clone())
                        }
                        ErrorKind::InvalidIssuer => TokenError::Issuer,
                        ErrorKind::MissingRequiredClaim(c) => TokenError::MissingClaim(c.clone()),
                        _ => TokenError::Malformed,
                    };
                    // Only a signature that does not verify is worth another key.
                    if last != TokenError::Signature {
                        return Err(last);
                    }
                }
            }
        }
        Err(last)
    }

    /// The caller a verified token's claims name.
    fn caller(&self, claims: Map<String, Value>) -> Result<Caller, TokenError> {
        let c = &self.config;
        // Exactly the claim: never trimmed or normalised into another principal.
        let claimed = claim(&claims, &c.principal_claim)
            .and_then(Value::as_str)
            .ok_or_else(|| TokenError::MissingClaim(c.principal_claim.clone()))?;
        super::principal::check(claimed)?;
        let principal = format!("{}{claimed}", c.principal_prefix);
        if let Some(scope) = &c.required_scope
            && !scopes(&claims).iter().any(|s| s == scope)
        {
            return Err(TokenError::InsufficientScope(scope.clone()));
        }
        let mut roles: Vec<String> = Vec::new();
        for name in &c.roles_claims {
            for r in words(claim(&claims, name)) {
                if !roles.contains(&r) {
                    roles.push(r);
                }
            }
        }
        let facts = TokenFacts {
            issuer: claims
                .get("iss")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            id: claims
                .get("jti")
                .and_then(Value::as_str)
                .map(str::to_string),
            claims,
        };
        Ok(Caller::new(principal, roles).with_token(facts))
    }

    /// RFC 9728 protected resource metadata.
    pub fn metadata(&self) -> Value {
        let mut m = serde_json::json!({
            "resource": self.config.audience,
            "authorization_servers": [self.config.issuer],
            "bearer_methods_supported": ["header"],
            "resource_name": "guarded-aws-mcp",
        });
        if let Some(s) = &self.config.required_scope {
            m["scopes_supported"] = serde_json::json!([s]);
        }
        m
    }

    /// Where the metadata is served for this resource (RFC 9728 §3.1: the well-known part is
    /// put between the host and the resource's path).
    pub fn metadata_url(&self) -> String {
        metadata_url(&self.config.audience)
    }
}

/// The RFC 9728 metadata URL of a resource URI.
pub fn metadata_url(resource: &str) -> String {
    match reqwest::Url::parse(resource) {
        Ok(u) if u.has_host() => {
            let path = u.path().trim_end_matches('/');
            format!(
                "{}/.well-known/oauth-protected-resource{path}",
                u.origin().ascii_serialization()
            )
        }
        _ => "/.well-known/oauth-protected-resource".to_string(),
    }
}

/// A claim by dotted path (`realm_access.roles`); a claim whose own name has a dot or a colon
/// (`cognito:groups`) is found by its whole name first.
fn claim<'a>(claims: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    if let Some(v) = claims.get(path) {
        return Some(v);
    }
    let mut parts = path.split('.');
    let mut v = claims.get(parts.next()?)?;
    for p in parts {
        v = v.get(p)?;
    }
    Some(v)
}

/// Role names in a claim: an array of strings, or one string of space-separated words.
fn words(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => s.split_whitespace().map(str::to_string).collect(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

/// The token's scopes: `scope` (RFC 8693, space-separated) and `scp` (Entra ID, Okta).
fn scopes(claims: &Map<String, Value>) -> Vec<String> {
    let mut s = words(claims.get("scope"));
    s.extend(words(claims.get("scp")));
    s
}

/// A verified token's validity period against `now` (Unix seconds), with `leeway` of clock
/// skew either way: expired once `exp` is more than the leeway past, not yet valid while `nbf`
/// is more than the leeway ahead. A time that is not a number is a malformed token.
fn times_hold(claims: &Map<String, Value>, now: i64, leeway: Duration) -> Result<(), TokenError> {
    let leeway = i64::try_from(leeway.as_secs()).unwrap_or(i64::MAX);
    let time = |name: &str| -> Result<Option<i64>, TokenError> {
        match claims.get(name) {
            None => Ok(None),
            Some(v) => v
                .as_i64()
                .or_else(|| {
                    v.as_f64()
                        .filter(|f| f.is_finite())
                        .map(|f| f.floor() as i64)
                })
                .map(Some)
                .ok_or(TokenError::Malformed),
        }
    };
    let exp = time("exp")?.ok_or_else(|| TokenError::MissingClaim("exp".into()))?;
    if exp.saturating_add(leeway) < now {
        return Err(TokenError::Expired);
    }
    if let Some(nbf) = time("nbf")?
        && nbf.saturating_sub(leeway) > now
    {
        return Err(TokenError::NotYetValid);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn validity_is_read_by_the_injected_clock_with_leeway() {
        let (clock, hand) = crate::clock::Clock::manual();
        let now = || clock.unix();
        let leeway = Duration::from_secs(30);
        let t = claims(json!({"exp": now() + 60, "nbf": now() + 20}));
        // nbf 20 s ahead is inside the leeway; exp a minute ahead.
        assert_eq!(times_hold(&t, now(), leeway), Ok(()));
        hand.advance(Duration::from_secs(89));
        assert_eq!(times_hold(&t, now(), leeway), Ok(()), "within the leeway");
        hand.advance(Duration::from_secs(2));
        assert_eq!(times_hold(&t, now(), leeway), Err(TokenError::Expired));
        let early = claims(json!({"exp": now() + 600, "nbf": now() + 31}));
        assert_eq!(
            times_hold(&early, now(), leeway),
            Err(TokenError::NotYetValid)
        );
        hand.advance(Duration::from_secs(1));
        assert_eq!(times_hold(&early, now(), leeway), Ok(()));
        let odd = claims(json!({"exp": "tomorrow"}));
        assert_eq!(times_hold(&odd, now(), leeway), Err(TokenError::Malformed));
        let float = claims(json!({"exp": (now() + 10) as f64 + 0.5}));
        assert_eq!(times_hold(&float, now(), leeway), Ok(()));
        assert_eq!(
            times_hold(&claims(json!({})), now(), leeway),
            Err(TokenError::MissingClaim("exp".into()))
        );
    }

    fn server(required_scope: Option<&str>, roles: &[&str]) -> OAuth {
        let mut c = OAuthConfig::new("https://idp.test", "https://mcp.test/mcp");
        c.jwks_url = Some("http://127.0.0.1:9/jwks".into());
        c.required_scope = required_scope.map(str::to_string);
        c.roles_claims = roles.iter().map(|r| r.to_string()).collect();
        OAuth::new(c).unwrap()
    }

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn claims_map_to_principal_and_roles_as_the_providers_spell_them() {
        let keycloak = server(None, &["realm_access.roles", "scope"]);
        let c = keycloak
            .caller(claims(
                json!({"sub": "u-1", "iss": "https://idp.test", "jti": "j1",
                "realm_access": {"roles": ["ops", "dev"]}, "scope": "openid mcp dev"}),
            ))
            .unwrap();
        assert_eq!(c.principal, "u-1");
        assert_eq!(c.roles, vec!["ops", "dev", "openid", "mcp"]);
        let t = c.token.as_ref().unwrap();
        assert_eq!(
            (t.issuer.as_str(), t.id.as_deref()),
            ("https://idp.test", Some("j1"))
        );

        let cognito = server(None, &["cognito:groups"]);
        let c = cognito
            .caller(claims(json!({"sub": "x", "cognito:groups": ["admins"]})))
            .unwrap();
        assert_eq!(c.roles, vec!["admins"]);

        let mut entra = server(None, &["roles"]);
        entra.config.principal_claim = "preferred_username".into();
        let c = entra
            .caller(claims(
                json!({"sub": "x", "preferred_username": "alice@example.com",
                "roles": ["Ops.Admin"]}),
            ))
            .unwrap();
        assert_eq!(
            (c.principal.as_str(), c.roles.clone()),
            ("alice@example.com", vec!["Ops.Admin".to_string()])
        );
        assert_eq!(
            entra.caller(claims(json!({"sub": "x"}))).unwrap_err(),
            TokenError::MissingClaim("preferred_username".into())
        );
    }

    #[test]
    fn a_required_scope_is_read_from_scope_or_scp() {
        let s = server(Some("mcp:tools"), &[]);
        assert!(
            s.caller(claims(json!({"sub": "a", "scope": "openid mcp:tools"})))
                .is_ok()
        );
        assert!(
            s.caller(claims(json!({"sub": "a", "scp": ["mcp:tools"]})))
                .is_ok()
        );
        let e = s
            .caller(claims(json!({"sub": "a", "scope": "openid"})))
            .unwrap_err();
        assert_eq!(e.code(), "insufficient_scope");
    }

    #[test]
    fn metadata_url_puts_the_well_known_part_before_the_path() {
        assert_eq!(
            metadata_url("https://mcp.example.com/mcp"),
            "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
        );
        assert_eq!(
            metadata_url("http://127.0.0.1:8080/"),
            "http://127.0.0.1:8080/.well-known/oauth-protected-resource"
        );
        let m = server(Some("mcp"), &[]).metadata();
        assert_eq!(m["resource"], "https://mcp.test/mcp");
        assert_eq!(m["authorization_servers"], json!(["https://idp.test"]));
        assert_eq!(m["scopes_supported"], json!(["mcp"]));
    }

    #[tokio::test]
    async fn tokens_with_forbidden_algorithms_are_refused_before_any_key_is_sought() {
        use base64::Engine as _;
        let b64 = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let s = server(None, &[]);
        let body = b64(
            json!({"sub": "a", "iss": "https://idp.test", "aud": "https://mcp.test/mcp", "exp": 4102444800u64}),
        );
        let none = format!("{}.{body}.", b64(json!({"alg": "none", "typ": "JWT"})));
        assert_eq!(s.verify(&none).await.unwrap_err(), TokenError::Malformed);
        let hs = format!("{}.{body}.c2ln", b64(json!({"alg": "HS256", "typ": "JWT"})));
        assert_eq!(
            s.verify(&hs).await.unwrap_err(),
            TokenError::Algorithm("HS256".into())
        );
        assert_eq!(
            s.verify("not a jwt").await.unwrap_err(),
            TokenError::Malformed
        );
        assert_eq!(s.key_fetches(), 0);
    }
}
