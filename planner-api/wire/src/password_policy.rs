//! The password policy for new passwords: length, not blank, enough distinct characters, not
//! one of the most common passwords, not the user's email. `planner_api::domain::user` turns a
//! [`PasswordProblem`] into a field error of the API; stored hashes are not re-checked, so
//! existing passwords keep working.

/// Shortest accepted password, in characters.
pub const MIN_CHARS: usize = 12;
/// Longest accepted password, in characters (argon2 hashes anything, but a megabyte of
/// password is an attack, not a password).
pub const MAX_CHARS: usize = 256;
/// Fewest distinct characters in a password (`aaaaaaaaaaaa` has one, `abababababab` two).
pub const MIN_DISTINCT_CHARS: usize = 5;

/// The most common passwords of 12 characters or more (shorter ones fail the length check),
/// compared after [`fold`]ing.
pub const COMMON: &[&str] = &[
    "123456789012",
    "1234567890123",
    "12345678901234",
    "123456123456",
    "123123123123",
    "111111111111",
    "000000000000",
    "121212121212",
    "987654321098",
    "123456789abc",
    "1234567890ab",
    "abc123456789",
    "abcd12345678",
    "abcdefghijkl",
    "password1234",
    "password12345",
    "password123456",
    "passwordpassword",
    "p@ssw0rd1234",
    "passw0rd1234",
    "qwertyuiop12",
    "qwertyuiopasdf",
    "qwerty123456",
    "123456qwerty",
    "qwertyqwerty",
    "1q2w3e4r5t6y",
    "1qaz2wsx3edc",
    "zaq12wsxcde3",
    "asdfghjkl123",
    "zxcvbnm12345",
    "iloveyou1234",
    "welcome12345",
    "letmein12345",
    "changeme1234",
    "administrator",
    "admin1234567",
    "football1234",
    "baseball1234",
    "sunshine1234",
    "princess1234",
    "luckygas1234",
    "luckygas123456",
    "trustno1trustno1",
    "aa123456789a",
    "a123456789012",
    "1234qwerasdf",
];

/// What the policy has against a password; the first that applies, in this order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasswordProblem {
    /// No password at all.
    Empty,
    /// More than [`MAX_CHARS`] characters.
    TooLong,
    /// Only white space.
    Blank,
    /// Fewer than [`MIN_CHARS`] characters.
    TooShort,
    /// Fewer than [`MIN_DISTINCT_CHARS`] different characters.
    TooFewDistinct,
    /// One of [`COMMON`], ignoring case and white space.
    TooCommon,
    /// Contains the email, or is the email's name part, ignoring case and white space.
    ContainsEmail,
}

/// `text` without white space, case-folded character by character (upper-cased, then
/// lower-cased, so that the final sigma `ς` and `σ`, or `ß` and `SS`, fold alike): the form in
/// which passwords are compared with [`COMMON`] and with the email.
pub fn fold(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).flat_map(char::to_uppercase).flat_map(char::to_lowercase).collect()
}

/// Checks a new password; `email` is the user's email when known.
pub fn check(password: &str, email: Option<&str>) -> Result<(), PasswordProblem> {
    let n = password.chars().count();
    if n == 0 {
        return Err(PasswordProblem::Empty);
    }
    if n > MAX_CHARS {
        return Err(PasswordProblem::TooLong);
    }
    if password.trim().is_empty() {
        return Err(PasswordProblem::Blank);
    }
    if n < MIN_CHARS {
        return Err(PasswordProblem::TooShort);
    }
    let mut distinct: Vec<char> = password.chars().collect();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < MIN_DISTINCT_CHARS {
        return Err(PasswordProblem::TooFewDistinct);
    }
    let folded = fold(password);
    if COMMON.contains(&folded.as_str()) {
        return Err(PasswordProblem::TooCommon);
    }
    // Both sides folded alike: a lower-cased email keeps a final sigma `ς` where the password
    // in capitals folds to `σ`, which let `ΟΔΥΣΣΕΑΣ@…` through as its own email's password.
    let email = email.map(fold).filter(|e| !e.is_empty());
    let name = email.as_deref().and_then(|e| e.split_once('@')).map(|(name, _)| name.to_owned());
    // The whole email anywhere in it, or the password being just the email's name part (a
    // name merely appearing is fine: `admin` in "a new admin password").
    if email.as_ref().is_some_and(|e| folded.contains(e.as_str())) || name.as_ref().is_some_and(|n| folded == *n) {
        return Err(PasswordProblem::ContainsEmail);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use PasswordProblem::*;

    #[test]
    fn refuses_blank_repetitive_common_and_email_passwords() {
        assert_eq!(check("", None), Err(Empty));
        assert_eq!(check(&"x".repeat(MAX_CHARS + 1), None), Err(TooLong));
        assert_eq!(check(&" ".repeat(12), None), Err(Blank));
        assert_eq!(check("   ", None), Err(Blank), "blank is the clearer answer even when short");
        assert_eq!(check("short", None), Err(TooShort));
        assert_eq!(check("aaaaaaaaaaaa", None), Err(TooFewDistinct));
        assert_eq!(check("abababababababab", None), Err(TooFewDistinct));
        assert_eq!(check("Password1234", None), Err(TooCommon));
        assert_eq!(check("qwerty 123456", None), Err(TooCommon), "spaces and case do not hide a common password");
        assert_eq!(check("wang.xiaoming@luckygas.tw", Some("wang.xiaoming@luckygas.tw")), Err(ContainsEmail));
        assert_eq!(check("Wang.XiaoMing", Some("wang.xiaoming@luckygas.tw")), Err(ContainsEmail));
        assert_eq!(check("my wang.xiaoming@luckygas.tw!", Some("wang.xiaoming@luckygas.tw")), Err(ContainsEmail));
        assert_eq!(check("a new admin password", Some("admin@luckygas.tw")), Ok(()), "the name part may appear");
        assert_eq!(check("correct horse battery", Some("wang.xiaoming@luckygas.tw")), Ok(()));
        assert_eq!(check(&"abcde".repeat(MAX_CHARS / 5), None), Ok(()), "the longest is fine");
    }

    #[test]
    fn finds_the_email_in_any_case_even_with_a_final_sigma() {
        // The email as normalised (`str::to_lowercase` writes the final sigma `ς`), the password
        // the same address in capitals followed by more text.
        let email = "ΟΔΥΣΣΕΑΣ@luckygas.tw".to_lowercase();
        assert!(email.starts_with("οδυσσεας@"), "{email}");
        assert_eq!(check("ΟΔΥΣΣΕΑΣ@LUCKYGAS.TW 2026", Some(&email)), Err(ContainsEmail));
        assert_eq!(check("οδυσσεασ@luckygas.tw 2026", Some(&email)), Err(ContainsEmail));
        assert_eq!(check("my odysseas password", Some(&email)), Ok(()));
    }

    #[test]
    fn lists_only_common_passwords_that_pass_the_length_check_in_folded_form() {
        for common in COMMON {
            assert!(common.chars().count() >= MIN_CHARS, "{common}");
            assert_eq!(fold(common), *common);
        }
    }
}
