//! The routes of API.md and the console's session routes (contracts §4).
//! A GET answers with the CLI's `--json` document for the same thing: the
//! same core call, serialized by the same types, URL passwords redacted as
//! the CLI does.

use crate::auth::{session_cookie, Caller, SessionInfo, SESSION_COOKIE};
use crate::error::ApiError;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use hubkeep_core::dbpassword::redact_urls;
use hubkeep_core::ops::tokens::Role;
use hubkeep_core::PlanChange;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::sync::Arc;

type S = State<Arc<AppState>>;
type Doc = Result<Json<Value>, ApiError>;

/// A response document as the CLI prints it with `--json`.
pub fn document<T: Serialize>(v: &T) -> Value {
    redact(serde_json::to_value(v).expect("a record always serializes to JSON"))
}

fn redact(v: Value) -> Value {
    match v {
        Value::String(s) => Value::String(redact_urls(&s)),
        Value::Array(items) => Value::Array(items.into_iter().map(redact).collect()),
        Value::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (k, redact(v))).collect()),
        other => other,
    }
}

/// Run a core call for an authenticated caller and answer with its document.
pub(crate) async fn read<T, F>(state: &AppState, f: F) -> Doc
where
    T: Serialize + Send + 'static,
    F: FnOnce(&hubkeep_core::Hubkeep) -> hubkeep_core::Result<T> + Send + 'static,
{
    Ok(Json(document(&state.blocking(f).await?)))
}

/// A JSON body, or 400 saying what is wrong with it.
pub(crate) fn body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request(format!("the request body is not valid: {e}")))
}

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/api/v1/health", get(health))
        .route(
            "/api/v1/session",
            post(session_open).get(session_show).delete(session_close),
        )
        .route("/api/v1/stacks", get(stacks))
        .route("/api/v1/stacks/{name}", get(stack).delete(crate::admin::stack_delete))
        .route("/api/v1/stacks/{name}/plan", get(plan).put(plan_set))
        .route("/api/v1/stacks/{name}/history", get(crate::history::history))
        .route("/api/v1/plans", get(plans))
        .route("/api/v1/backup-sets", get(backup_sets))
        .route("/api/v1/backup-sets/{id}", get(backup_set))
        .route("/api/v1/backup-sets/{id}/verify", post(crate::work::verify))
        .route("/api/v1/stacks/{name}/backups", post(crate::work::backup))
        .route("/api/v1/stacks/{name}/drills", post(crate::work::drill))
        .route("/api/v1/drills", get(drills))
        .route("/api/v1/restores", post(crate::work::restore))
        .route("/api/v1/db-snapshots", get(db_snapshots))
        .route("/api/v1/db-snapshots/{id}", get(db_snapshot).delete(crate::admin::db_snapshot_delete))
        .route("/api/v1/recovery-points", get(recovery_points))
        .route("/api/v1/recovery-points/{arn}", get(recovery_point).delete(crate::admin::recovery_point_delete))
        .route("/api/v1/jobs", get(jobs))
        .route("/api/v1/jobs/{id}", get(job))
        .route("/api/v1/jobs/{id}/events", get(job_events))
        .route("/api/v1/vaults", get(vaults))
        .route("/api/v1/vaults/{name}", get(vault))
        .route("/api/v1/secrets", get(secrets))
        .route(
            "/api/v1/secrets/{name}/cancel-deletion",
            post(secret_cancel_deletion),
        )
        .route("/api/v1/secrets/{name}", delete(crate::admin::secret_delete))
        .route("/api/v1/notifications", get(crate::admin::notifications).post(crate::admin::notification_add))
        .route("/api/v1/notifications/{name}", delete(crate::admin::notification_remove))
        .route("/api/v1/notifications/{name}/test", post(crate::admin::notification_test))
        .route("/api/v1/tokens", get(tokens).post(token_create))
        .route("/api/v1/tokens/{name}", delete(token_revoke))
        .route("/metrics", get(metrics))
        .route("/api/v1/openapi.json", get(openapi_json))
        .fallback(crate::console::console_or_not_found)
        .with_state(state)
}

pub(crate) async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such route; GET /api/v1/openapi.json lists them",
    )
}

#[utoipa::path(get, path = "/api/v1/health", responses((status = 200, description = "The server answers; needs no token")))]
async fn health() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct SignIn {
    token: String,
}

