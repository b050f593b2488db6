//! Request extractors that fail with [`ApiError`] problems instead of axum's plain-text
//! rejections: a JSON body whose type errors name the field, list parameters, and numeric ids.

use super::error::ApiError;
use crate::domain::{FieldError, FieldProblem};
use crate::store::{PageRequest, DEFAULT_LIMIT, MAX_LIMIT};
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::{header, request::Parts};
use serde::de::DeserializeOwned;
use std::collections::HashMap;

/// A JSON request body. Malformed JSON is a 400 problem; a value of the wrong type or a missing
/// field is a 422 validation problem naming the field by its JSON path.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

/// Whether a `Content-Type` names JSON (`application/json` or `application/…+json`).
pub(crate) fn is_json(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|v| {
        let mime = v.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
    })
}

/// Turns a serde error at `path` into a field error; "missing field `x`" names `x` itself.
fn field_error(path: &str, message: String) -> FieldError {
    let prefix = if path == "." { String::new() } else { format!("{path}.") };
    if let Some(name) = message.strip_prefix("missing field `").and_then(|m| m.split('`').next()) {
        return FieldError::new(format!("{prefix}{name}"), FieldProblem::Required);
    }
    let field = if path == "." { "body".to_owned() } else { path.to_owned() };
    FieldError::new(field, FieldProblem::InvalidJson(message))
}

/// Parses a JSON object body into `T`, mapping every failure to an [`ApiError`].
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| ApiError::MalformedJson(e.to_string()))?;
    if !value.is_object() {
        let problem = FieldProblem::InvalidJson("expected a JSON object".to_owned());
        return Err(ApiError::Validation(vec![FieldError::new("body", problem)]));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        ApiError::Validation(vec![field_error(&path, e.into_inner().to_string())])
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

/// Pagination (`limit`, `offset`) and filters of list endpoints; bad numbers are validation
/// errors naming the parameter.
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

impl<S: Send + Sync> FromRequestParts<S> for ListParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Query(params) = Query::<HashMap<String, String>>::from_request_parts(parts, state).await.map_err(|r| ApiError::BadQuery(r.body_text()))?;
        let mut errors = Vec::new();
        let limit = number(&mut errors, &params, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT);
        let offset = number(&mut errors, &params, "offset", 0, 0, i64::from(i32::MAX));
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        let district = params.get("district").map(|d| d.trim().to_owned()).filter(|d| !d.is_empty());
        Ok(ListParams { page: PageRequest { limit, offset }, district, query: params })
    }
}

/// Parses a path id; anything that is not a positive integer names no resource (404).
pub fn parse_id(raw: &str, resource: &'static str) -> Result<i64, ApiError> {
    raw.parse::<i64>().ok().filter(|id| *id > 0).ok_or(ApiError::NotFound { resource })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::CustomerInput;

    #[test]
    fn names_the_field_of_a_wrong_type_and_of_a_missing_field() {
        let e = parse_json::<CustomerInput>(br#"{"lat": "north", "lon": 121.5}"#).err();
        assert!(matches!(e, Some(ApiError::Validation(ref v)) if v[0].field == "lat"), "{e:?}");
        let e = parse_json::<CustomerInput>(br#"{"time_windows": [{"start": "08:00"}]}"#).err();
        let missing = FieldProblem::Required;
        assert!(matches!(e, Some(ApiError::Validation(ref v)) if v[0].field == "time_windows[0].end" && v[0].problem == missing), "{e:?}");
    }

    #[test]
    fn treats_broken_and_trailing_json_as_malformed() {
        assert!(matches!(parse_json::<CustomerInput>(b"{\"lat\": "), Err(ApiError::MalformedJson(_))));
        assert!(matches!(parse_json::<serde_json::Value>(b"{} x"), Err(ApiError::MalformedJson(_))));
    }

    #[test]
    fn wants_an_object_at_the_top() {
        let e = parse_json::<CustomerInput>(b"[1, 2]").err();
        assert!(matches!(e, Some(ApiError::Validation(ref v)) if v[0].field == "body"), "{e:?}");
    }

    #[test]
    fn accepts_json_content_types_only() {
        assert!(is_json(Some("application/json; charset=utf-8")));
        assert!(is_json(Some("application/merge-patch+json")));
        assert!(!is_json(Some("text/plain")));
        assert!(!is_json(None));
    }
}
