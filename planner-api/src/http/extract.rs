//! Request extractors that fail with [`ApiError`] problems instead of axum's plain-text
//! rejections: a JSON body whose type errors name the field, list parameters, and numeric ids.
//!
//! Text that no field takes is refused here, once for every resource, before any handler or the
//! database sees it: a control character (NUL above all, which PostgreSQL cannot store and
//! answered with a 500) in any string or key of a JSON body, or in a query parameter, is a 422
//! naming the field (`control_character`).

use super::error::ApiError;
use super::page::cursor_key;
use crate::domain::validation::has_control_character;
use crate::domain::{Expected, FieldError, FieldProblem};
use crate::store::{PageRequest, DEFAULT_LIMIT, MAX_LIMIT};
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::{header, request::Parts};
use serde::de::DeserializeOwned;
use std::collections::HashMap;

/// A JSON request body. Malformed JSON is a 400 problem; a value of the wrong type, a missing
/// field or an unknown one (the body types refuse fields they do not know, see
/// `#[serde(deny_unknown_fields)]` on them) is a 422 validation problem naming the field by its
/// JSON path.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

/// Whether a `Content-Type` names JSON (`application/json` or `application/…+json`).
pub(crate) fn is_json(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|v| {
        let mime = v.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
    })
}

/// The backquoted names of a serde expectation: "`a`", "`a` or `b`", "one of `a`, `b`, `c`".
fn quoted_names(text: &str) -> Vec<String> {
    text.split('`').skip(1).step_by(2).map(str::to_owned).collect()
}

/// What serde's `expected …` text (a Rust type name or serde's description of one) asks for,
/// in the plain terms of [`Expected`].
fn expected(text: &str) -> Expected {
    match text.trim() {
        "f64" | "f32" => Expected::Number,
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => Expected::Integer,
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => Expected::NonNegativeInteger,
        "a boolean" => Expected::Bool,
        "a sequence" => Expected::List,
        "a map" => Expected::Object,
        t if t.starts_with("a tuple") || t.starts_with("an array") || t.starts_with("tuple") => Expected::List,
        t if t.starts_with("struct ") => Expected::Object,
        t if t.ends_with("string") || t == "a character" => Expected::Text,
        t if t.contains('`') => Expected::OneOf(quoted_names(t)),
        _ => Expected::Other,
    }
}

/// Reads serde's message about the value at some path: the problem, and the name of the field
/// under that path it is about when the message names one (a missing or unknown field).
///
/// serde's messages name Rust types ("invalid type: string \"north\", expected f64"), which
/// mean nothing to API clients and are English only; they become [`FieldProblem`]s, which have
/// plain messages in both languages.
fn serde_problem(message: &str) -> (Option<String>, FieldProblem) {
    if let Some(name) = message.strip_prefix("missing field `").and_then(|m| m.strip_suffix('`')) {
        return (Some(name.to_owned()), FieldProblem::Required);
    }
    if let Some(rest) = message.strip_prefix("unknown field `") {
        // The name is the client's and may hold anything; the list after it is ours.
        let end = rest.rfind("`, expected ").or_else(|| rest.rfind("`, there are no fields")).unwrap_or(rest.len());
        let allowed = quoted_names(rest.get(end + 1..).unwrap_or_default());
        return (Some(rest[..end].to_owned()), FieldProblem::UnknownField { allowed });
    }
    if let Some(rest) = message.strip_prefix("unknown variant `") {
        let names = rest.rfind("`, expected ").map(|end| quoted_names(&rest[end + 1..])).unwrap_or_default();
        return (None, FieldProblem::InvalidType(Expected::OneOf(names)));
    }
    let shape = ["invalid type: ", "invalid value: ", "invalid length "].iter().any(|p| message.starts_with(p));
    match message.rsplit_once(", expected ") {
        Some((_, wanted)) if shape => (None, FieldProblem::InvalidType(expected(wanted))),
        _ => (None, FieldProblem::InvalidType(Expected::Other)),
    }
}

