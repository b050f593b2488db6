//! Users of the service and their roles. A user signs in with an email and a password (stored
//! only as an argon2 hash by the store); the role decides what the user may read and change (the
//! permission table is in `http::access`). A `driver` user is tied to one driver record and sees
//! only that driver's data.

use super::validation::{FieldError, FieldProblem};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use luckygas_wire::password_policy::{self, PasswordProblem};

// The messages of `too_few_distinct` below name the number.
const _: () = assert!(MIN_PASSWORD_DISTINCT_CHARS == 5);
/// Shortest and longest accepted password, in characters, and the fewest distinct characters
/// (the password policy is `luckygas_wire::password_policy`, fuzzed there).
pub use luckygas_wire::password_policy::{MAX_CHARS as MAX_PASSWORD_CHARS, MIN_CHARS as MIN_PASSWORD_CHARS, MIN_DISTINCT_CHARS as MIN_PASSWORD_DISTINCT_CHARS};

/// What a user is allowed to do, by job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including managing users.
    Admin,
    /// Maintains master data, orders and plans.
    Dispatcher,
    /// Sees only their own driver record and route.
    Driver,
    /// Reads everything, changes nothing.
    Analyst,
    /// Reads customers and orders; writes invoices.
    Accountant,
}

impl Role {
    /// Every role, in the order of the documentation.
    pub const ALL: [Role; 5] = [Role::Admin, Role::Dispatcher, Role::Driver, Role::Analyst, Role::Accountant];
    /// The names clients use.
    pub const NAMES: &'static [&'static str] = &["admin", "dispatcher", "driver", "analyst", "accountant"];

    /// The role's name as stored and sent (`dispatcher`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Dispatcher => "dispatcher",
            Role::Driver => "driver",
            Role::Analyst => "analyst",
            Role::Accountant => "accountant",
        }
    }

    /// Parses a role name.
    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == name)
    }
}

/// A user as sent by an admin, before validation.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserInput {
    /// Sign-in email (compared case-insensitively; stored lower-case).
    #[serde(default)]
    pub email: String,
    /// Initial password: at least 12 characters, not blank, at least 5 different characters,
    /// not a common password, not containing the email.
    #[serde(default)]
    pub password: String,
    /// One of `admin`, `dispatcher`, `driver`, `analyst`, `accountant`.
    #[serde(default)]
    pub role: String,
    /// The driver record of a `driver` user (required for that role, refused for others).
    #[serde(default)]
    pub driver_id: Option<i64>,
}

/// A validated user, ready to be stored (the password is still in clear: the store's caller
/// hashes it).
#[derive(Clone, Debug, PartialEq)]
pub struct NewUser {
    /// Lower-case email.
    pub email: String,
    /// The password in clear.
    pub password: String,
    /// The role.
    pub role: Role,
    /// The driver record of a driver.
    pub driver_id: Option<i64>,
}

/// A stored user, as shown to admins (never with the password hash).
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct User {
    /// Identifier assigned by the store.
    pub id: i64,
    /// Lower-case email.
    pub email: String,
    /// The role.
    pub role: Role,
    /// The driver record of a driver user.
    pub driver_id: Option<i64>,
    /// Whether the user may sign in.
    pub active: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
}

/// Checks an email: trimmed, lower-cased, one `@` with text on both sides and a dot in the
/// domain, at most 254 characters.
pub fn normalize_email(errors: &mut Vec<FieldError>, email: &str) -> String {
    let email = email.trim().to_lowercase();
    let valid = match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
                && !email.chars().any(char::is_whitespace)
        }
        None => false,
    };
    if email.is_empty() {
        errors.push(FieldError::new("email", FieldProblem::Required));
    } else if email.chars().count() > 254 {
        errors.push(FieldError::new("email", FieldProblem::TooLong { max: 254 }));
    } else if !valid {
        errors.push(FieldError::new("email", FieldProblem::Pattern { expected: "dispatch@luckygas.tw" }));
    }
    email
}

