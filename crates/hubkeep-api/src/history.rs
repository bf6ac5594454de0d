//! `GET /api/v1/stacks/{name}/history`: `stack history NAME [--nights N]`
//! for the console's pictures, any role.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::Json;
use hubkeep_core::ops::history::{HistoryRequest, DEFAULT_NIGHTS};
use serde::Deserialize;
use serde_json::Value;
use std::sync::Arc;

#[derive(Deserialize)]
pub(crate) struct Nights {
    nights: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/stacks/{name}/history", params(("name" = String, Path, description = "The stack"), ("nights" = Option<u32>, Query, description = "How many nights, ending today in the plan's zone (1 to 366; default 30)")), responses((status = 200, description = "`stack history NAME [--nights N]`", body = hubkeep_core::ops::history::StackHistory), (status = 401, description = "No valid token or session", body = crate::error::ErrorBody), (status = "4XX", description = "Refused (400 bad input, 404 not found, 409 exists or busy, 422 refused by a rule)", body = crate::error::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
pub(crate) async fn history(
    State(state): State<Arc<AppState>>,
    _c: Caller,
    Path(name): Path<String>,
    Query(q): Query<Nights>,
) -> Result<Json<Value>, ApiError> {
    let req = HistoryRequest {
        stack: name,
        nights: q.nights.unwrap_or(DEFAULT_NIGHTS),
    };
    let history = state.blocking(move |hk| hk.stack_history(&req)).await?;
    Ok(Json(crate::routes::document(&history)))
}
