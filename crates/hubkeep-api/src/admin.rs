//! The `admin` role's routes beyond tokens (API.md: "admin (also tokens,
//! notifications, deletions)"): webhooks and deletions, each one core call,
//! the same the CLI's command makes, answering with its `--json` document.

use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::routes::body;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use hubkeep_core::ops::notify::NotifyAdd;
use hubkeep_core::ops::tokens::Role;
use serde::Deserialize;
use serde_json::Value;
use std::sync::Arc;

type S = State<Arc<AppState>>;
type Doc = Result<Json<Value>, ApiError>;

/// Run a core call for an admin and answer with its document.
async fn as_admin<T, F>(state: &AppState, c: &Caller, f: F) -> Doc
where
    T: serde::Serialize + Send + 'static,
    F: FnOnce(&hubkeep_core::Hubkeep) -> hubkeep_core::Result<T> + Send + 'static,
{
    c.require(Role::Admin)?;
    crate::routes::read(state, f).await
}

/// `notify add`'s body.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NotificationAdd {
    /// The webhook's name.
    name: String,
    /// Where events are posted (`http` or `https`).
    webhook: String,
    /// The HMAC secret deliveries are signed with; none: unsigned.
    #[serde(default)]
    secret: Option<String>,
    /// Event names (API.md); none: every failure and `rpo.breached`.
    #[serde(default)]
    events: Option<Vec<String>>,
}

/// `?force=true`: as the CLI's `--force`.
#[derive(Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct Force {
    /// Delete even what a rule would keep (as `--force`).
    #[serde(default)]
    force: bool,
}

/// `?recovery_window_days=N`: as `secret delete --recovery-window-days`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct RecoveryWindow {
    /// Days until the secret is gone for good (1 to 30; default 7, as the CLI).
    #[serde(default = "seven")]
    recovery_window_days: i64,
}

fn seven() -> i64 {
    7
}

#[utoipa::path(get, path = "/api/v1/notifications", responses((status = 200, description = "`notify list` (never a secret)", body = Vec<hubkeep_core::ops::notify::WebhookRecord>), (status = 401, description = "No valid token or session", body = ErrorBody), (status = 403, description = "Needs role admin", body = ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
pub(crate) async fn notifications(State(state): S, c: Caller) -> Doc {
    as_admin(&state, &c, |hk| hk.notify_list()).await
}

#[utoipa::path(post, path = "/api/v1/notifications", request_body = NotificationAdd, responses((status = 201, description = "The webhook added (`notify add`); its secret is sealed in the secret store and never shown", body = hubkeep_core::ops::notify::WebhookRecord), (status = 401, description = "No valid token or session", body = ErrorBody), (status = 403, description = "Needs role admin", body = ErrorBody), (status = "4XX", description = "Refused (400 bad input, 409 the name exists)", body = ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
pub(crate) async fn notification_add(
    State(state): S,
    c: Caller,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let NotificationAdd {
        name,
        webhook,
        secret,
        events,
    } = body(&bytes)?;
    let req = NotifyAdd {
        name,
        webhook,
        secret,
        events,
    };
    let added = as_admin(&state, &c, move |hk| hk.notify_add(&req)).await?;
    Ok((StatusCode::CREATED, added).into_response())
}

#[utoipa::path(delete, path = "/api/v1/notifications/{name}", params(("name" = String, Path, description = "The webhook")), responses((status = 200, description = "The webhook removed with its secret (`notify remove`)", body = hubkeep_core::ops::notify::WebhookRecord), (status = 401, description = "No valid token or session", body = ErrorBody), (status = 403, description = "Needs role admin", body = ErrorBody), (status = 404, description = "No such webhook", body = ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
pub(crate) async fn notification_remove(State(state): S, c: Caller, Path(name): Path<String>) -> Doc {
    as_admin(&state, &c, move |hk| hk.notify_remove(&name)).await
}