/// Checks a password against the policy (length, not blank, enough distinct characters, not
/// one of the most common passwords, not containing the user's email and not just its name
/// part; `email`: the lower-case email, when known) and names what is wrong as a field error.
/// Stored hashes are not re-checked: existing passwords keep working.
pub fn check_password(errors: &mut Vec<FieldError>, password: &str, email: Option<&str>) {
    let Err(problem) = password_policy::check(password, email) else { return };
    let problem = match problem {
        PasswordProblem::Empty => FieldProblem::Required,
        PasswordProblem::TooLong => FieldProblem::TooLong { max: MAX_PASSWORD_CHARS },
        PasswordProblem::Blank => FieldProblem::State { code: "blank", zh: "密碼不可只有空白字元", en: "must not be only spaces" },
        PasswordProblem::TooShort => FieldProblem::TooShort { min: MIN_PASSWORD_CHARS },
        PasswordProblem::TooFewDistinct => {
            FieldProblem::State { code: "too_few_distinct", zh: "密碼至少要有 5 種不同的字元", en: "must have at least 5 different characters" }
        }
        PasswordProblem::TooCommon => {
            FieldProblem::State {
                code: "too_common", zh: "這是最常被使用的密碼之一，請換一個", en: "is one of the most common passwords; choose another"
            }
        }
        PasswordProblem::ContainsEmail => FieldProblem::State {
            code: "contains_email",
            zh: "密碼不可包含電子郵件地址或只是帳號名稱",
            en: "must not contain the email address or be its name part",
        },
    };
    errors.push(FieldError::new("password", problem));
}

/// Checks a role name and that `driver_id` is given for drivers and only for them.
fn role_and_driver(errors: &mut Vec<FieldError>, role: &str, driver_id: Option<i64>) -> Option<Role> {
    let parsed = Role::parse(role.trim());
    match parsed {
        None if role.trim().is_empty() => errors.push(FieldError::new("role", FieldProblem::Required)),
        None => errors.push(FieldError::new("role", FieldProblem::NotAllowed { allowed: Role::NAMES })),
        Some(Role::Driver) if driver_id.is_none() => errors.push(FieldError::new("driver_id", FieldProblem::Required)),
        Some(Role::Driver) => {}
        Some(_) if driver_id.is_some() => {
            errors.push(FieldError::new("driver_id", FieldProblem::NotAllowed { allowed: &["null"] }));
        }
        Some(_) => {}
    }
    parsed
}

/// A change to a user, as sent by an admin (`PUT /v1/users/{id}`): the email stays.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserUpdateInput {
    /// The role.
    #[serde(default)]
    pub role: String,
    /// The driver record of a `driver` user.
    #[serde(default)]
    pub driver_id: Option<i64>,
    /// Whether the user may sign in (default `true`).
    #[serde(default)]
    pub active: Option<bool>,
    /// A new password; absent keeps the current one.
    #[serde(default)]
    pub password: Option<String>,
}

/// A validated change to a user.
#[derive(Clone, Debug, PartialEq)]
pub struct UserUpdate {
    /// The role.
    pub role: Role,
    /// The driver record of a driver.
    pub driver_id: Option<i64>,
    /// Whether the user may sign in.
    pub active: bool,
    /// A new password in clear, if any.
    pub password: Option<String>,
}

impl UserUpdateInput {
    /// Validates every field; returns all failing fields at once.
    pub fn validate(self) -> Result<UserUpdate, Vec<FieldError>> {
        let mut errors = Vec::new();
        // The email is not part of the change; `auth::session::update_user` checks the
        // password against it.
        if let Some(pw) = &self.password {
            check_password(&mut errors, pw, None);
        }
        let role = role_and_driver(&mut errors, &self.role, self.driver_id);
        match role {
            Some(role) if errors.is_empty() => Ok(UserUpdate { role, driver_id: self.driver_id, active: self.active.unwrap_or(true), password: self.password }),
            _ => Err(errors),
        }
    }
}

