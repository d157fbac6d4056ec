//! The identity provider's signing keys: found from `--oauth-jwks-url` or the issuer's metadata
//! (`/.well-known/openid-configuration`, else RFC 8414's `oauth-authorization-server`), fetched
//! on first use and kept. A token signed by a key the cache does not hold makes the cache
//! fetch the key set again, at most once per refetch interval (so key rotation needs no
//! restart, and a flood of made-up key ids costs the provider one request per interval). A
//! key set older than [`MAX_AGE`] is fetched again on next use. When the provider cannot be
//! reached, the keys already held keep working.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::clock::Clock;

use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey};

/// A key set is fetched again when it is older than this (revoked keys go away).
pub const MAX_AGE: Duration = Duration::from_secs(3600);

/// Where the keys come from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// A JWKS URL given by the operator.
    Url(String),
    /// Found from the issuer's metadata.
    Discover { issuer: String },
}

/// One verification key.
#[derive(Clone)]
pub struct Key {
    pub kid: Option<String>,
    /// The algorithm the key set names for the key, when it names one.
    pub alg: Option<Algorithm>,
    pub key: DecodingKey,
}

impl Key {
    /// Whether this key may verify a token signed with `alg`.
    pub fn fits(&self, alg: Algorithm) -> bool {
        self.key.family() == family(alg) && self.alg.is_none_or(|a| a == alg)
    }
}

/// The key family an algorithm needs.
fn family(alg: Algorithm) -> jsonwebtoken::AlgorithmFamily {
    use jsonwebtoken::AlgorithmFamily as F;
    [F::Hmac, F::Rsa, F::Ec, F::Ed]
        .into_iter()
        .find(|f| f.algorithms().contains(&alg))
        .unwrap_or(F::Hmac)
}

#[derive(Default)]
struct Held {
    keys: Vec<Key>,
    fetched: Option<Instant>,
}

/// Why no key could be had.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum KeysError {
    #[error("the token's signing key is not in the identity provider's key set")]
    UnknownKey,
    #[error("the identity provider's keys cannot be fetched: {0}")]
    Unavailable(FetchError),
}

/// Why the key set (or the issuer's metadata) could not be fetched. URLs are the configured
/// issuer's or what its metadata names: never a secret.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FetchError {
    #[error("the last attempt failed; retrying later")]
    Backoff,
    #[error("cannot build the HTTP client for the key set: {0}")]
    Client(String),
    #[error("no key set URL")]
    NoUrl,
    #[error("{url}: {detail}")]
    Request { url: String, detail: String },
    #[error("{url}: HTTP {status}")]
    Status {
        url: String,
        status: reqwest::StatusCode,
    },
    #[error("{url}: answer larger than 1 MiB")]
    TooLarge { url: String },
    #[error("{url}: not the expected JSON: {detail}")]
    NotJson { url: String, detail: String },
    #[error("{url} names issuer {claimed:?}, not the configured {configured:?}")]
    WrongIssuer {
        url: String,
        claimed: String,
        configured: String,
    },
    #[error("{url} has no jwks_uri")]
    NoJwksUri { url: String },
}

/// The cached key set of one identity provider.
pub struct KeyCache {
    source: KeySource,
    http: reqwest::Client,
    refetch_interval: Duration,
    held: RwLock<Arc<Held>>,
    /// One fetch at a time; holds the time of the last attempt and the JWKS URL once known.
    fetching: tokio::sync::Mutex<(Option<Instant>, Option<String>)>,
    fetches: std::sync::atomic::AtomicU64,
    clock: Clock,
}

