//! Who may do what. Every request except the few public paths needs an access token; the
//! [`authorize`] middleware checks it and then looks the request up in one table, [`RULES`]:
//! the resource (the first path segment under `/v1/`) and the action (reads are `GET`/`HEAD`,
//! everything else writes) give, per role, the [`Scope`] of what the role may touch. Admins may
//! do everything; a resource missing from the table is admin-only, so a router added without a
//! rule is closed rather than open.
//!
//! To open a new resource to other roles, add one [`Rule`]. Handlers of resources with
//! [`Scope::Own`] grants take a [`Caller`] and narrow what they return (a driver sees only their
//! own driver record, only their own routes of a plan, and may only report on their own stops).

use super::error::ApiError;
use super::AppState;
use crate::auth::{Principal, TokenError};
use crate::domain::Role;
use crate::store::StoreError;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::Response;

/// Reading or changing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// `GET`, `HEAD`, `OPTIONS`.
    Read,
    /// `POST`, `PUT`, `PATCH`, `DELETE`.
    Write,
}

/// How much of a resource a role may touch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every record.
    All,
    /// Only records tied to the caller's own driver id; the handler filters.
    Own,
}

/// The grants of one resource.
#[derive(Debug)]
pub struct Rule {
    /// First path segment under `/v1/` (`depots` for `/v1/depots/7`).
    pub resource: &'static str,
    /// Roles that may read, and how much.
    pub read: &'static [(Role, Scope)],
    /// Roles that may write, and how much.
    pub write: &'static [(Role, Scope)],
}

use Role::{Accountant, Analyst, Dispatcher, Driver};
use Scope::{All, Own};

/// The permission table (admins are allowed everything and are not listed).
pub const RULES: &[Rule] = &[
    Rule { resource: "depots", read: &[(Dispatcher, All), (Analyst, All)], write: &[(Dispatcher, All)] },
    Rule { resource: "customers", read: &[(Dispatcher, All), (Analyst, All), (Accountant, All)], write: &[(Dispatcher, All)] },
    Rule { resource: "vehicle-types", read: &[(Dispatcher, All), (Analyst, All)], write: &[(Dispatcher, All)] },
    Rule { resource: "vehicles", read: &[(Dispatcher, All), (Analyst, All)], write: &[(Dispatcher, All)] },
    Rule { resource: "drivers", read: &[(Dispatcher, All), (Analyst, All), (Driver, Own)], write: &[(Dispatcher, All)] },
    // Drivers write orders only to report on the stops of their own routes (the handler checks).
    Rule { resource: "orders", read: &[(Dispatcher, All), (Analyst, All), (Accountant, All)], write: &[(Dispatcher, All), (Driver, Own)] },
    // Drivers read only their own routes of a plan (`/v1/plans/{id}/routes/mine`; the other plan
    // reads answer them 403).
    Rule { resource: "plans", read: &[(Dispatcher, All), (Analyst, All), (Driver, Own)], write: &[(Dispatcher, All)] },
    // Dispatchers read invoices to see whether a delivery was billed; drivers read (and print the
    // proof of) the invoices of their own stops; only accountants issue.
    Rule { resource: "invoices", read: &[(Dispatcher, All), (Analyst, All), (Accountant, All), (Driver, Own)], write: &[(Accountant, All)] },
    Rule { resource: "number-blocks", read: &[(Analyst, All), (Accountant, All)], write: &[(Accountant, All)] },
    Rule { resource: "prices", read: &[(Dispatcher, All), (Analyst, All), (Accountant, All)], write: &[(Accountant, All)] },
    Rule { resource: "invoice-preferences", read: &[(Dispatcher, All), (Analyst, All), (Accountant, All)], write: &[(Accountant, All)] },
    // Payments: the accountant's desk; analysts read. Drivers report collections through their
    // own orders (`PUT /v1/orders/{id}/collection`, the orders rule above).
    Rule { resource: "payments", read: &[(Analyst, All), (Accountant, All)], write: &[(Accountant, All)] },
    Rule { resource: "deposits", read: &[(Analyst, All), (Accountant, All)], write: &[(Accountant, All)] },
    Rule { resource: "reconciliation", read: &[(Analyst, All), (Accountant, All)], write: &[] },
    Rule { resource: "health", read: &[(Dispatcher, All), (Analyst, All), (Accountant, All), (Driver, All)], write: &[] },
    Rule { resource: "users", read: &[], write: &[] },
    // Feature flags: admins write (and kill); those who run the day read them and ask what a
    // subject gets.
    Rule { resource: "flags", read: &[(Dispatcher, All), (Analyst, All)], write: &[] },
    // The legacy sync: those who run the day watch it; admins replay and reconcile.
    Rule { resource: "sync", read: &[(Dispatcher, All), (Analyst, All)], write: &[] },
    // `POST /v1/vroom` solves a VROOM problem given in full and stores nothing: a planning tool.
    Rule { resource: "vroom", read: &[], write: &[(Dispatcher, All)] },
];

