//! The OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]` annotations and the
//! types' `ToSchema` derives, served at `/v1/openapi.json` (public, like any API description).

use super::{auth, customers, depots, drivers, health, metrics, users, vehicle_types, vehicles};
use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// Adds the bearer token scheme the paths refer to as `bearer`.
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let scheme = HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build();
        openapi.components.get_or_insert_with(Default::default).add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// The API description.
#[derive(OpenApi)]
#[openapi(
    info(title = "LuckyGas planning service", description = "Depots, customers, fleet and drivers; sign-in and roles; health. \
        Errors are RFC 7807 `application/problem+json` with a stable `type`, in Traditional Chinese (English with `Accept-Language: en`)."),
    modifiers(&BearerScheme),
    paths(
        health::healthz, health::readyz, health::details, metrics::metrics,
        auth::login, auth::refresh, auth::logout,
        users::list, users::create, users::read, users::replace, users::remove,
        depots::list, depots::create, depots::read, depots::replace, depots::remove,
        customers::list, customers::create, customers::read, customers::replace, customers::remove,
        vehicle_types::list, vehicle_types::create, vehicle_types::read, vehicle_types::replace, vehicle_types::remove,
        vehicles::list, vehicles::create, vehicles::read, vehicles::replace, vehicles::remove,
        drivers::list, drivers::create, drivers::read, drivers::replace, drivers::remove,
    ),
    tags(
        (name = "auth", description = "Sign in (`POST /v1/auth/login`), rotate refresh tokens, sign out"),
        (name = "users", description = "Users and roles (admins only)"),
        (name = "health", description = "Liveness, readiness, details and metrics"),
    )
)]
pub struct ApiDoc;

/// `GET /v1/openapi.json`.
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_every_resource_and_the_bearer_scheme() {
        let doc = serde_json::to_value(ApiDoc::openapi()).expect("serializes");
        for path in ["/v1/auth/login", "/v1/users", "/v1/depots/{id}", "/v1/customers", "/v1/health/details", "/readyz"] {
            assert!(doc["paths"].get(path).is_some(), "{path} missing");
        }
        assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
        assert!(doc["components"]["schemas"].get("Customer").is_some());
    }
}