impl UserInput {
    /// Validates every field; returns all failing fields at once.
    pub fn validate(self) -> Result<NewUser, Vec<FieldError>> {
        let mut errors = Vec::new();
        let email = normalize_email(&mut errors, &self.email);
        check_password(&mut errors, &self.password, Some(&email));
        let role = role_and_driver(&mut errors, &self.role, self.driver_id);
        match role {
            Some(role) if errors.is_empty() => Ok(NewUser { email, password: self.password, role, driver_id: self.driver_id }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(email: &str, password: &str, role: &str, driver_id: Option<i64>) -> UserInput {
        UserInput { email: email.into(), password: password.into(), role: role.into(), driver_id }
    }

    fn fields(r: Result<NewUser, Vec<FieldError>>) -> Vec<String> {
        r.err().unwrap_or_default().into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn lower_cases_the_email_and_keeps_the_password_as_given() {
        let u = input(" Dispatch@LuckyGas.TW ", "  twelve chars!", "dispatcher", None).validate();
        assert_eq!(u.map(|u| (u.email, u.password, u.role)), Ok(("dispatch@luckygas.tw".into(), "  twelve chars!".into(), Role::Dispatcher)));
    }

    #[test]
    fn rejects_short_passwords_bad_emails_and_unknown_roles_together() {
        assert_eq!(fields(input("nobody", "short", "boss", None).validate()), ["email", "password", "role"]);
        assert_eq!(fields(input("a@b", "long enough pw", "analyst", None).validate()), ["email"]);
    }

    #[test]
    fn ties_drivers_and_only_drivers_to_a_driver_record() {
        assert_eq!(fields(input("d@lg.tw", "long enough pw", "driver", None).validate()), ["driver_id"]);
        assert_eq!(fields(input("d@lg.tw", "long enough pw", "analyst", Some(3)).validate()), ["driver_id"]);
        assert!(input("d@lg.tw", "long enough pw", "driver", Some(3)).validate().is_ok());
    }

    #[test]
    fn keeps_the_password_unless_a_new_valid_one_is_given() {
        let change =
            |password: Option<&str>| UserUpdateInput { role: "analyst".into(), driver_id: None, active: Some(false), password: password.map(Into::into) };
        assert_eq!(change(None).validate().map(|u| (u.password, u.active)), Ok((None, false)));
        let fields: Vec<String> = change(Some("short")).validate().err().unwrap_or_default().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["password"]);
    }

    fn password_codes(password: &str, email: Option<&str>) -> Vec<&'static str> {
        let mut errors = Vec::new();
        check_password(&mut errors, password, email);
        errors.iter().map(FieldError::code).collect()
    }

    #[test]
    fn refuses_blank_repetitive_common_and_email_passwords_with_clear_messages() {
        assert_eq!(password_codes("", None), ["required"]);
        assert_eq!(password_codes(&" ".repeat(12), None), ["blank"]);
        assert_eq!(password_codes("\t\n   \t   \n  ", None), ["blank"]);
        assert_eq!(password_codes("   ", None), ["blank"], "blank is the clearer message even when short");
        assert_eq!(password_codes("aaaaaaaaaaaa", None), ["too_few_distinct"]);
        assert_eq!(password_codes("abababababababab", None), ["too_few_distinct"]);
        assert_eq!(password_codes("Password1234", None), ["too_common"]);
        assert_eq!(password_codes("qwerty 123456", None), ["too_common"], "spaces and case do not hide a common password");
        assert_eq!(password_codes("wang.xiaoming@luckygas.tw", Some("wang.xiaoming@luckygas.tw")), ["contains_email"]);
        assert_eq!(password_codes("Wang.XiaoMing", Some("wang.xiaoming@luckygas.tw")), ["contains_email"]);
        assert_eq!(password_codes("my wang.xiaoming@luckygas.tw!", Some("wang.xiaoming@luckygas.tw")), ["contains_email"]);
        assert!(password_codes("a new admin password", Some("admin@luckygas.tw")).is_empty(), "the name part may appear");
        assert!(password_codes("correct horse battery", Some("wang.xiaoming@luckygas.tw")).is_empty());
        assert!(password_codes("a long enough password", None).is_empty());
        let mut errors = Vec::new();
        check_password(&mut errors, "aaaaaaaaaaaa", None);
        assert_eq!(errors[0].message(crate::domain::Lang::ZhTw), "密碼至少要有 5 種不同的字元");
        assert_eq!(errors[0].message(crate::domain::Lang::En), "must have at least 5 different characters");
        assert_eq!(fields(input("d@lg.tw", &" ".repeat(12), "analyst", None).validate()), ["password"]);
        assert_eq!(fields(input("dispatch@lg.tw", "dispatch@lg.tw", "analyst", None).validate()), ["password"]);
    }

    #[test]
    fn round_trips_role_names() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::NAMES.len(), Role::ALL.len());
    }
}
