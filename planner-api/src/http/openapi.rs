//! The OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]` annotations and the
//! types' `ToSchema` derives, served at `/v1/openapi.json` (public, like any API description).

use super::{auth, customers, depots, drivers, health, metrics, users, vehicle_types, vehicles};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use std::sync::OnceLock;
use super::error::Problem;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi};

/// Adds the bearer token scheme the paths refer to as `bearer`, and the 401 and 403 problems to
/// every operation that needs it (rather than repeating them on each handler).
struct BearerScheme;

fn problem_response(description: &str) -> utoipa::openapi::Response {
    let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build();
    ResponseBuilder::new().description(description).content("application/problem+json", content).build()
}

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let scheme = HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build();
        openapi.components.get_or_insert_with(Default::default).add_security_scheme("bearer", SecurityScheme::Http(scheme));
        for item in openapi.paths.paths.values_mut() {
            let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
            for op in operations.into_iter().flatten().filter(|op| op.security.is_some()) {
                let responses = &mut op.responses.responses;
                responses.entry("401".into()).or_insert_with(|| {
                    problem_response("No token (`unauthenticated`), an expired one (`token-expired`) or a bad one (`invalid-token`)").into()
                });
                responses.entry("403".into()).or_insert_with(|| problem_response("The caller's role may not do this (`forbidden`)").into());
            }
        }
    }
}

/// The API description.
#[derive(OpenApi)]
#[openapi(
    info(title = "LuckyGas planning service", description = "Depots, customers, fleet and drivers; sign-in and roles; health. \
        Errors are RFC 7807 `application/problem+json` with a stable `type`, in Traditional Chinese (English with `Accept-Language: en`)."),
    modifiers(&BearerScheme),
    components(schemas(Problem)),
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

/// `GET /v1/openapi.json`: the document is built once, on first request.
pub async fn openapi_json() -> Response {
    static JSON: OnceLock<String> = OnceLock::new();
    let body = JSON.get_or_init(|| ApiDoc::openapi().to_json().expect("the OpenAPI document serializes")).clone();
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
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
        assert!(doc["components"]["schemas"]["Problem"]["properties"].get("type").is_some());
        assert!(doc["paths"]["/v1/depots"]["post"]["responses"].get("403").is_some(), "protected operations list 403");
        assert!(doc["paths"]["/v1/auth/login"]["post"]["responses"].get("403").is_none(), "sign-in is public");
    }
}
