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
async fn read<T, F>(state: &AppState, f: F) -> Doc
where
    T: Serialize + Send + 'static,
    F: FnOnce(&hubkeep_core::Hubkeep) -> hubkeep_core::Result<T> + Send + 'static,
{
    Ok(Json(document(&state.blocking(f).await?)))
}

/// A JSON body, or 400 saying what is wrong with it.
fn body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| ApiError::bad_request(format!("the request body is not valid: {e}")))
}

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/api/v1/health", get(health))
        .route("/api/v1/session", post(session_open).get(session_show).delete(session_close))
        .route("/api/v1/stacks", get(stacks))
        .route("/api/v1/stacks/{name}", get(stack))
        .route("/api/v1/stacks/{name}/plan", get(plan).put(plan_set))
        .route("/api/v1/plans", get(plans))
        .route("/api/v1/backup-sets", get(backup_sets))
        .route("/api/v1/backup-sets/{id}", get(backup_set))
        .route("/api/v1/db-snapshots", get(db_snapshots))
        .route("/api/v1/db-snapshots/{id}", get(db_snapshot))
        .route("/api/v1/recovery-points", get(recovery_points))
        .route("/api/v1/recovery-points/{arn}", get(recovery_point))
        .route("/api/v1/jobs", get(jobs))
        .route("/api/v1/jobs/{id}", get(job))
        .route("/api/v1/jobs/{id}/events", get(job_events))
        .route("/api/v1/vaults", get(vaults))
        .route("/api/v1/vaults/{name}", get(vault))
        .route("/api/v1/secrets", get(secrets))
        .route("/api/v1/secrets/{name}/cancel-deletion", post(secret_cancel_deletion))
        .route("/api/v1/tokens", get(tokens).post(token_create))
        .route("/api/v1/tokens/{name}", delete(token_revoke))
        .route("/metrics", get(metrics))
        .fallback(crate::console::console_or_not_found)
        .with_state(state)
}

pub(crate) async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route; GET /api/v1/openapi.json lists them")
}

async fn health() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

#[derive(Deserialize)]
struct SignIn {
    token: String,
}

fn session_cookie_header(value: &str, max_age: Option<u64>) -> String {
    let age = max_age.map(|s| format!("; Max-Age={s}")).unwrap_or_default();
    format!("{SESSION_COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/{age}")
}

async fn session_open(State(state): S, bytes: axum::body::Bytes) -> Result<Response, ApiError> {
    let SignIn { token } = body(&bytes)?;
    let info = state.blocking(move |hk| hk.authenticate(&token)).await?;
    let (id, session): (String, SessionInfo) = state.sessions.open(&info);
    Ok(([(header::SET_COOKIE, session_cookie_header(&id, None))], Json(document(&session))).into_response())
}

async fn session_show(State(state): S, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    let unauth = || ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", "no session; sign in with POST /api/v1/session");
    let (mut parts, _) = axum::http::Request::new(()).into_parts();
    parts.headers = headers;
    let id = session_cookie(&parts).ok_or_else(unauth)?;
    let session = state.sessions.get(&id).ok_or_else(unauth)?;
    Ok(Json(document(&session)))
}

async fn session_close(State(state): S, headers: HeaderMap) -> Response {
    let (mut parts, _) = axum::http::Request::new(()).into_parts();
    parts.headers = headers;
    if let Some(id) = session_cookie(&parts) {
        state.sessions.close(&id);
    }
    (StatusCode::NO_CONTENT, [(header::SET_COOKIE, session_cookie_header("", Some(0)))]).into_response()
}

async fn stacks(State(state): S, _c: Caller) -> Doc {
    read(&state, |hk| hk.stacks()).await
}

async fn stack(State(state): S, _c: Caller, Path(name): Path<String>) -> Doc {
    read(&state, move |hk| hk.stack_show(&name)).await
}

async fn plan(State(state): S, _c: Caller, Path(name): Path<String>) -> Doc {
    read(&state, move |hk| hk.plan_show(&name)).await
}

async fn plans(State(state): S, _c: Caller) -> Doc {
    read(&state, |hk| hk.plan_list()).await
}

