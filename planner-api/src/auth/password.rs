//! Password hashing with argon2id (the crate's defaults: the OWASP-recommended 19 MiB, two
//! passes). Hashing costs tens of milliseconds of CPU on purpose, so async callers run it with
//! `spawn_blocking`.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use std::sync::OnceLock;

/// Hashes `password` with a fresh random salt into a PHC string (`$argon2id$v=19$…`).
pub fn hash(password: &str) -> String {
    let mut salt = [0u8; 16];
    getrandom::getrandom(&mut salt).expect("the operating system's random source works");
    let salt = SaltString::encode_b64(&salt).expect("16 bytes make a valid salt");
    Argon2::default().hash_password(password.as_bytes(), &salt).expect("argon2 with default parameters hashes any password").to_string()
}

/// Whether `password` matches the PHC string `phc`; a malformed hash matches nothing.
pub fn verify(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// Checks `password` against a hash of a random password, so that signing in with an unknown
/// email costs as much time as with a wrong password and does not reveal which emails exist.
pub fn verify_against_nothing(password: &str) -> bool {
    static DUMMY: OnceLock<String> = OnceLock::new();
    verify(password, DUMMY.get_or_init(|| hash(&super::random_hex(16))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifies_the_right_password_only_and_salts_each_hash() {
        let h = hash("correct horse battery");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", &h));
        assert!(!verify("correct horse batterY", &h));
        assert_ne!(h, hash("correct horse battery"), "a fresh salt each time");
        assert!(!verify("anything", "not a phc string"));
        assert!(!verify_against_nothing("anything"));
    }
}