#[utoipa::path(post, path = "/api/v1/notifications/{name}/test", params(("name" = String, Path, description = "The webhook")), responses((status = 200, description = "A test event delivered (`notify test`)", body = hubkeep_core::ops::notify::NotifyTested), (status = 401, description = "No valid token or session", body = ErrorBody), (status = 403, description = "Needs role admin", body = ErrorBody), (status = "4XX", description = "Refused (404 no such webhook, 422 the delivery failed)", body = ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
pub(crate) async fn notification_test(State(state): S, c: Caller, Path(name): Path<String>) -> Doc {
    as_admin(&state, &c, move |hk| hk.notify_test(&name)).await
}

#[utoipa::path(delete, path = "/api/v1/stacks/{name}", params(("name" = String, Path, description = "The stack")), responses((status = 200, description = "`stack delete NAME --yes`: its database and file store are removed; its keys, database secret, snapshots and recovery points are kept", body = hubkeep_core::ops::stacks::StackDeleted), (status = 401, description = "No valid token or session", body = ErrorBody), (status = 403, description = "Needs role admin", body = ErrorBody), (status = "4XX", description = "Refused (404 no such stack, 409 busy)", body = ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
pub(crate) async fn stack_delete(State(state): S, c: Caller, Path(name): Path<String>) -> Doc {
    // The HTTP verb is the confirmation the CLI asks for with --yes.
    as_admin(&state, &c, move |hk| hk.stack_delete(&name, true)).await
}

#[utoipa::path(delete, path = "/api/v1/db-snapshots/{id}", params(("id" = String, Path, description = "The snapshot id"), Force), responses((status = 200, description = "`db-snapshot delete ID [--force]`", body = hubkeep_core::ops::snapshots::SnapshotDeleted), (status = 401, description = "No valid token or session", body = ErrorBody), (status = 403, description = "Needs role admin", body = ErrorBody), (status = "4XX", description = "Refused (404 not found, 422 a backup set needs it: add ?force=true)", body = ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
pub(crate) async fn db_snapshot_delete(
    State(state): S,
    c: Caller,
    Path(id): Path<String>,
    Query(q): Query<Force>,
) -> Doc {
    as_admin(&state, &c, move |hk| hk.db_snapshot_delete(&id, q.force)).await
}

#[utoipa::path(delete, path = "/api/v1/recovery-points/{arn}", params(("arn" = String, Path, description = "The recovery point ARN, URL-encoded"), Force), responses((status = 200, description = "`recovery-point delete ARN [--force]`, then the vault's garbage collection (or why it was skipped)", body = Object), (status = 401, description = "No valid token or session", body = ErrorBody), (status = 403, description = "Needs role admin", body = ErrorBody), (status = "4XX", description = "Refused (404 not found, 422 a backup set needs it: add ?force=true)", body = ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
pub(crate) async fn recovery_point_delete(
    State(state): S,
    c: Caller,
    Path(arn): Path<String>,
    Query(q): Query<Force>,
) -> Doc {
    as_admin(&state, &c, move |hk| hk.recovery_point_delete(&arn, q.force)).await
}

#[utoipa::path(delete, path = "/api/v1/secrets/{name}", params(("name" = String, Path, description = "The secret's name or ARN"), RecoveryWindow), responses((status = 200, description = "`secret delete NAME --recovery-window-days N`: scheduled, cancellable until the date, with the backups that need it", body = hubkeep_core::ops::secrets::SecretDeletion), (status = 401, description = "No valid token or session", body = ErrorBody), (status = 403, description = "Needs role admin", body = ErrorBody), (status = "4XX", description = "Refused (400 window out of range, 404 not found)", body = ErrorBody)), security(("bearer" = []), ("cookie" = [])))]
pub(crate) async fn secret_delete(
    State(state): S,
    c: Caller,
    Path(name): Path<String>,
    Query(q): Query<RecoveryWindow>,
) -> Doc {
    as_admin(&state, &c, move |hk| {
        hk.secret_delete(&name, q.recovery_window_days)
    })
    .await
}
