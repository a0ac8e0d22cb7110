//! Staff passwords: argon2id with its recommended parameters (19 MiB, two
//! passes, one lane: the `argon2` crate's defaults, OWASP's first choice),
//! a random 16-byte salt, stored as a PHC string. The hash is made here,
//! where the password is typed, and travels in the staff op; a node that
//! verifies a sign-in reads the parameters from the string. Both run on a
//! blocking thread: a hash takes tens of milliseconds of CPU.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use crate::ApiError;

/// The PHC string of `password` under a fresh salt.
pub(crate) async fn hash(password: String) -> Result<String, ApiError> {
    let salt: [u8; 16] = rand::random();
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())
    .and_then(|r| r)
    .map_err(|e| {
        ApiError::from(tongka_actors::EngineError::Internal(format!(
            "hashing a password: {e}"
        )))
    })
}

/// Whether `password` matches the PHC string `stored` (a string that does
/// not parse matches nothing). Without a stored hash (an unknown login) a
/// hash of the same cost is checked anyway, so the answer takes as long
/// whether or not the login exists.
pub(crate) async fn verify(stored: Option<String>, password: String) -> bool {
    tokio::task::spawn_blocking(move || {
        let stored = stored.unwrap_or_else(|| DECOY.to_string());
        let Ok(parsed) = PasswordHash::new(&stored) else {
            return false;
        };
        let ok = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        ok && stored != DECOY
    })
    .await
    .unwrap_or(false)
}

/// A hash of a random password nobody knows, with the default cost.
const DECOY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2l0IGRvd24gdG9uZ2thIQ$0u2ErjHqG1oO4bE3mWzwqcHhQq0rH6fLkQYtQwq0JvM";

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let h = hash("correct horse".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        tongka_core::staff::check_hash(&h).unwrap();
        assert!(verify(Some(h.clone()), "correct horse".into()).await);
        assert!(!verify(Some(h.clone()), "correct horsE".into()).await);
        assert!(!verify(None, "correct horse".into()).await);
        assert!(!verify(Some("not a hash".into()), "x".into()).await);
        let again = hash("correct horse".into()).await.unwrap();
        assert_ne!(h, again, "a fresh salt each time");
    }

    /// The decoy parses and has the cost of a real hash: an unknown login
    /// must take as long to refuse as a wrong password (else the time of
    /// the answer tells which logins exist).
    #[tokio::test]
    async fn the_decoy_costs_what_a_real_hash_costs() {
        let decoy = PasswordHash::new(DECOY).expect("the decoy parses");
        assert_eq!(decoy.algorithm.as_str(), "argon2id");
        assert_eq!(decoy.hash.map(|h| h.len()), Some(32));
        // The parameters a hash made now carries.
        let real = hash("correct horse".into()).await.unwrap();
        let params = |h: &str| h.split('$').take(4).collect::<Vec<_>>().join("$");
        assert_eq!(params(DECOY), params(&real));
    }
}
