//! The OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]` annotations and the
//! types' `ToSchema` derives, served at `/v1/openapi.json` (public, like any API description).
//! A test reads the routers' source and checks that every route they serve is described.

use super::error::Problem;
use super::{
    audit, auth, customers, depots, drivers, flags, health, invoices, metrics, orders, payments, plans, replans, sync, users, vehicle_types, vehicles, vroom,
    web,
};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use std::sync::OnceLock;
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
    info(title = "LuckyGas planning service", description = "Depots, customers, fleet and drivers; orders and planning jobs; sign-in and roles; health. \
        Errors are RFC 7807 `application/problem+json` with a stable `type`, in Traditional Chinese (English with `Accept-Language: en`)."),
    modifiers(&BearerScheme),
    components(schemas(Problem)),
    paths(
        health::healthz, health::readyz, health::details, metrics::metrics, openapi_json, web::index, web::service_worker, web::asset,
        auth::login, auth::refresh, auth::logout,
        users::list, users::create, users::read, users::replace, users::remove,
        depots::list, depots::create, depots::read, depots::replace, depots::remove,
        customers::list, customers::create, customers::read, customers::replace, customers::remove,
        vehicle_types::list, vehicle_types::create, vehicle_types::read, vehicle_types::replace, vehicle_types::remove,
        vehicles::list, vehicles::create, vehicles::read, vehicles::replace, vehicles::remove,
        vehicles::assignments, vehicles::assign, vehicles::unassign,
        drivers::list, drivers::create, drivers::read, drivers::replace, drivers::remove,
        orders::list, orders::create, orders::read, orders::replace, orders::change_status, orders::arrival, orders::history,
        plans::list, plans::create, plans::read, plans::cancel, plans::events, plans::geojson, plans::problem, plans::my_routes, plans::my_day,
        replans::post_events, replans::preview, replans::list_versions, replans::read_version, replans::restore, replans::live,
        vroom::solve,
        audit::list,
        invoices::list, invoices::issue, invoices::read, invoices::void, invoices::cancel, invoices::allowances, invoices::allow, invoices::void_allowance,
        invoices::proof, invoices::messages, invoices::resend, invoices::monthly_run, invoices::report,
        invoices::list_blocks, invoices::create_block, invoices::close_period, invoices::list_prices, invoices::create_price,
        invoices::put_preferences, invoices::get_preferences,
        payments::list, payments::read, payments::match_payment, payments::split, payments::refund, payments::write_off,
        payments::list_virtual_accounts, payments::assign_virtual_account, payments::list_collections, payments::get_collection, payments::put_collection,
        payments::list_handins, payments::record_handin, payments::read_handin, payments::resolve_handin,
        payments::aging, payments::statement, payments::account, payments::reconciliation,
        payments::list_deposits, payments::list_statements, payments::read_statement, payments::upload_statement, payments::fetch_now,
        flags::list, flags::read, flags::replace, flags::kill, flags::evaluate,
        sync::status, sync::dead_letters, sync::replay, sync::conflicts, sync::reconcile,
    ),
    tags(
        (name = "auth", description = "Sign in (`POST /v1/auth/login`), rotate refresh tokens, sign out"),
        (name = "users", description = "Users and roles (admins only)"),
        (name = "health", description = "Liveness, readiness, details and metrics"),
        (name = "console", description = "The web console's page and files (public; it signs in like any client)"),
        (name = "orders", description = "Orders and their lifecycle: received → planned → dispatched → delivered | failed, or cancelled"),
        (name = "plans", description = "Planning jobs: queue, progress, cancel, routes (a driver's own routes), GeoJSON, solver input; replanning from events, plan versions and their live stream"),
        (name = "audit", description = "Who changed what and when: every accepted write, recorded by the server (admins only)"),
        (name = "invoices", description = "Taiwan e-invoices (電子發票) for delivered orders: number blocks, prices, buyers' preferences, voids, cancels, allowances, the printed proof, Turnkey messages, the period report (accountants)"),
        (name = "payments", description = "Payments (accountants): cash at the door and hand-ins, virtual accounts, bank deposits from statement files (upload or SFTP), matching and the queue (match, split, refund, write off), aging, customer statements, the daily reconciliation"),
        (name = "flags", description = "Feature flags: on/off or a module's cut-over stage, targeting, rollout, schedule and kill switch (admins write; dispatchers and analysts read and evaluate)"),
        (name = "sync", description = "The legacy sync: the queue to the old system, dead letters (admins replay), conflicts decided between both sides, reconciliation and repair (admins)"),
        (name = "vroom", description = "A VROOM-compatible solver: VROOM's JSON problem in, VROOM's answer out (jobs and shipments)"),
    )
)]
pub struct ApiDoc;