/// Turns a serde error at `path` into a field error; a missing or unknown field `x` is named
/// `path.x` itself.
fn field_error(path: &str, message: &str) -> FieldError {
    let (child, problem) = serde_problem(message);
    // serde_path_to_error has already put an unknown key on the path (a missing one it cannot).
    let on_path = |name: &str| matches!(problem, FieldProblem::UnknownField { .. }) && (path == name || path.ends_with(&format!(".{name}")));
    let field = match child {
        Some(name) if path == "." => name,
        Some(name) if on_path(&name) => path.to_owned(),
        Some(name) => format!("{path}.{name}"),
        None if path == "." => "body".to_owned(),
        None => path.to_owned(),
    };
    FieldError::new(field, problem)
}

/// Most fields named in one `control_character` problem (a body full of NULs gets a short answer).
const MAX_CONTROL_ERRORS: usize = 20;

/// Records a `control_character` error for every string (or object key) under `value` at `path`
/// that holds a control character (see [`has_control_character`]), up to
/// [`MAX_CONTROL_ERRORS`]. Paths read like serde's: `name`, `items[2].note`. Iterative, so a
/// deeply nested body cannot exhaust the stack (serde_json refuses nesting over 128 anyway).
fn control_characters(value: &serde_json::Value, errors: &mut Vec<FieldError>) {
    use serde_json::Value;
    let mut stack: Vec<(String, &Value)> = vec![(String::new(), value)];
    while let Some((path, value)) = stack.pop() {
        if errors.len() >= MAX_CONTROL_ERRORS {
            return;
        }
        let join = |name: &str| if path.is_empty() { name.to_owned() } else { format!("{path}.{name}") };
        match value {
            Value::String(text) if has_control_character(text) => {
                errors.push(FieldError::new(if path.is_empty() { "body".to_owned() } else { path.clone() }, FieldProblem::ControlCharacter));
            }
            Value::Array(items) => stack.extend(items.iter().enumerate().rev().map(|(i, v)| (format!("{path}[{i}]"), v))),
            Value::Object(fields) => {
                for (key, _) in fields.iter().filter(|(key, _)| has_control_character(key)) {
                    errors.push(FieldError::new(join(&key.escape_debug().to_string()), FieldProblem::ControlCharacter));
                }
                stack.extend(fields.iter().rev().filter(|(key, _)| !has_control_character(key)).map(|(key, v)| (join(key), v)));
            }
            _ => {}
        }
    }
}

/// Parses a JSON object body into `T`, mapping every failure to an [`ApiError`]. A control
/// character in any string or key is a validation error naming where it is.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| ApiError::MalformedJson(e.to_string()))?;
    if !value.is_object() {
        return Err(ApiError::Validation(vec![FieldError::new("body", FieldProblem::InvalidType(Expected::Object))]));
    }
    let mut errors = Vec::new();
    control_characters(&value, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        ApiError::Validation(vec![field_error(&path, &e.into_inner().to_string())])
    })
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        if !is_json(req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok())) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|r| {
            if r.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::MalformedJson(r.body_text())
            }
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Pagination and filters of list endpoints: `limit` with `offset` (offset pages) or `after`
/// (keyset pages, see [`super::page`]); bad numbers, a cursor no page wrote and `offset` with
/// `after` are validation errors naming the parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListParams {
    /// The page.
    pub page: PageRequest,
    /// `district=` filter.
    pub district: Option<String>,
    /// Every query parameter, for resources with their own filters.
    pub query: HashMap<String, String>,
}

impl ListParams {
    /// A non-blank query parameter, trimmed.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.query.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
    }
}

fn number(errors: &mut Vec<FieldError>, params: &HashMap<String, String>, name: &str, default: i64, min: i64, max: i64) -> i64 {
    match params.get(name).map(|v| v.trim().parse::<i64>()) {
        None => default,
        Some(Ok(v)) if (min..=max).contains(&v) => v,
        Some(_) => {
            // Bounds are small integers: exact in f64.
            #[allow(clippy::cast_precision_loss)]
            let problem = FieldProblem::OutOfRange { min: min as f64, max: max as f64 };
            errors.push(FieldError::new(name, problem));
            default
        }
    }
}