fn session_cookie_header(value: &str, max_age: Option<u64>) -> String {
    let age = max_age
        .map(|s| format!("; Max-Age={s}"))
        .unwrap_or_default();
    format!("{SESSION_COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/{age}")
}

#[utoipa::path(post, path = "/api/v1/session", request_body = SignIn, responses((status = 200, description = "Signed in; sets the HttpOnly SameSite=Strict cookie hubkeep_session", body = SessionInfo), (status = 401, description = "Not a valid token", body = crate::error::ErrorBody)))]
async fn session_open(State(state): S, bytes: axum::body::Bytes) -> Result<Response, ApiError> {
    let SignIn { token } = body(&bytes)?;
    let info = state.blocking(move |hk| hk.authenticate(&token)).await?;
    let (id, session): (String, SessionInfo) = state.sessions.open(&info);
    Ok((
        [(header::SET_COOKIE, session_cookie_header(&id, None))],
        Json(document(&session)),
    )
        .into_response())
}

#[utoipa::path(get, path = "/api/v1/session", responses((status = 200, description = "The session of the cookie", body = SessionInfo), (status = 401, description = "No session", body = crate::error::ErrorBody)), security(("cookie" = [])))]
async fn session_show(State(state): S, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    let unauth = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "no session; sign in with POST /api/v1/session",
        )
    };
    let (mut parts, _) = axum::http::Request::new(()).into_parts();
    parts.headers = headers;
    let id = session_cookie(&parts).ok_or_else(unauth)?;
    let session = state.sessions.get(&id).ok_or_else(unauth)?;
    Ok(Json(document(&session)))
}

#[utoipa::path(delete, path = "/api/v1/session", responses((status = 204, description = "Signed out")), security(("cookie" = [])))]
async fn session_close(State(state): S, headers: HeaderMap) -> Response {
    let (mut parts, _) = axum::http::Request::new(()).into_parts();
    parts.headers = headers;
    if let Some(id) = session_cookie(&parts) {
        state.sessions.close(&id);
    }
    (
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, session_cookie_header("", Some(0)))],
    )
        .into_response()
}

#[utoipa::path(get, path = "/api/v1/stacks", responses((status = 200, description = "`hubkeep --json stack list`", body = Vec<hubkeep_core::records::Stack>), (status = 401, description = "No valid token or session", body = crate::error::ErrorBody), (status = "4XX", description = "Refused (400 bad input, 404 not found, 409 exists or busy, 422 refused by a rule)", body = crate::error::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
async fn stacks(State(state): S, _c: Caller) -> Doc {
    read(&state, |hk| hk.stacks()).await
}

#[utoipa::path(get, path = "/api/v1/stacks/{name}", params(("name" = String, Path, description = "The stack")), responses((status = 200, description = "`stack show NAME`", body = hubkeep_core::ops::plans::StackView), (status = 401, description = "No valid token or session", body = crate::error::ErrorBody), (status = "4XX", description = "Refused (400 bad input, 404 not found, 409 exists or busy, 422 refused by a rule)", body = crate::error::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
async fn stack(State(state): S, _c: Caller, Path(name): Path<String>) -> Doc {
    read(&state, move |hk| hk.stack_show(&name)).await
}

#[utoipa::path(get, path = "/api/v1/stacks/{name}/plan", params(("name" = String, Path, description = "The stack")), responses((status = 200, description = "`plan show NAME`", body = hubkeep_core::ops::plans::PlanView), (status = 401, description = "No valid token or session", body = crate::error::ErrorBody), (status = "4XX", description = "Refused (400 bad input, 404 not found, 409 exists or busy, 422 refused by a rule)", body = crate::error::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
async fn plan(State(state): S, _c: Caller, Path(name): Path<String>) -> Doc {
    read(&state, move |hk| hk.plan_show(&name)).await
}

#[utoipa::path(get, path = "/api/v1/plans", responses((status = 200, description = "`plan list`", body = Vec<hubkeep_core::ops::plans::PlanView>), (status = 401, description = "No valid token or session", body = crate::error::ErrorBody), (status = "4XX", description = "Refused (400 bad input, 404 not found, 409 exists or busy, 422 refused by a rule)", body = crate::error::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
async fn plans(State(state): S, _c: Caller) -> Doc {
    read(&state, |hk| hk.plan_list()).await
}

