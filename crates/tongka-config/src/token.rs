//! The admin bearer token: a file holding one random secret that every API
//! request but `/health` must present (`Authorization: Bearer <token>`).

use std::path::Path;

use crate::error::{ConfigError, Result};
use crate::fsutil::{self, Access};

/// Shortest token accepted from a file.
pub const MIN_TOKEN_LEN: usize = 32;

/// Random bytes in a generated token (hex-encoded: 64 characters).
const TOKEN_BYTES: usize = 32;

/// Reads the admin token from `path`: the file's contents, trimmed. It must
/// be at least [`MIN_TOKEN_LEN`] characters of visible ASCII.
pub fn read_token(path: impl AsRef<Path>) -> Result<String> {
    let path = path.as_ref();
    let text = fsutil::read(path)?;
    check_token(path, text.trim())
}

/// Returns the admin token in `path`, creating the file (and its parent
/// directories) with a new random token if it does not exist. A new token is
/// 32 random bytes in hex; the file gets mode 0600 on unix. An existing
/// file is read as by [`read_token`].
pub fn ensure_token(path: impl AsRef<Path>) -> Result<String> {
    let path = path.as_ref();
    if path.exists() {
        return read_token(path);
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fsutil::create_dir_all(parent)?;
    }
    let token = hex::encode(rand::random::<[u8; TOKEN_BYTES]>());
    match fsutil::write_new(path, format!("{token}\n").as_bytes(), Access::Private) {
        Ok(()) => Ok(token),
        // Someone else created it between our check and our write: theirs wins.
        Err(ConfigError::WouldOverwrite { .. }) => read_token(path),
        Err(e) => Err(e),
    }
}

fn check_token(path: &Path, token: &str) -> Result<String> {
    let path = || path.to_path_buf();
    if token.is_empty() {
        return Err(ConfigError::TokenEmpty { path: path() });
    }
    if !token.chars().all(|c| c.is_ascii_graphic()) {
        return Err(ConfigError::TokenInvalidChars { path: path() });
    }
    if token.len() < MIN_TOKEN_LEN {
        return Err(ConfigError::TokenTooShort {
            path: path(),
            len: token.len(),
            min: MIN_TOKEN_LEN,
        });
    }
    Ok(token.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ensure_creates_then_rereads_the_same_token() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/dir/admin.token");
        let token = ensure_token(&path).unwrap();
        assert_eq!(token.len(), 64);
        assert!(token.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(ensure_token(&path).unwrap(), token);
        assert_eq!(read_token(&path).unwrap(), token);
        let other = ensure_token(dir.path().join("other.token")).unwrap();
        assert_ne!(other, token);
    }

    #[cfg(unix)]
    #[test]
    fn new_token_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("admin.token");
        ensure_token(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn existing_token_is_trimmed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("admin.token");
        let token = "x".repeat(40);
        std::fs::write(&path, format!("  {token}\r\n\n")).unwrap();
        assert_eq!(ensure_token(&path).unwrap(), token);
    }

    #[test]
    fn bad_existing_tokens_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("admin.token");

        std::fs::write(&path, " \n").unwrap();
        assert!(matches!(
            ensure_token(&path),
            Err(ConfigError::TokenEmpty { .. })
        ));

        std::fs::write(&path, "short-token\n").unwrap();
        match ensure_token(&path) {
            Err(
                e @ ConfigError::TokenTooShort {
                    len: 11, min: 32, ..
                },
            ) => {
                assert!(e.to_string().contains("admin.token"), "{e}");
            }
            other => panic!("expected TokenTooShort, got {other:?}"),
        }

        std::fs::write(&path, format!("{} {}", "a".repeat(20), "b".repeat(20))).unwrap();
        assert!(matches!(
            read_token(&path),
            Err(ConfigError::TokenInvalidChars { .. })
        ));

        // Exactly the minimum is fine.
        std::fs::write(&path, "c".repeat(MIN_TOKEN_LEN)).unwrap();
        assert_eq!(read_token(&path).unwrap().len(), MIN_TOKEN_LEN);
    }

    #[test]
    fn reading_a_missing_token_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = read_token(dir.path().join("none")).unwrap_err();
        assert!(matches!(err, ConfigError::Read { .. }), "{err:?}");
    }
}