/// The page asked for: by key when `after` is given (empty: from the first item), else by offset.
fn page_request(errors: &mut Vec<FieldError>, params: &HashMap<String, String>) -> PageRequest {
    let limit = number(errors, params, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT);
    let offset = number(errors, params, "offset", 0, 0, i64::from(i32::MAX));
    let Some(raw) = params.get("after").map(|a| a.trim()) else { return PageRequest::offset(limit, offset) };
    if params.contains_key("offset") {
        let problem = FieldProblem::State { code: "offset_with_after", zh: "不可同時使用 offset 與 after", en: "cannot be used with after" };
        errors.push(FieldError::new("offset", problem));
    }
    let key = cursor_key(raw);
    if !raw.is_empty() && key.is_none() {
        errors.push(FieldError::new("after", FieldProblem::Pattern { expected: "the `next` of the previous page" }));
    }
    PageRequest::after(limit, key)
}

impl<S: Send + Sync> FromRequestParts<S> for ListParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Query(params) = Query::<HashMap<String, String>>::from_request_parts(parts, state).await.map_err(|r| ApiError::BadQuery(r.body_text()))?;
        let mut errors = Vec::new();
        // Filters reach the database: a NUL there was a 500 on PostgreSQL.
        let mut bad: Vec<&String> = params.iter().filter(|(k, v)| has_control_character(k) || has_control_character(v)).map(|(k, _)| k).collect();
        bad.sort();
        errors.extend(bad.into_iter().map(|k| FieldError::new(k.escape_debug().to_string(), FieldProblem::ControlCharacter)));
        let page = page_request(&mut errors, &params);
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        let district = params.get("district").map(|d| d.trim().to_owned()).filter(|d| !d.is_empty());
        Ok(ListParams { page, district, query: params })
    }
}