async fn plan_set(State(state): S, c: Caller, Path(name): Path<String>, bytes: axum::body::Bytes) -> Doc {
    c.require(Role::Operator)?;
    let change: PlanChange = body(&bytes)?;
    read(&state, move |hk| hk.plan_set(&name, &change)).await
}

#[derive(Deserialize)]
struct StackFilter {
    stack: Option<String>,
}

async fn backup_sets(State(state): S, _c: Caller, Query(q): Query<StackFilter>) -> Doc {
    read(&state, move |hk| Ok(hk.backup_sets()?.into_iter().filter(|s| q.stack.as_ref().is_none_or(|st| &s.stack_name == st)).collect::<Vec<_>>())).await
}

async fn backup_set(State(state): S, _c: Caller, Path(id): Path<String>) -> Doc {
    read(&state, move |hk| hk.backup_set(&id)).await
}

async fn db_snapshots(State(state): S, _c: Caller, Query(q): Query<StackFilter>) -> Doc {
    read(&state, move |hk| hk.db_snapshots(q.stack.as_deref())).await
}

async fn db_snapshot(State(state): S, _c: Caller, Path(id): Path<String>) -> Doc {
    read(&state, move |hk| hk.db_snapshot(&id)).await
}

#[derive(Deserialize)]
struct VaultFilter {
    vault: Option<String>,
}

async fn recovery_points(State(state): S, _c: Caller, Query(q): Query<VaultFilter>) -> Doc {
    read(&state, move |hk| hk.recovery_points(q.vault.as_deref())).await
}

async fn recovery_point(State(state): S, _c: Caller, Path(arn): Path<String>) -> Doc {
    read(&state, move |hk| hk.recovery_point(&arn)).await
}

#[derive(Deserialize)]
struct JobFilter {
    state: Option<String>,
    stack: Option<String>,
}

async fn jobs(State(state): S, _c: Caller, Query(q): Query<JobFilter>) -> Doc {
    read(&state, move |hk| hk.jobs(q.state.as_deref(), q.stack.as_deref())).await
}

async fn job(State(state): S, _c: Caller, Path(id): Path<String>) -> Doc {
    read(&state, move |hk| hk.job(&id)).await
}

async fn job_events(State(state): S, _c: Caller, Path(id): Path<String>) -> Result<Response, ApiError> {
    Ok(crate::events::job_events(state, id).await?.into_response())
}

async fn vaults(State(state): S, _c: Caller) -> Doc {
    read(&state, |hk| hk.vaults()).await
}

async fn vault(State(state): S, _c: Caller, Path(name): Path<String>) -> Doc {
    read(&state, move |hk| hk.vault_show(&name)).await
}

async fn secrets(State(state): S, _c: Caller) -> Doc {
    read(&state, |hk| hk.secret_list()).await
}

async fn secret_cancel_deletion(State(state): S, c: Caller, Path(name): Path<String>) -> Doc {
    c.require(Role::Admin)?;
    read(&state, move |hk| hk.secret_restore(&name)).await
}

async fn tokens(State(state): S, c: Caller) -> Doc {
    c.require(Role::Admin)?;
    read(&state, |hk| hk.token_list()).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenCreate {
    name: String,
    #[serde(default = "read_role")]
    role: String,
}

fn read_role() -> String {
    "read".into()
}

async fn token_create(State(state): S, c: Caller, bytes: axum::body::Bytes) -> Result<Response, ApiError> {
    c.require(Role::Admin)?;
    let TokenCreate { name, role } = body(&bytes)?;
    let created = state.blocking(move |hk| hk.token_create(&name, Role::parse(&role)?)).await?;
    // The token itself is the document's point: not redacted, shown once.
    Ok((StatusCode::CREATED, Json(serde_json::to_value(&created).expect("a token serializes"))).into_response())
}

async fn token_revoke(State(state): S, c: Caller, Path(name): Path<String>) -> Doc {
    c.require(Role::Admin)?;
    let revoked_name = name.clone();
    let doc = read(&state, move |hk| hk.token_revoke(&name)).await?;
    state.sessions.close_token(&revoked_name);
    Ok(doc)
}

async fn metrics(State(state): S, _c: Caller) -> Result<Response, ApiError> {
    let text = state.blocking(crate::metrics::render).await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response())
}
