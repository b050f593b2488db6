//! `/healthz` (the process answers) and `/readyz` (the database answers and every embedded
//! migration is applied).

use super::error::ApiError;
use super::AppState;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

/// The health router, mounted at the root.
pub fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz))
}

async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    state.store.ready().await.map_err(|e| ApiError::NotReady(e.to_string()))?;
    Ok(Json(json!({ "status": "ready", "database": state.store.backend() })))
}