/// Parses a path id; anything that is not a positive integer names no resource (404).
pub fn parse_id(raw: &str, resource: &'static str) -> Result<i64, ApiError> {
    raw.parse::<i64>().ok().filter(|id| *id > 0).ok_or(ApiError::NotFound { resource })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{CustomerInput, Lang};

    #[test]
    fn names_the_field_of_a_wrong_type_and_of_a_missing_field() {
        let e = parse_json::<CustomerInput>(br#"{"lat": "north", "lon": 121.5}"#).err();
        let number = FieldProblem::InvalidType(Expected::Number);
        assert!(matches!(e, Some(ApiError::Validation(ref v)) if v[0].field == "lat" && v[0].problem == number), "{e:?}");
        let e = parse_json::<CustomerInput>(br#"{"usual_cylinders": [{"size_kg": 20, "quantity": -1}]}"#).err();
        let natural = FieldProblem::InvalidType(Expected::NonNegativeInteger);
        assert!(matches!(e, Some(ApiError::Validation(ref v)) if v[0].field == "usual_cylinders[0].quantity" && v[0].problem == natural), "{e:?}");
        let e = parse_json::<CustomerInput>(br#"{"time_windows": [{"start": "08:00"}]}"#).err();
        let missing = FieldProblem::Required;
        assert!(matches!(e, Some(ApiError::Validation(ref v)) if v[0].field == "time_windows[0].end" && v[0].problem == missing), "{e:?}");
    }

    #[test]
    fn says_what_a_mistyped_value_should_be_in_plain_words() {
        let cases = [
            ("invalid type: string \"north\", expected f64", Expected::Number),
            ("invalid type: string \"1\", expected i64", Expected::Integer),
            ("invalid value: integer `-1`, expected u32", Expected::NonNegativeInteger),
            ("invalid type: integer `1`, expected a boolean", Expected::Bool),
            ("invalid type: integer `5`, expected a string", Expected::Text),
            ("invalid type: string \"a, expected b\", expected a sequence", Expected::List),
            ("invalid length 1, expected a tuple of size 2", Expected::List),
            ("invalid type: string \"x\", expected struct TimeWindow", Expected::Object),
            ("invalid type: null, expected a map", Expected::Object),
            ("invalid value: string \"x\", expected `cash` or `transfer`", Expected::OneOf(vec!["cash".into(), "transfer".into()])),
            ("something else entirely", Expected::Other),
        ];
        for (message, expected) in cases {
            assert_eq!(serde_problem(message), (None, FieldProblem::InvalidType(expected)), "{message}");
        }
        let variant = serde_problem("unknown variant `bitcoin`, expected one of `cash`, `transfer`, `monthly`");
        assert_eq!(variant.1, FieldProblem::InvalidType(Expected::OneOf(vec!["cash".into(), "transfer".into(), "monthly".into()])));
    }

    #[test]
    fn names_unknown_fields_under_their_object_with_the_fields_it_takes() {
        let (field, problem) = serde_problem("unknown field `colour`, expected `start` or `end`");
        assert_eq!((field.as_deref(), problem), (Some("colour"), FieldProblem::UnknownField { allowed: vec!["start".into(), "end".into()] }));
        let (field, problem) = serde_problem("unknown field `a`, expected `b`, x`, expected one of `start`, `end`");
        assert_eq!(field.as_deref(), Some("a`, expected `b`, x"), "the client's name may look like serde's own text");
        assert_eq!(problem, FieldProblem::UnknownField { allowed: vec!["start".into(), "end".into()] });
        assert_eq!(serde_problem("unknown field `x`, there are no fields").1, FieldProblem::UnknownField { allowed: vec![] });

        let e = parse_json::<crate::domain::replan::EventsInput>(
            br#"{"events": [{"type": "order_added", "order_id": 1}, {"type": "stop_done", "colour": "red"}]}"#,
        );
        let Err(ApiError::Validation(errors)) = e else { panic!("{e:?}") };
        assert_eq!((errors[0].field.as_str(), errors[0].code()), ("events[1].colour", "unknown_field"));
        let en = errors[0].message(Lang::En);
        assert!(en.contains("order_id") && en.contains("type") && en.contains("note"), "{en}");
        assert!(errors[0].message(Lang::ZhTw).starts_with("不是可用的欄位"), "{:?}", errors[0]);
        let e = parse_json::<CustomerInput>(br#"{"code": "C0001", "nmae": "x"}"#).err();
        assert!(matches!(e, Some(ApiError::Validation(ref v)) if v[0].field == "nmae" && v[0].code() == "unknown_field"), "{e:?}");
    }

    #[test]
    fn treats_broken_and_trailing_json_as_malformed() {
        assert!(matches!(parse_json::<CustomerInput>(b"{\"lat\": "), Err(ApiError::MalformedJson(_))));
        assert!(matches!(parse_json::<serde_json::Value>(b"{} x"), Err(ApiError::MalformedJson(_))));
    }

    #[test]
    fn refuses_control_characters_anywhere_in_a_body_naming_where() {
        let e = parse_json::<serde_json::Value>(br#"{"email": "a\u0000@x.tw", "password": "ok"}"#).err();
        assert!(matches!(e, Some(ApiError::Validation(ref v)) if v.len() == 1 && v[0].field == "email" && v[0].code() == "control_character"), "{e:?}");
        let e = parse_json::<serde_json::Value>(br#"{"events": [{"note": "fine\nline"}, {"note": "bell\u0007"}], "k\u0000": 1}"#).err();
        let Some(ApiError::Validation(v)) = e else { panic!("{e:?}") };
        let fields: Vec<&str> = v.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["k\\0", "events[1].note"]);
        let flood = format!("{{\"xs\": [{}]}}", vec!["\"\\u0000\""; 1000].join(","));
        let Err(ApiError::Validation(v)) = parse_json::<serde_json::Value>(flood.as_bytes()) else { panic!("refused") };
        assert_eq!(v.len(), MAX_CONTROL_ERRORS);
        assert!(parse_json::<serde_json::Value>("{\"name\": \"陳大文\\t\\r\\n\"}".as_bytes()).is_ok(), "tabs and line breaks pass");
    }

    #[test]
    fn wants_an_object_at_the_top() {
        let e = parse_json::<CustomerInput>(b"[1, 2]").err();
        let object = FieldProblem::InvalidType(Expected::Object);
        assert!(matches!(e, Some(ApiError::Validation(ref v)) if v[0].field == "body" && v[0].problem == object), "{e:?}");
    }

    #[test]
    fn accepts_json_content_types_only() {
        assert!(is_json(Some("application/json; charset=utf-8")));
        assert!(is_json(Some("application/merge-patch+json")));
        assert!(!is_json(Some("text/plain")));
        assert!(!is_json(None));
    }
}