/// Paths anyone may call: probes, metrics (scraped inside the cluster), signing in, and the API
/// description.
pub const PUBLIC_PATHS: &[&str] = &["/healthz", "/readyz", "/metrics", "/v1/auth/login", "/v1/auth/refresh", "/v1/auth/logout", "/v1/openapi.json"];

/// What `role` may do with `resource`, or `None` when it may not.
pub fn scope(resource: &str, action: Action, role: Role) -> Option<Scope> {
    if role == Role::Admin {
        return Some(Scope::All);
    }
    let rule = RULES.iter().find(|r| r.resource == resource)?;
    let grants = match action {
        Action::Read => rule.read,
        Action::Write => rule.write,
    };
    grants.iter().find(|(r, _)| *r == role).map(|(_, s)| *s)
}

/// The resource a path belongs to: the first segment under `/v1/` (empty otherwise).
pub fn resource_of(path: &str) -> &str {
    path.strip_prefix("/v1/").and_then(|rest| rest.split('/').next()).unwrap_or("")
}

/// The action of a method.
pub fn action_of(method: &Method) -> Action {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        Action::Read
    } else {
        Action::Write
    }
}

/// The token of an `Authorization: Bearer …` header.
fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    let value = headers.get(header::AUTHORIZATION).ok_or(ApiError::Unauthenticated)?;
    let value = value.to_str().map_err(|_| ApiError::InvalidToken)?.trim();
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => Ok(token.trim()),
        _ => Err(ApiError::InvalidToken),
    }
}

/// The authenticated caller and what the permission table granted for this request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caller {
    /// Who.
    pub principal: Principal,
    /// How much of the resource they may touch.
    pub scope: Scope,
}

/// Refuses callers whose grant covers only their own records: the whole plan is not theirs.
pub fn whole_plans(caller: &Caller) -> Result<(), ApiError> {
    match caller.scope {
        Scope::All => Ok(()),
        Scope::Own => Err(ApiError::Forbidden),
    }
}

impl Caller {
    /// Who the caller is in records the server writes (order history, plan versions): the
    /// signed-in user's email, never a name the request claims; `user N` once the account is
    /// gone.
    pub async fn actor(&self, state: &AppState) -> String {
        let id = self.principal.user_id;
        // A user's email never changes, so it is read once per process.
        if let Some(email) = state.actors.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(&id) {
            return email.clone();
        }
        match state.store.get_user(id).await {
            Ok(u) => {
                state.actors.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(id, u.email.clone());
                u.email
            }
            Err(_) => format!("user {id}"),
        }
    }

    /// The driver id results must be narrowed to, when the grant is [`Scope::Own`].
    pub fn own_driver_id(&self) -> Option<i64> {
        match self.scope {
            Scope::All => None,
            // A driver user always has a driver id; if one somehow does not, it sees nothing.
            Scope::Own => Some(self.principal.driver_id.unwrap_or(0)),
        }
    }

    /// Whether the caller may touch records of driver `driver_id`.
    pub fn may_touch_driver(&self, driver_id: i64) -> bool {
        self.own_driver_id().is_none_or(|own| own == driver_id)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parts.extensions.get::<Caller>().copied().ok_or(ApiError::Unauthenticated)
    }
}

