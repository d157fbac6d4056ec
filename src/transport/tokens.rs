//! Bearer tokens for the HTTP transport. Each token maps to a principal and its roles. Only
//! SHA-256 hashes are stored; a presented token is hashed and compared with every entry in
//! constant time.
//!
//! File (YAML or JSON), or the same text in `GUARDED_AWS_MCP_TOKENS`:
//! ```yaml
//! tokens:
//!   - principal: alice
//!     roles: [ops]
//!     sha256: 5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8
//! ```
//! `guarded-aws-mcp tokens new --principal alice --role ops` makes a token and its entry.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::input::InputError;
use crate::policy::Caller;

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TokensFile {
    pub tokens: Vec<TokenEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenEntry {
    /// Who the token's holder is; policy rules match it as `principal`.
    pub principal: String,
    /// Roles; policy rules match them as `roles`.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Lower-case hex SHA-256 of the token.
    pub sha256: String,
}

/// The tokens in force, with their hashes decoded.
#[derive(Debug)]
pub struct Tokens {
    entries: Vec<([u8; 32], Caller)>,
}

/// Tokens shorter than this are refused when loading (and by `tokens new`, which makes 43).
pub const MIN_TOKEN_CHARS: usize = 16;

impl Tokens {
    /// Parse a tokens file's text; `source` names it in errors.
    pub fn parse(text: &str, source: &str) -> Result<Self, InputError> {
        crate::input::check_yaml(text, source)?;
        let file: TokensFile = serde_norway::from_str(text).map_err(|e| InputError::Format {
            file: source.to_string(),
            expected: "a tokens file",
            detail: e.to_string(),
        })?;
        let mut entries = Vec::new();
        for (i, e) in file.tokens.iter().enumerate() {
            let bytes = decode_hex(&e.sha256).ok_or_else(|| {
                InputError::invalid(
                    source,
                    format!("tokens[{i}].sha256"),
                    "must be 64 hex digits (the SHA-256 of the token, not the token)",
                )
            })?;
            crate::identity::principal::check(&e.principal).map_err(|why| {
                InputError::invalid(source, format!("tokens[{i}].principal"), why.to_string())
            })?;
            entries.push((bytes, Caller::new(e.principal.clone(), e.roles.clone())));
        }
        if entries.is_empty() {
            return Err(InputError::invalid(
                source,
                "tokens",
                "none; every HTTP request would be refused",
            ));
        }
        Ok(Tokens { entries })
    }

    /// The caller a presented token belongs to. Every entry is compared, in constant time.
    pub fn check(&self, token: &str) -> Option<Caller> {
        let presented: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let mut found = None;
        for (hash, caller) in &self.entries {
            if bool::from(hash.ct_eq(&presented)) && found.is_none() {
                found = Some(caller.clone());
            }
        }
        found
    }

    /// Every principal the file names.
    pub fn principals(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(_, c)| c.principal.as_str())
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The hex SHA-256 of a token, as the tokens file stores it.
pub fn hash(token: &str) -> String {
    crate::audit::sha256_hex(token.as_bytes())
}

/// A new random token (256 bits, URL-safe base64 without padding).
pub fn generate() -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(crate::state::random_key())
}

fn decode_hex(s: &str) -> Option<[u8; 32]> {
    let s = s.trim();
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, chunk) in s.as_bytes().chunks(2).enumerate() {
        let text = std::str::from_utf8(chunk).ok()?;
        out[i] = u8::from_str_radix(text, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn right_token_maps_to_its_principal_wrong_ones_to_none() {
        let a = generate();
        let b = generate();
        let text = format!(
            "tokens:\n  - principal: alice\n    roles: [ops, admin]\n    sha256: {}\n  - principal: bob\n    sha256: {}\n",
            hash(&a),
            hash(&b)
        );
        let t = Tokens::parse(&text, "t.yaml").unwrap();
        let alice = t.check(&a).unwrap();
        assert_eq!(alice.principal, "alice");
        assert_eq!(alice.roles, vec!["ops", "admin"]);
        assert_eq!(t.check(&b).unwrap().principal, "bob");
        assert!(t.check("").is_none());
        assert!(t.check(&hash(&a)).is_none(), "the hash is not the token");
        assert!(t.check(&a[..a.len() - 1]).is_none());
    }

    #[test]
    fn bad_files_are_refused_with_the_place() {
        let e =
            Tokens::parse("tokens:\n  - principal: a\n    sha256: secret\n", "t.yaml").unwrap_err();
        assert!(
            matches!(&e, InputError::Invalid { place, .. } if place == "tokens[0].sha256"),
            "{e}"
        );
        assert!(!e.to_string().contains("secret"), "{e}");
        assert!(Tokens::parse("tokens: []\n", "t.yaml").is_err());
        assert!(
            Tokens::parse(
                "tokens:\n  - principal: a\n    sha256: x\n    extra: 1\n",
                "t"
            )
            .is_err()
        );
    }
}