/// `GET /v1/openapi.json`: the document is built once, on first request.
#[utoipa::path(get, operation_id = "getOpenApiDocument", path = "/v1/openapi.json", tag = "health", responses((status = 200, description = "This document", content_type = "application/json")))]
pub async fn openapi_json() -> Response {
    static JSON: OnceLock<String> = OnceLock::new();
    let body = JSON.get_or_init(|| ApiDoc::openapi().to_json().expect("the OpenAPI document serializes")).clone();
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The source of `app` and of every resource router, by module name.
    const SOURCES: &[(&str, &str)] = &[
        ("", include_str!("mod.rs")),
        ("auth", include_str!("auth.rs")),
        ("users", include_str!("users.rs")),
        ("health", include_str!("health.rs")),
        ("depots", include_str!("depots.rs")),
        ("customers", include_str!("customers.rs")),
        ("vehicle_types", include_str!("vehicle_types.rs")),
        ("vehicles", include_str!("vehicles.rs")),
        ("drivers", include_str!("drivers.rs")),
        ("orders", include_str!("orders.rs")),
        ("plans", include_str!("plans.rs")),
        ("replans", include_str!("replans.rs")),
        ("vroom", include_str!("vroom.rs")),
        ("audit", include_str!("audit.rs")),
        ("invoices", include_str!("invoices.rs")),
        ("payments", include_str!("payments.rs")),
        ("flags", include_str!("flags.rs")),
        ("sync", include_str!("sync.rs")),
        ("web", include_str!("web.rs")),
    ];

    /// The body of `fn name(` in `source`, up to the closing brace at the start of a line.
    fn body<'a>(source: &'a str, name: &str) -> &'a str {
        let start = source.find(&format!("fn {name}(")).unwrap_or_else(|| panic!("fn {name} not found"));
        let rest = &source[start..];
        &rest[..rest.find("\n}").unwrap_or(rest.len())]
    }

    /// The first string literal in `text`.
    fn literal(text: &str) -> &str {
        let open = text.find('"').expect("a path literal") + 1;
        &text[open..open + text[open..].find('"').expect("closing quote")]
    }

    /// `(method, path)` of every `.route("PATH", get(..).post(..))` in a router body, under `prefix`.
    fn routes_in(body: &str, prefix: &str, out: &mut Vec<(String, String)>) {
        let parts: Vec<&str> = body.split(".route(").skip(1).collect();
        for part in parts {
            let path = literal(part);
            // A nested router's "/" is its prefix; merged at the root, "/" itself.
            let full = if path == "/" && !prefix.is_empty() { prefix.to_owned() } else { format!("{prefix}{path}") };
            // The handlers of this route: everything up to the next `.route(`/`.nest(`/`.merge(`.
            let handlers = &part[part.find(',').expect("a method router")..];
            let handlers = handlers.split(".nest(").next().unwrap_or("").split(".merge(").next().unwrap_or("");
            for method in ["get", "post", "put", "delete", "patch"] {
                let call = format!("{method}(");
                let served = handlers.match_indices(&call).any(|(i, _)| {
                    let before = handlers[..i].chars().last();
                    !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
                });
                if served {
                    out.push((method.to_owned(), full.clone()));
                }
            }
        }
    }

    /// Every `(method, path)` the application serves, read from the routers' source: `app` in
    /// `mod.rs` mounts some routes itself, merges routers and nests the resource routers at
    /// their prefixes.
    fn served_routes() -> Vec<(String, String)> {
        let source = |module: &str| SOURCES.iter().find(|(m, _)| *m == module).unwrap_or_else(|| panic!("{module} source")).1;
        let app = body(source(""), "app");
        let mut out = Vec::new();
        routes_in(app, "", &mut out);
        for (mounting, prefixed) in [(".nest(", true), (".merge(", false)] {
            for part in app.split(mounting).skip(1) {
                let prefix = if prefixed { literal(part) } else { "" };
                let call = if prefixed { &part[part.find(',').expect("nest's router")..] } else { part };
                let call = call.trim_start_matches([',', ' ']);
                let (module, rest) = call.split_once("::").expect("module::router()");
                let function = &rest[..rest.find('(').expect("a router call")];
                routes_in(body(source(module.trim()), function), prefix, &mut out);
            }
        }
        out
    }

    /// The methods of a path item that are operations.
    const METHODS: [&str; 8] = ["get", "put", "post", "delete", "patch", "head", "options", "trace"];

    /// Whether `id` is camelCase: a lower-case ASCII letter, then ASCII letters and digits.
    fn camel_case(id: &str) -> bool {
        id.starts_with(|c: char| c.is_ascii_lowercase()) && id.chars().all(|c| c.is_ascii_alphanumeric())
    }

    /// Every way `doc` breaks the conventions of this API, one line each: an operation without
    /// an operationId or with one that is not camelCase or not unique; an operation with a
    /// request body that does not list the problems of `ApiJson` (400 malformed JSON, 413 too
    /// large, 415 not JSON, 422 invalid fields); an operation on an `{id}` path without 404; a
    /// list (`limit` parameter) without 422 or without the `offset` and `after` page parameters; a 201 without a `Location` header; a 4xx or 5xx
    /// response that is not an `application/problem+json` [`Problem`].
    fn lint(doc: &serde_json::Value) -> Vec<String> {
        let mut faults = Vec::new();
        let mut ids = std::collections::HashMap::new();
        let empty = serde_json::Map::new();
        for (path, item) in doc["paths"].as_object().unwrap_or(&empty) {
            for (method, op) in item.as_object().unwrap_or(&empty).iter().filter(|(m, _)| METHODS.contains(&m.as_str())) {
                let at = format!("{} {path}", method.to_uppercase());
                match op["operationId"].as_str() {
                    None => faults.push(format!("{at}: no operationId")),
                    Some(id) => {
                        if !camel_case(id) {
                            faults.push(format!("{at}: operationId {id} is not camelCase"));
                        }
                        if let Some(other) = ids.insert(id.to_owned(), at.clone()) {
                            faults.push(format!("{at}: operationId {id} is also that of {other}"));
                        }
                    }
                }
                let responses = op["responses"].as_object().unwrap_or(&empty);
                let mut needed = Vec::new();
                if op.get("requestBody").is_some() {
                    needed.extend(["400", "413", "415", "422"]);
                }
                if path.contains("{id}") {
                    needed.push("404");
                }
                let params = op["parameters"].as_array().map(Vec::as_slice).unwrap_or_default();
                let query = |name: &str| params.iter().any(|p| p["in"] == "query" && p["name"] == name);
                if query("limit") {
                    needed.push("422");
                    // One page mechanism for every collection: by offset or by key.
                    for name in ["offset", "after"].into_iter().filter(|name| !query(name)) {
                        faults.push(format!("{at}: a list without the {name} parameter"));
                    }
                }
                for status in needed {
                    if !responses.contains_key(status) {
                        faults.push(format!("{at}: no {status} response"));
                    }
                }
                if responses.get("201").is_some_and(|created| created["headers"].get("Location").is_none()) {
                    faults.push(format!("{at}: the 201 response has no Location header"));
                }
                for (status, response) in responses.iter().filter(|(s, _)| s.starts_with('4') || s.starts_with('5')) {
                    if response["content"]["application/problem+json"]["schema"]["$ref"] != "#/components/schemas/Problem" {
                        faults.push(format!("{at}: the {status} response is not an application/problem+json Problem"));
                    }
                }
            }
        }
        faults
    }

    #[test]
    fn keeps_the_conventions_on_every_operation() {
        let doc = serde_json::to_value(ApiDoc::openapi()).expect("serializes");
        let faults = lint(&doc);
        assert!(faults.is_empty(), "the OpenAPI document breaks the API's conventions:\n{}", faults.join("\n"));
        let items = doc["paths"].as_object().expect("paths").values();
        let operations = items.flat_map(|item| item.as_object().expect("a path item").keys()).filter(|m| METHODS.contains(&m.as_str())).count();
        assert!(operations > 40, "{operations} operations linted");
    }

    #[test]
    fn the_lint_finds_missing_ids_problems_and_statuses() {
        let mut doc = serde_json::to_value(ApiDoc::openapi()).expect("serializes");
        assert!(lint(&doc).is_empty());
        let orders = &mut doc["paths"]["/v1/orders"];
        orders["post"]["responses"].as_object_mut().expect("responses").remove("415");
        orders["get"]["operationId"] = serde_json::json!("createOrder");
        doc["paths"]["/v1/depots/{id}"]["get"]["responses"]["404"]["content"] = serde_json::json!({ "text/plain": {} });
        doc["paths"]["/v1/things/{id}"] = serde_json::json!({ "put": { "requestBody": {}, "responses": { "200": {} } } });
        doc["paths"]["/v1/depots"]["get"]["responses"].as_object_mut().expect("responses").remove("422");
        doc["paths"]["/v1/customers"]["post"]["responses"]["201"].as_object_mut().expect("a 201").remove("headers");
        doc["paths"]["/v1/plans"]["get"]["parameters"].as_array_mut().expect("parameters").retain(|p| p["name"] != "after");
        let mut faults = lint(&doc);
        faults.sort();
        let expected = [
            "GET /v1/depots/{id}: the 404 response is not an application/problem+json Problem",
            "GET /v1/depots: no 422 response",
            "GET /v1/plans: a list without the after parameter",
            "POST /v1/customers: the 201 response has no Location header",
            "POST /v1/orders: no 415 response",
            "POST /v1/orders: operationId createOrder is also that of GET /v1/orders",
            "PUT /v1/things/{id}: no 400 response",
            "PUT /v1/things/{id}: no 404 response",
            "PUT /v1/things/{id}: no 413 response",
            "PUT /v1/things/{id}: no 415 response",
            "PUT /v1/things/{id}: no 422 response",
            "PUT /v1/things/{id}: no operationId",
        ];
        assert_eq!(faults, expected);
    }

    #[test]
    fn describes_every_route_the_routers_serve() {
        let routes = served_routes();
        for expected in [
            ("get", "/v1/plans/{id}/routes/mine"),
            ("post", "/v1/orders/{id}/status"),
            ("get", "/readyz"),
            ("delete", "/v1/vehicles/{id}/assignments/{date}"),
            ("post", "/v1/vroom"),
        ] {
            assert!(routes.iter().any(|(m, p)| (m.as_str(), p.as_str()) == expected), "the source scan finds {expected:?}: {routes:?}");
        }
        assert!(routes.len() > 40, "{routes:?}");
        let doc = serde_json::to_value(ApiDoc::openapi()).expect("serializes");
        let missing: Vec<_> = routes.iter().filter(|(method, path)| doc["paths"][path.as_str()].get(method.as_str()).is_none()).collect();
        assert!(missing.is_empty(), "served but not in the OpenAPI document: {missing:?}");
    }

    #[test]
    fn describes_order_and_plan_bodies_and_their_problems() {
        let doc = serde_json::to_value(ApiDoc::openapi()).expect("serializes");
        for schema in ["OrderInput", "Order", "OrderEvent", "StatusChangeInput", "PlanRequestInput", "PlanJob", "PlanResult", "PlannedRoute", "DriverRoutes"] {
            assert!(doc["components"]["schemas"].get(schema).is_some(), "{schema} missing");
        }
        let post = &doc["paths"]["/v1/orders"]["post"];
        assert!(post["requestBody"]["content"]["application/json"].is_object(), "{post}");
        assert!(post["responses"]["422"]["content"]["application/problem+json"].is_object(), "{post}");
        assert_eq!(post["operationId"], "createOrder");
        assert!(post["responses"]["201"]["headers"]["Location"]["schema"].is_object(), "{post}");
        for schema in ["OrderInput", "EventInput", "TimeWindow", "PlanOptionsInput", "LoginRequest"] {
            assert_eq!(doc["components"]["schemas"][schema]["additionalProperties"], false, "{schema} refuses unknown fields");
        }
        let read = &doc["paths"]["/v1/plans/{id}"]["get"]["responses"];
        assert!(read["200"]["content"]["application/json"].is_object() && read["404"].is_object() && read["403"].is_object(), "{read}");
    }

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