/// Middleware: lets public paths through; otherwise checks the bearer token (401 when missing,
/// expired or invalid), then the user's row (401 when the user is gone or deactivated; the
/// stored role and driver id, not the token's, decide from here on, so a demotion holds at
/// once), then the permission table (403), and records the [`Caller`] for handlers.
///
/// The row is read on every request (one primary-key lookup), so that a change made on any
/// replica holds at the next request everywhere.
pub async fn authorize(State(state): State<AppState>, mut req: Request, next: Next) -> Result<Response, ApiError> {
    let path = req.uri().path();
    if PUBLIC_PATHS.contains(&path) || super::web::is_public(path) {
        return Ok(next.run(req).await);
    }
    let token = state.auth.keys.verify(bearer(req.headers())?).map_err(|e| match e {
        TokenError::Expired => ApiError::TokenExpired,
        TokenError::Invalid => ApiError::InvalidToken,
    })?;
    let user = match state.store.get_user(token.user_id).await {
        Ok(user) if user.active => user,
        Ok(_) | Err(StoreError::NotFound) => return Err(ApiError::InvalidToken),
        Err(e) => return Err(e.into()),
    };
    let principal = Principal { user_id: user.id, role: user.role, driver_id: user.driver_id };
    // The email is at hand: keep it for `Caller::actor`.
    state.actors.lock().unwrap_or_else(std::sync::PoisonError::into_inner).entry(user.id).or_insert(user.email);
    let path = req.uri().path();
    let scope = scope(resource_of(path), action_of(req.method()), principal.role).ok_or(ApiError::Forbidden)?;
    req.extensions_mut().insert(Caller { principal, scope });
    Ok(next.run(req).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lets_admins_do_anything_even_on_unlisted_resources() {
        assert_eq!(scope("users", Action::Write, Role::Admin), Some(Scope::All));
        assert_eq!(scope("something-new", Action::Read, Role::Admin), Some(Scope::All));
    }

    #[test]
    fn closes_unlisted_resources_to_everyone_else() {
        for role in [Dispatcher, Driver, Analyst, Accountant] {
            assert_eq!(scope("something-new", Action::Read, role), None, "{role:?}");
            assert_eq!(scope("users", Action::Read, role), None, "{role:?}");
        }
    }

    #[test]
    fn lets_analysts_read_every_business_resource_and_write_none() {
        // `vroom` has nothing to read: it is a computation (POST only).
        for rule in RULES.iter().filter(|r| r.resource != "users" && r.resource != "vroom") {
            assert_eq!(scope(rule.resource, Action::Read, Analyst), Some(Scope::All), "{}", rule.resource);
            assert_eq!(scope(rule.resource, Action::Write, Analyst), None, "{}", rule.resource);
        }
    }

    #[test]
    fn narrows_drivers_to_their_own_records() {
        assert_eq!(scope("drivers", Action::Read, Driver), Some(Scope::Own));
        assert_eq!(scope("plans", Action::Read, Driver), Some(Scope::Own), "their own routes only");
        assert_eq!(scope("plans", Action::Write, Driver), None);
        assert_eq!(scope("orders", Action::Read, Driver), None);
        assert_eq!(scope("orders", Action::Write, Driver), Some(Scope::Own), "reports on their own stops only");
        for resource in ["depots", "vehicles", "vehicle-types", "drivers", "users", "invoices", "number-blocks", "prices", "invoice-preferences"] {
            assert_eq!(scope(resource, Action::Write, Driver), None, "{resource}");
        }
        assert_eq!(scope("customers", Action::Read, Driver), None);
        assert_eq!(scope("invoices", Action::Read, Driver), Some(Scope::Own), "the invoices of their own stops");
        assert_eq!(scope("vroom", Action::Write, Driver), None);
        assert_eq!(scope("vroom", Action::Write, Dispatcher), Some(Scope::All));
        assert_eq!(scope("vroom", Action::Write, Analyst), None);
        let p = Principal { user_id: 1, role: Driver, driver_id: Some(4) };
        let own = Caller { principal: p, scope: Scope::Own };
        assert!(own.may_touch_driver(4) && !own.may_touch_driver(5));
        assert!(Caller { principal: p, scope: Scope::All }.may_touch_driver(5));
    }

    #[test]
    fn finds_the_resource_and_action_of_a_request() {
        assert_eq!(resource_of("/v1/vehicle-types/3"), "vehicle-types");
        assert_eq!(resource_of("/v1/depots"), "depots");
        assert_eq!(resource_of("/metrics"), "");
        assert_eq!((action_of(&Method::HEAD), action_of(&Method::PATCH)), (Action::Read, Action::Write));
    }

    #[test]
    fn reads_bearer_tokens_only() {
        let mut h = HeaderMap::new();
        assert!(matches!(bearer(&h), Err(ApiError::Unauthenticated)));
        h.insert(header::AUTHORIZATION, "Basic dXNlcjpwdw==".parse().expect("header"));
        assert!(matches!(bearer(&h), Err(ApiError::InvalidToken)));
        h.insert(header::AUTHORIZATION, "bearer abc.def".parse().expect("header"));
        assert_eq!(bearer(&h).ok(), Some("abc.def"));
    }
}