impl KeyCache {
    pub fn new(
        source: KeySource,
        refetch_interval: Duration,
        clock: Clock,
    ) -> Result<Self, FetchError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| FetchError::Client(e.to_string()))?;
        let known = match &source {
            KeySource::Url(u) => Some(u.clone()),
            KeySource::Discover { .. } => None,
        };
        Ok(KeyCache {
            source,
            http,
            refetch_interval,
            held: RwLock::default(),
            fetching: tokio::sync::Mutex::new((None, known)),
            fetches: Default::default(),
            clock,
        })
    }

    /// How many times the key set was requested (for tests and metrics).
    pub fn fetches(&self) -> u64 {
        self.fetches.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn held(&self) -> Arc<Held> {
        self.held.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The keys that may verify a token with this key id and algorithm. Fetches the key set
    /// when it was never fetched, is old, or lacks the key (at most once per interval).
    pub async fn keys_for(&self, kid: Option<&str>, alg: Algorithm) -> Result<Vec<Key>, KeysError> {
        let held = self.held();
        let found = matching(&held.keys, kid, alg);
        let fresh = held.fetched.is_some_and(|t| self.clock.since(t) < MAX_AGE);
        if !found.is_empty() && fresh {
            return Ok(found);
        }
        let mut fetching = self.fetching.lock().await;
        // Another call may have fetched while this one waited.
        let held = self.held();
        let found = matching(&held.keys, kid, alg);
        let fresh = held.fetched.is_some_and(|t| self.clock.since(t) < MAX_AGE);
        if !found.is_empty() && fresh {
            return Ok(found);
        }
        let recently = fetching
            .0
            .is_some_and(|t| self.clock.since(t) < self.refetch_interval);
        if recently {
            // Keys held (even old ones) still verify; an unknown key waits for the interval.
            return if found.is_empty() {
                Err(if held.fetched.is_some() {
                    KeysError::UnknownKey
                } else {
                    KeysError::Unavailable(FetchError::Backoff)
                })
            } else {
                Ok(found)
            };
        }
        fetching.0 = Some(self.clock.now());
        match self.fetch(&mut fetching.1).await {
            Ok(keys) => {
                tracing::info!(keys = keys.len(), "fetched the identity provider's key set");
                let now = Arc::new(Held {
                    keys,
                    fetched: Some(self.clock.now()),
                });
                *self.held.write().unwrap_or_else(|e| e.into_inner()) = now.clone();
                let found = matching(&now.keys, kid, alg);
                if found.is_empty() {
                    Err(KeysError::UnknownKey)
                } else {
                    Ok(found)
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot fetch the identity provider's key set");
                if found.is_empty() {
                    Err(KeysError::Unavailable(e))
                } else {
                    Ok(found)
                }
            }
        }
    }

    async fn fetch(&self, jwks_url: &mut Option<String>) -> Result<Vec<Key>, FetchError> {
        let url = match jwks_url {
            Some(u) => u.clone(),
            None => {
                let KeySource::Discover { issuer } = &self.source else {
                    return Err(FetchError::NoUrl);
                };
                let u = self.discover(issuer).await?;
                *jwks_url = Some(u.clone());
                u
            }
        };
        let set: JwkSet = self.get_json(&url).await?;
        Ok(usable_keys(&set))
    }

    /// The `jwks_uri` of the issuer's metadata (OpenID Connect discovery, else RFC 8414).
    async fn discover(&self, issuer: &str) -> Result<String, FetchError> {
        let mut last = FetchError::NoUrl;
        for url in metadata_urls(issuer) {
            match self.get_json::<serde_json::Value>(&url).await {
                Ok(meta) => {
                    let claimed = meta.get("issuer").and_then(|v| v.as_str()).unwrap_or("");
                    if claimed.trim_end_matches('/') != issuer.trim_end_matches('/') {
                        return Err(FetchError::WrongIssuer {
                            url,
                            claimed: claimed.to_string(),
                            configured: issuer.to_string(),
                        });
                    }
                    return meta
                        .get("jwks_uri")
                        .and_then(|v| v.as_str())
                        .map(str::to_string)
                        .ok_or(FetchError::NoJwksUri { url });
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, FetchError> {
        let request = |e: reqwest::Error| FetchError::Request {
            url: url.to_string(),
            detail: without_url(&e),
        };
        self.fetches
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let response = self
            .http
            .get(url)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(request)?;
        let status = response.status();
        if !status.is_success() {
            return Err(FetchError::Status {
                url: url.to_string(),
                status,
            });
        }
        // Key sets and metadata are small; a huge answer is not read whole.
        let bytes = response.bytes().await.map_err(request)?;
        if bytes.len() > 1 << 20 {
            return Err(FetchError::TooLarge {
                url: url.to_string(),
            });
        }
        serde_json::from_slice(&bytes).map_err(|e| FetchError::NotJson {
            url: url.to_string(),
            detail: e.to_string(),
        })
    }
}

fn without_url(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    if let Some(u) = e.url() {
        s = s.replace(&format!(" ({u})"), "").replace(u.as_str(), "");
    }
    s
}

/// Where the issuer's metadata may be: OpenID Connect discovery first, then RFC 8414 (which
/// puts the issuer's path after the well-known part).
pub fn metadata_urls(issuer: &str) -> Vec<String> {
    let issuer = issuer.trim_end_matches('/');
    let mut urls = vec![format!("{issuer}/.well-known/openid-configuration")];
    if let Ok(u) = reqwest::Url::parse(issuer) {
        let origin = u.origin().ascii_serialization();
        let path = u.path().trim_end_matches('/');
        urls.push(format!(
            "{origin}/.well-known/oauth-authorization-server{path}"
        ));
    }
    urls
}

/// The keys of a set this server may verify with: RSA, EC and OKP keys meant for signatures.
/// Symmetric (`oct`) keys are left out, so a token can never be checked with an HMAC secret.
pub fn usable_keys(set: &JwkSet) -> Vec<Key> {
    set.keys
        .iter()
        .filter(|k| !matches!(k.algorithm, AlgorithmParameters::OctetKey(_)))
        .filter(|k| {
            !matches!(
                k.common.public_key_use,
                Some(jsonwebtoken::jwk::PublicKeyUse::Encryption)
            )
        })
        .filter_map(|k| {
            let alg = key_algorithm(k)?;
            let key = DecodingKey::from_jwk(k).ok()?;
            Some(Key {
                kid: k.common.key_id.clone(),
                alg,
                key,
            })
        })
        .collect()
}

/// The signing algorithm a JWK names: Some(None) when it names none, None when it names one
/// this server does not verify with (the key is then not used).
fn key_algorithm(k: &Jwk) -> Option<Option<Algorithm>> {
    let Some(a) = k.common.key_algorithm else {
        return Some(None);
    };
    let alg = match a {
        KeyAlgorithm::RS256 => Algorithm::RS256,
        KeyAlgorithm::ES256 => Algorithm::ES256,
        KeyAlgorithm::EdDSA => Algorithm::EdDSA,
        _ => return None,
    };
    Some(Some(alg))
}

fn matching(keys: &[Key], kid: Option<&str>, alg: Algorithm) -> Vec<Key> {
    keys.iter()
        .filter(|k| k.fits(alg))
        .filter(|k| match kid {
            Some(kid) => k.kid.as_deref() == Some(kid),
            None => true,
        })
        .cloned()
        .collect()
}

/// Keys by id, for tests that hand-build a cache's content.
#[cfg(test)]
pub(crate) fn by_kid(keys: &[Key]) -> std::collections::HashMap<String, usize> {
    keys.iter()
        .enumerate()
        .filter_map(|(i, k)| k.kid.clone().map(|id| (id, i)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::{Arc, Mutex};

    /// A key-set server on loopback: serves `keys` (while `up`), counts requests.
    struct KeyServer {
        url: String,
        keys: Arc<Mutex<String>>,
        up: Arc<AtomicBool>,
        hits: Arc<AtomicU64>,
    }

    fn key_server() -> KeyServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/jwks", listener.local_addr().unwrap());
        let keys = Arc::new(Mutex::new(String::from(r#"{"keys": []}"#)));
        let up = Arc::new(AtomicBool::new(true));
        let hits = Arc::new(AtomicU64::new(0));
        let (k, u, h) = (keys.clone(), up.clone(), hits.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                let mut buf = [0u8; 4096];
                let _ = conn.read(&mut buf);
                h.fetch_add(1, Ordering::SeqCst);
                let (status, body) = if u.load(Ordering::SeqCst) {
                    ("200 OK", k.lock().unwrap().clone())
                } else {
                    ("503 Service Unavailable", String::new())
                };
                let _ = write!(
                    conn,
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        KeyServer {
            url,
            keys,
            up,
            hits,
        }
    }

    fn ed25519(kid: &str) -> String {
        format!(
            r#"{{"kty": "OKP", "crv": "Ed25519", "kid": "{kid}", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}}"#
        )
    }

    /// Rotation, throttling and an outage, by the cache's clock: an unknown key id fetches at
    /// most once per refetch interval, a rotated key is found once the interval has passed,
    /// and with the provider down the keys held still verify while an unknown one is refused
    /// as unavailable. The test steps the clock; nothing sleeps.
    #[tokio::test]
    async fn the_refetch_interval_is_read_from_the_clock() {
        let server = key_server();
        *server.keys.lock().unwrap() = format!(r#"{{"keys": [{}]}}"#, ed25519("k1"));
        let (clock, hand) = crate::clock::Clock::manual();
        let interval = Duration::from_secs(10);
        let cache = KeyCache::new(KeySource::Url(server.url.clone()), interval, clock).unwrap();
        let hits = || server.hits.load(Ordering::SeqCst);
        let found = |kid: &'static str| cache.keys_for(Some(kid), Algorithm::EdDSA);

        assert_eq!(found("k1").await.unwrap().len(), 1);
        assert_eq!(hits(), 1);
        *server.keys.lock().unwrap() =
            format!(r#"{{"keys": [{}, {}]}}"#, ed25519("k1"), ed25519("k2"));
        assert_eq!(
            found("k2").await.err(),
            Some(KeysError::UnknownKey),
            "within the interval the rotated key is not fetched"
        );
        assert_eq!(hits(), 1);
        hand.advance(interval);
        assert_eq!(found("k2").await.unwrap().len(), 1);
        assert_eq!(hits(), 2, "one fetch once the interval passed");
        assert!(found("k9").await.is_err());
        assert_eq!(
            hits(),
            2,
            "an unknown key id within the interval fetches nothing"
        );

        server.up.store(false, Ordering::SeqCst);
        hand.advance(interval);
        assert!(
            matches!(
                found("k9").await,
                Err(KeysError::Unavailable(FetchError::Status { .. }))
            ),
            "an unknown key with the provider down"
        );
        assert_eq!(hits(), 3);
        assert_eq!(
            found("k2").await.unwrap().len(),
            1,
            "held keys verify while the provider is down"
        );
    }

    #[test]
    fn metadata_urls_follow_oidc_then_rfc8414() {
        assert_eq!(
            metadata_urls("https://idp.example.com/realms/team/"),
            vec![
                "https://idp.example.com/realms/team/.well-known/openid-configuration",
                "https://idp.example.com/.well-known/oauth-authorization-server/realms/team",
            ]
        );
    }

    #[test]
    fn symmetric_and_encryption_keys_are_never_used() {
        let set: JwkSet = serde_json::from_value(serde_json::json!({"keys": [
            {"kty": "oct", "kid": "h", "k": "c2VjcmV0"},
            {"kty": "OKP", "crv": "Ed25519", "kid": "enc", "use": "enc",
             "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
            {"kty": "OKP", "crv": "Ed25519", "kid": "sig", "alg": "EdDSA",
             "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
            {"kty": "OKP", "crv": "Ed25519", "kid": "hs", "alg": "HS256",
             "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
        ]}))
        .unwrap();
        let keys = usable_keys(&set);
        let ids = by_kid(&keys);
        assert_eq!(ids.len(), 1, "only the signing key: {:?}", ids.keys());
        assert!(ids.contains_key("sig"));
        assert!(matching(&keys, Some("sig"), Algorithm::EdDSA).len() == 1);
        assert!(matching(&keys, Some("sig"), Algorithm::ES256).is_empty());
        assert!(matching(&keys, Some("h"), Algorithm::HS256).is_empty());
    }
}
