//! The member-code key: 32 bytes that sign and verify members' dynamic QR
//! codes (`tongka_core::member_code`). Every node of a chain must hold the
//! same key, so that a code shown at any store verifies at every store
//! offline.
//!
//! - **A chain**: `tongka chain new` derives the key from the chain CA's
//!   private key ([`key_from_ca`]: `blake3::derive_key` with the context
//!   [`KEY_CONTEXT`] over the key's DER bytes) and writes it into each
//!   node's directory ([`KEY_FILE`], mode 0600, 64 hex digits);
//!   `tongka chain add-store` derives the same key from `ca.key` again, so
//!   a store added later verifies the others' codes. Deriving rather than
//!   drawing a random key once means nothing new must be kept beside the
//!   CA: whoever holds `ca.key` can give a node the key again. The
//!   derivation is one way: the member-code key reveals nothing of the CA
//!   key, and a node holds it without holding `ca.key`.
//! - **A node of no chain** (`tongka up`) draws a random key into its data
//!   directory the first time it starts ([`ensure_key`]) and keeps it.
//!
//! The key is never part of an API answer, a log line or an op.

use std::path::Path;

use rcgen::KeyPair;

use crate::error::{ConfigError, Result};
use crate::fsutil::{self, Access};

/// The key file, in a node's directory (chain) or data directory (no chain).
pub const KEY_FILE: &str = "member-code.key";

/// The BLAKE3 key-derivation context: globally unique, names its use and
/// version (a new derivation gets a new context).
pub const KEY_CONTEXT: &str = "tongka 2025-06 member code key v1";

/// The member-code key of the chain whose CA private key is `ca_key_pem`.
pub fn key_from_ca(ca_key_pem: &str, path: &Path) -> Result<[u8; 32]> {
    let key = KeyPair::from_pem(ca_key_pem).map_err(|source| ConfigError::CaLoad {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(blake3::derive_key(KEY_CONTEXT, key.serialized_der()))
}

/// Writes `key` to a new file at `path` (mode 0600), in hex.
pub fn write_key(path: &Path, key: &[u8; 32]) -> Result<()> {
    fsutil::write_new(
        path,
        format!("{}\n", hex::encode(key)).as_bytes(),
        Access::Private,
    )
}

/// Reads the key at `path`: 64 hex digits, whitespace around them ignored.
pub fn read_key(path: impl AsRef<Path>) -> Result<[u8; 32]> {
    let path = path.as_ref();
    let text = fsutil::read(path)?;
    let mut key = [0u8; 32];
    hex::decode_to_slice(text.trim(), &mut key).map_err(|_| ConfigError::MemberCodeKey {
        path: path.to_path_buf(),
    })?;
    Ok(key)
}

/// The key at `path`, drawn at random and written there (mode 0600) first
/// if the file does not exist.
pub fn ensure_key(path: impl AsRef<Path>) -> Result<[u8; 32]> {
    let path = path.as_ref();
    if path.exists() {
        return read_key(path);
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fsutil::create_dir_all(parent)?;
    }
    let key: [u8; 32] = rand::random();
    write_key(path, &key)?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ensure_draws_once_and_then_reads_the_same_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data").join(KEY_FILE);
        let first = ensure_key(&path).unwrap();
        assert_eq!(ensure_key(&path).unwrap(), first);
        assert_eq!(read_key(&path).unwrap(), first);
        let other = ensure_key(dir.path().join("other").join(KEY_FILE)).unwrap();
        assert_ne!(first, other);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_bad_key_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEY_FILE);
        std::fs::write(&path, "not hex").unwrap();
        let err = read_key(&path).unwrap_err();
        assert!(matches!(err, ConfigError::MemberCodeKey { .. }), "{err:?}");
        assert!(err.to_string().contains(KEY_FILE), "{err}");
        let missing = read_key(dir.path().join("none")).unwrap_err();
        assert!(matches!(missing, ConfigError::Read { .. }), "{missing:?}");
    }
}
