//! Ed25519 keys for signed audit checkpoints (aws-lc-rs does the cryptography). The private
//! key is a PKCS#8 document in a PEM file (`guarded-aws-mcp audit keygen`, mode 0600); the
//! public key is its 32 bytes in base64 on one line, beside it as `FILE.pub`.

use std::io::Write;
use std::path::{Path, PathBuf};

use aws_lc_rs::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

const PEM_BEGIN: &str = "-----BEGIN PRIVATE KEY-----";
const PEM_END: &str = "-----END PRIVATE KEY-----";

/// A key file that cannot be used; never shows the key.
#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    #[error("{path}: cannot be read: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: cannot be written: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "{path}: not an Ed25519 private key (a PEM `PRIVATE KEY` holding PKCS#8, as `guarded-aws-mcp audit keygen` writes)"
    )]
    NotAPrivateKey { path: String },
    #[error(
        "{path}: not an Ed25519 public key (32 bytes in base64, as `guarded-aws-mcp audit keygen` writes to FILE.pub)"
    )]
    NotAPublicKey { path: String },
    #[error("{path} exists; keygen does not overwrite a key")]
    Exists { path: String },
    #[error("the system's random number generator failed")]
    Random,
}

/// The short name of a public key in checkpoints: the first 16 hex digits of its SHA-256.
fn key_id(public: &[u8]) -> String {
    let mut id = super::sha256_hex(public);
    id.truncate(16);
    id
}

/// Signs checkpoints.
pub struct Signer {
    pair: Ed25519KeyPair,
    id: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signer({})", self.id)
    }
}

impl Signer {
    /// Read a private key file.
    pub fn load(path: &Path) -> Result<Signer, SigningError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| SigningError::Read {
            path: shown.clone(),
            source,
        })?;
        let body: String = text
            .lines()
            .map(str::trim)
            .skip_while(|l| *l != PEM_BEGIN)
            .skip(1)
            .take_while(|l| *l != PEM_END)
            .collect();
        let bad = || SigningError::NotAPrivateKey {
            path: shown.clone(),
        };
        let der = STANDARD.decode(body.as_bytes()).map_err(|_| bad())?;
        let pair = Ed25519KeyPair::from_pkcs8(&der).map_err(|_| bad())?;
        let id = key_id(pair.public_key().as_ref());
        Ok(Signer { pair, id })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// The signature of `message`, in base64.
    pub fn sign(&self, message: &[u8]) -> String {
        STANDARD.encode(self.pair.sign(message).as_ref())
    }
}

/// Checks checkpoint signatures.
#[derive(Debug, Clone)]
pub struct PublicKey {
    key: Vec<u8>,
    id: String,
}

impl PublicKey {
    pub fn load(path: &Path) -> Result<PublicKey, SigningError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| SigningError::Read {
            path: shown.clone(),
            source,
        })?;
        let key = STANDARD
            .decode(text.trim().as_bytes())
            .ok()
            .filter(|k| k.len() == 32)
            .ok_or(SigningError::NotAPublicKey { path: shown })?;
        Ok(PublicKey {
            id: key_id(&key),
            key,
        })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Whether `signature` (base64) is this key's signature of `message`.
    pub fn verifies(&self, message: &[u8], signature: &str) -> bool {
        let Ok(sig) = STANDARD.decode(signature.as_bytes()) else {
            return false;
        };
        UnparsedPublicKey::new(&ED25519, &self.key)
            .verify(message, &sig)
            .is_ok()
    }
}

/// Write a new key pair: the private key to `out` (mode 0600, never over an existing file)
/// and the public key to `out.pub`; the public key's path.
pub fn keygen(out: &Path) -> Result<PathBuf, SigningError> {
    let public_path = PathBuf::from(format!("{}.pub", out.display()));
    for p in [out, public_path.as_path()] {
        if p.exists() {
            return Err(SigningError::Exists {
                path: p.display().to_string(),
            });
        }
    }
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let doc = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| SigningError::Random)?;
    let pair = Ed25519KeyPair::from_pkcs8(doc.as_ref()).map_err(|_| SigningError::Random)?;
    let encoded = STANDARD.encode(doc.as_ref());
    let mut pem = format!("{PEM_BEGIN}\n");
    for chunk in encoded.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(chunk));
        pem.push('\n');
    }
    pem.push_str(PEM_END);
    pem.push('\n');
    let write = |path: &Path, text: &str, private: bool| {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        if private {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        #[cfg(not(unix))]
        let _ = private;
        options
            .open(path)
            .and_then(|mut f| f.write_all(text.as_bytes()))
            .map_err(|source| SigningError::Write {
                path: path.display().to_string(),
                source,
            })
    };
    write(out, &pem, true)?;
    write(
        &public_path,
        &format!("{}\n", STANDARD.encode(pair.public_key().as_ref())),
        false,
    )?;
    Ok(public_path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_signs_and_its_public_key_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("audit.key");
        let public = keygen(&key).unwrap();
        let signer = Signer::load(&key).unwrap();
        let verifier = PublicKey::load(&public).unwrap();
        assert_eq!(signer.id(), verifier.id());
        let sig = signer.sign(b"checkpoint");
        assert!(verifier.verifies(b"checkpoint", &sig));
        assert!(!verifier.verifies(b"checkpoinT", &sig));
        assert!(!verifier.verifies(b"checkpoint", "not base64!"));
        // Never overwritten; the private key is not readable by others.
        assert!(matches!(keygen(&key), Err(SigningError::Exists { .. })));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&key).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "{mode:o}");
        }
        // The public key is not a private key, and errors do not show key material.
        let e = Signer::load(&public).unwrap_err().to_string();
        assert!(e.contains("not an Ed25519 private key"), "{e}");
        let other = dir.path().join("other.key");
        let other_public = keygen(&other).unwrap();
        let stranger = PublicKey::load(&other_public).unwrap();
        assert!(!stranger.verifies(b"checkpoint", &sig));
    }
}