#[utoipa::path(put, path = "/api/v1/stacks/{name}/plan", params(("name" = String, Path, description = "The stack")), request_body = hubkeep_core::PlanChange, responses((status = 200, description = "The changed plan (`plan set`)", body = hubkeep_core::ops::plans::PlanView), (status = 401, description = "No valid token or session", body = crate::error::ErrorBody), (status = 403, description = "Needs role operator", body = crate::error::ErrorBody), (status = "4XX", description = "Refused (400 bad input, 404 not found, 409 exists or busy, 422 refused by a rule)", body = crate::error::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
async fn plan_set(
    State(state): S,
    c: Caller,
    Path(name): Path<String>,
    bytes: axum::body::Bytes,
) -> Doc {
    c.require(Role::Operator)?;
    let change: PlanChange = body(&bytes)?;
    read(&state, move |hk| hk.plan_set(&name, &change)).await
}

#[derive(Deserialize)]
struct StackFilter {
    stack: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/backup-sets", params(("stack" = Option<String>, Query, description = "Only this stack's sets")), responses((status = 200, description = "`backup-set list`, of one stack with ?stack=", body = Vec<hubkeep_core::records::BackupSet>), (status = 401, description = "No valid token or session", body = crate::error::ErrorBody), (status = "4XX", description = "Refused (400 bad input, 404 not found, 409 exists or busy, 422 refused by a rule)", body = crate::error::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
async fn backup_sets(State(state): S, _c: Caller, Query(q): Query<StackFilter>) -> Doc {
    read(&state, move |hk| {
        Ok(hk
            .backup_sets()?
            .into_iter()
            .filter(|s| q.stack.as_ref().is_none_or(|st| &s.stack_name == st))
            .collect::<Vec<_>>())
    })
    .await
}

#[utoipa::path(get, path = "/api/v1/backup-sets/{id}", params(("id" = String, Path, description = "The backup id")), responses((status = 200, description = "`backup-set show ID`", body = hubkeep_core::records::BackupSet), (status = 401, description = "No valid token or session", body = crate::error::ErrorBody), (status = "4XX", description = "Refused (400 bad input, 404 not found, 409 exists or busy, 422 refused by a rule)", body = crate::error::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
async fn backup_set(State(state): S, _c: Caller, Path(id): Path<String>) -> Doc {
    read(&state, move |hk| hk.backup_set(&id)).await
}

#[utoipa::path(get, path = "/api/v1/db-snapshots", params(("stack" = Option<String>, Query, description = "Only this stack's snapshots")), responses((status = 200, description = "`db-snapshot list`", body = Vec<hubkeep_core::records::DbSnapshot>), (status = 401, description = "No valid token or session", body = crate::error::ErrorBody), (status = "4XX", description = "Refused (400 bad input, 404 not found, 409 exists or busy, 422 refused by a rule)", body = crate::error::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
async fn db_snapshots(State(state): S, _c: Caller, Query(q): Query<StackFilter>) -> Doc {
    read(&state, move |hk| hk.db_snapshots(q.stack.as_deref())).await
}

#[utoipa::path(get, path = "/api/v1/db-snapshots/{id}", params(("id" = String, Path, description = "The snapshot id")), responses((status = 200, description = "`db-snapshot show ID`", body = hubkeep_core::records::DbSnapshot), (status = 401, description = "No valid token or session", body = crate::error::ErrorBody), (status = "4XX", description = "Refused (400 bad input, 404 not found, 409 exists or busy, 422 refused by a rule)", body = crate::error::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
async fn db_snapshot(State(state): S, _c: Caller, Path(id): Path<String>) -> Doc {
    read(&state, move |hk| hk.db_snapshot(&id)).await
}

#[derive(Deserialize)]
struct VaultFilter {
    vault: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/recovery-points", params(("vault" = Option<String>, Query, description = "Only this vault's recovery points")), responses((status = 200, description = "`recovery-point list`", body = Vec<hubkeep_core::records::RecoveryPoint>), (status = 401, description = "No valid token or session", body = crate::error::ErrorBody), (status = "4XX", description = "Refused (400 bad input, 404 not found, 409 exists or busy, 422 refused by a rule)", body = crate::error::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
async fn recovery_points(State(state): S, _c: Caller, Query(q): Query<VaultFilter>) -> Doc {
    read(&state, move |hk| hk.recovery_points(q.vault.as_deref())).await
}

#[utoipa::path(get, path = "/api/v1/recovery-points/{arn}", params(("arn" = String, Path, description = "The recovery point ARN, URL-encoded")), responses((status = 200, description = "`recovery-point show ARN`", body = hubkeep_core::records::RecoveryPoint), (status = 401, description = "No valid token or session", body = crate::error::ErrorBody), (status = "4XX", description = "Refused (400 bad input, 404 not found, 409 exists or busy, 422 refused by a rule)", body = crate::error::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
async fn recovery_point(State(state): S, _c: Caller, Path(arn): Path<String>) -> Doc {
    read(&state, move |hk| hk.recovery_point(&arn)).await
}

#[utoipa::path(get, path = "/api/v1/drills", params(("stack" = Option<String>, Query, description = "Only this stack's drills")), responses((status = 200, description = "`drill list`", body = Vec<hubkeep_core::ops::drills::Drill>), (status = 401, description = "No valid token or session", body = crate::error::ErrorBody), (status = "4XX", description = "Refused (400 bad input, 404 not found, 409 exists or busy, 422 refused by a rule)", body = crate::error::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
async fn drills(State(state): S, _c: Caller, Query(q): Query<StackFilter>) -> Doc {
    read(&state, move |hk| hk.drill_list(q.stack.as_deref())).await
}

#[derive(Deserialize)]
struct JobFilter {
    state: Option<String>,
    stack: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/jobs", params(("state" = Option<String>, Query, description = "Only jobs in this state"), ("stack" = Option<String>, Query, description = "Only this stack's jobs")), responses((status = 200, description = "`job list`", body = Vec<hubkeep_core::records::Job>), (status = 401, description = "No valid token or session", body = crate::error::ErrorBody), (status = "4XX", description = "Refused (400 bad input, 404 not found, 409 exists or busy, 422 refused by a rule)", body = crate::error::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
async fn jobs(State(state): S, _c: Caller, Query(q): Query<JobFilter>) -> Doc {
    read(&state, move |hk| {
        hk.jobs(q.state.as_deref(), q.stack.as_deref())
    })
    .await
}

#[utoipa::path(get, path = "/api/v1/jobs/{id}", params(("id" = String, Path, description = "The job id")), responses((status = 200, description = "`job show ID`", body = hubkeep_core::records::Job), (status = 401, description = "No valid token or session", body = crate::error::ErrorBody), (status = "4XX", description = "Refused (400 bad input, 404 not found, 409 exists or busy, 422 refused by a rule)", body = crate::error::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
async fn job(State(state): S, _c: Caller, Path(id): Path<String>) -> Doc {
    read(&state, move |hk| hk.job(&id)).await
}

#[utoipa::path(get, path = "/api/v1/jobs/{id}/events", params(("id" = String, Path, description = "The job id")), responses((status = 200, description = "text/event-stream: `progress` events with the job document, then one `end` event", body = String), (status = 401, description = "No valid token or session", body = crate::error::ErrorBody), (status = "4XX", description = "Refused (400 bad input, 404 not found, 409 exists or busy, 422 refused by a rule)", body = crate::error::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
async fn job_events(
    State(state): S,
    _c: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(crate::events::job_events(state, id).await?.into_response())
}

#[utoipa::path(get, path = "/api/v1/vaults", responses((status = 200, description = "`vault list`", body = Vec<hubkeep_core::records::VaultRecord>), (status = 401, description = "No valid token or session", body = crate::error::ErrorBody), (status = "4XX", description = "Refused (400 bad input, 404 not found, 409 exists or busy, 422 refused by a rule)", body = crate::error::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
async fn vaults(State(state): S, _c: Caller) -> Doc {
    read(&state, |hk| hk.vaults()).await
}

#[utoipa::path(get, path = "/api/v1/vaults/{name}", params(("name" = String, Path, description = "The vault")), responses((status = 200, description = "`vault show NAME`", body = hubkeep_core::ops::vaults::VaultDetails), (status = 401, description = "No valid token or session", body = crate::error::ErrorBody), (status = "4XX", description = "Refused (400 bad input, 404 not found, 409 exists or busy, 422 refused by a rule)", body = crate::error::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
async fn vault(State(state): S, _c: Caller, Path(name): Path<String>) -> Doc {
    read(&state, move |hk| hk.vault_show(&name)).await
}

#[utoipa::path(get, path = "/api/v1/secrets", responses((status = 200, description = "`secret list` (metadata only, never a value)", body = Vec<hubkeep_core::secrets::SecretMeta>), (status = 401, description = "No valid token or session", body = crate::error::ErrorBody), (status = "4XX", description = "Refused (400 bad input, 404 not found, 409 exists or busy, 422 refused by a rule)", body = crate::error::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
async fn secrets(State(state): S, _c: Caller) -> Doc {
    read(&state, |hk| hk.secret_list()).await
}

#[utoipa::path(post, path = "/api/v1/secrets/{name}/cancel-deletion", params(("name" = String, Path, description = "The secret")), responses((status = 200, description = "`secret restore NAME`", body = hubkeep_core::secrets::SecretMeta), (status = 401, description = "No valid token or session", body = crate::error::ErrorBody), (status = 403, description = "Needs role admin", body = crate::error::ErrorBody), (status = "4XX", description = "Refused (400 bad input, 404 not found, 409 exists or busy, 422 refused by a rule)", body = crate::error::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
async fn secret_cancel_deletion(State(state): S, c: Caller, Path(name): Path<String>) -> Doc {
    c.require(Role::Admin)?;
    read(&state, move |hk| hk.secret_restore(&name)).await
}

#[utoipa::path(get, path = "/api/v1/tokens", responses((status = 200, description = "`token list` (never a token)", body = Vec<hubkeep_core::ops::tokens::TokenInfo>), (status = 401, description = "No valid token or session", body = crate::error::ErrorBody), (status = 403, description = "Needs role admin", body = crate::error::ErrorBody), (status = "4XX", description = "Refused (400 bad input, 404 not found, 409 exists or busy, 422 refused by a rule)", body = crate::error::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
async fn tokens(State(state): S, c: Caller) -> Doc {
    c.require(Role::Admin)?;
    read(&state, |hk| hk.token_list()).await
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct TokenCreate {
    name: String,
    #[serde(default = "read_role")]
    role: String,
}

fn read_role() -> String {
    "read".into()
}

#[utoipa::path(post, path = "/api/v1/tokens", request_body = TokenCreate, responses((status = 201, description = "The new token, shown once", body = hubkeep_core::ops::tokens::CreatedToken), (status = 401, description = "No valid token or session", body = crate::error::ErrorBody), (status = 403, description = "Needs role admin", body = crate::error::ErrorBody), (status = "4XX", description = "Refused (400 bad input, 404 not found, 409 exists or busy, 422 refused by a rule)", body = crate::error::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
async fn token_create(
    State(state): S,
    c: Caller,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    c.require(Role::Admin)?;
    let TokenCreate { name, role } = body(&bytes)?;
    let created = state
        .blocking(move |hk| hk.token_create(&name, Role::parse(&role)?))
        .await?;
    // The token itself is the document's point: not redacted, shown once.
    Ok((
        StatusCode::CREATED,
        Json(serde_json::to_value(&created).expect("a token serializes")),
    )
        .into_response())
}

#[utoipa::path(delete, path = "/api/v1/tokens/{name}", params(("name" = String, Path, description = "The token")), responses((status = 200, description = "`token revoke NAME`", body = hubkeep_core::ops::tokens::RevokedToken), (status = 401, description = "No valid token or session", body = crate::error::ErrorBody), (status = 403, description = "Needs role admin", body = crate::error::ErrorBody), (status = "4XX", description = "Refused (400 bad input, 404 not found, 409 exists or busy, 422 refused by a rule)", body = crate::error::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
async fn token_revoke(State(state): S, c: Caller, Path(name): Path<String>) -> Doc {
    c.require(Role::Admin)?;
    let revoked_name = name.clone();
    let doc = read(&state, move |hk| hk.token_revoke(&name)).await?;
    state.sessions.close_token(&revoked_name);
    Ok(doc)
}

#[utoipa::path(get, path = "/metrics", responses((status = 200, description = "Prometheus text format", body = String), (status = 401, description = "No valid token or session", body = crate::error::ErrorBody), (status = "4XX", description = "Refused (400 bad input, 404 not found, 409 exists or busy, 422 refused by a rule)", body = crate::error::ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
async fn metrics(State(state): S, _c: Caller) -> Result<Response, ApiError> {
    let text = state.blocking(crate::metrics::render).await?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

#[utoipa::path(get, path = "/api/v1/openapi.json", responses((status = 200, description = "This document (OpenAPI 3.1)")))]
pub(crate) async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(crate::openapi::document())
}
