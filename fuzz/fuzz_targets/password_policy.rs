//! The password policy (`luckygas_wire::password_policy`).
//!
//! Any password and email (first byte 0-1): an accepted password has 12 to 256 characters, is
//! not blank, has at least 5 distinct characters, is not a listed common password and does not
//! contain the email once case and white space are ignored; each refusal names a condition
//! that holds, in the documented order.
//! A listed common password with its case changed and white space put in (2): never accepted.
//! A password containing the email with its case changed and white space put in (3): never
//! accepted.
#![no_main]

use libfuzzer_sys::fuzz_target;
use luckygas_wire::password_policy::{check, fold, PasswordProblem, COMMON, MAX_CHARS, MIN_CHARS, MIN_DISTINCT_CHARS};

/// `text` with its case changed and white space put in where `noise` says.
fn disguise(text: &str, noise: &[u8]) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        let n = noise.get(i % noise.len().max(1)).copied().unwrap_or(0);
        match n % 4 {
            // Upper case where it is one character that folds back (not `ß` → `SS`).
            1 => {
                let up: Vec<char> = c.to_uppercase().collect();
                match up[..] {
                    [u] if u.to_lowercase().eq(c.to_lowercase()) => out.push(u),
                    _ => out.push(c),
                }
            }
            2 => out.push(c),
            3 => {
                out.push([' ', '\t', '\u{3000}', '\n'][usize::from(n >> 6)]);
                out.push(c);
            }
            _ => out.extend(c.to_lowercase()),
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let (first, second) = match rest.iter().position(|&b| b == 0xff) {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    let first = String::from_utf8_lossy(first).into_owned();
    let second = second.map(|s| String::from_utf8_lossy(s).into_owned());
    match mode % 4 {
        0 | 1 => {
            let (password, email) = (first, second);
            let result = check(&password, email.as_deref());
            let n = password.chars().count();
            let mut distinct: Vec<char> = password.chars().collect();
            distinct.sort_unstable();
            distinct.dedup();
            let folded = fold(&password);
            let email = email.as_deref().map(fold).filter(|e| !e.is_empty());
            let holds = |p: PasswordProblem| match p {
                PasswordProblem::Empty => n == 0,
                PasswordProblem::TooLong => n > MAX_CHARS,
                PasswordProblem::Blank => password.trim().is_empty(),
                PasswordProblem::TooShort => n < MIN_CHARS,
                PasswordProblem::TooFewDistinct => distinct.len() < MIN_DISTINCT_CHARS,
                PasswordProblem::TooCommon => COMMON.contains(&folded.as_str()),
                PasswordProblem::ContainsEmail => {
                    email.as_ref().is_some_and(|e| folded.contains(e.as_str()) || e.split_once('@').is_some_and(|(name, _)| folded == name))
                }
            };
            let order = [
                PasswordProblem::Empty,
                PasswordProblem::TooLong,
                PasswordProblem::Blank,
                PasswordProblem::TooShort,
                PasswordProblem::TooFewDistinct,
                PasswordProblem::TooCommon,
                PasswordProblem::ContainsEmail,
            ];
            let expected = order.into_iter().find(|&p| holds(p));
            assert_eq!(result.err(), expected, "{password:?} / {email:?}");
        }
        2 => {
            let Some(common) = COMMON.get(first.len() % COMMON.len()) else { return };
            let password = disguise(common, second.as_deref().unwrap_or_default().as_bytes());
            assert!(check(&password, None).is_err(), "a common password got through as {password:?}");
        }
        _ => {
            let Some(email) = second.filter(|e| e.contains('@') && !e.starts_with('@')) else { return };
            let (before, after) = first.split_at(first.char_indices().nth(first.chars().count() / 2).map_or(first.len(), |(i, _)| i));
            let password = format!("{before}{}{after}", disguise(&email, first.as_bytes()));
            assert!(check(&password, Some(&email)).is_err(), "{password:?} contains {email:?}");
        }
    }
});
