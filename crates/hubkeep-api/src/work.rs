//! The routes that start long work: backups, restores, drills and backup
//! set verification. Each is checked first (a refusal is answered at once
//! and queues nothing), then submitted to `hubkeep serve`'s queue, and
//! answered 202 with the job that will run it (QUEUED while the stack or
//! vault is busy; its `waiting_for` says why).

use crate::auth::Caller;
use crate::error::ApiError;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use hubkeep_core::ops::queue::Work;
use hubkeep_core::ops::tokens::Role;
use hubkeep_core::ops::stacks::RestoreArgs;
use hubkeep_core::{RestoreRequest, RestoreSource};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

type S = State<Arc<AppState>>;

/// The answer to a POST that starts work.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Accepted {
    /// The job that runs the work (`GET /api/v1/jobs/{job_id}`).
    pub job_id: String,
    /// Its state now: `QUEUED` or `RUNNING`.
    pub state: String,
    /// Where to follow it.
    pub links: JobLinks,
}

/// Where a job's document and its event stream are.
#[derive(Serialize, utoipa::ToSchema)]
pub struct JobLinks {
    /// The job document.
    pub job: String,
    /// Its server-sent events.
    pub events: String,
}

/// Queue the work `checked` returns once it has made the request's checks
/// (its refusal answers instead); 202 with the job.
async fn submit<F>(state: &AppState, checked: F) -> Result<Response, ApiError>
where
    F: FnOnce(&hubkeep_core::Hubkeep) -> hubkeep_core::Result<Work> + Send + 'static,
{
    let queue = state.queue.clone();
    let (job_id, job_state) = state
        .blocking(move |hk| {
            let work = checked(hk)?;
            let id = queue.submit(work)?;
            Ok((id.clone(), hk.job(&id)?.state.as_str().to_string()))
        })
        .await?;
    let links = JobLinks {
        job: format!("/api/v1/jobs/{job_id}"),
        events: format!("/api/v1/jobs/{job_id}/events"),
    };
    Ok((
        StatusCode::ACCEPTED,
        Json(Accepted {
            job_id,
            state: job_state,
            links,
        }),
    )
        .into_response())
}

fn body<T: serde::de::DeserializeOwned + Default>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request(format!("the request body is not valid: {e}")))
}

/// `POST /api/v1/stacks/{name}/backups`.
#[derive(Default, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct BackupBody {
    /// Take the hub offline for a consistent backup.
    pub offline: bool,
}

#[utoipa::path(post, path = "/api/v1/stacks/{name}/backups", params(("name" = String, Path, description = "The stack")), request_body = BackupBody,
    responses((status = 202, description = "The backup job (`hubkeep backup STACK`)", body = Accepted), (status = 401, description = "No valid token or session", body = crate::error::ErrorBody), (status = 403, description = "Needs role operator", body = crate::error::ErrorBody), (status = "4XX", description = "Refused (404 no such stack)", body = crate::error::ErrorBody)),
    security(("bearer" = []), ("cookie" = [])))]
pub(crate) async fn backup(
    State(state): S,
    c: Caller,
    Path(name): Path<String>,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    c.require(Role::Operator)?;
    let BackupBody { offline } = body(&bytes)?;
    submit(&state, move |hk| {
        Ok(Work::Backup {
            stack: hk.stack(&name)?.name,
            offline,
            automated: false,
        })
    })
    .await
}

/// `POST /api/v1/restores`: a backup set (`restore NEW --backup ID`), or
/// the five parameters of the seed's form (`stack create --restore-…`).
#[derive(Default, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RestoreBody {
    /// The new stack's name.
    pub new_stack: String,
    /// The backup set to restore (or give the five parameters).
    pub backup_id: Option<String>,
    /// The new stack's domain.
    pub domain: Option<String>,
    /// The region; the backup's when absent.
    pub region: Option<String>,
    /// The new stack's app version; the backup's when absent.
    pub app_version: Option<String>,
    /// Restore even when `app_version` is older than the backup's.
    pub force_version: bool,
    /// Keep the stored URLs of the backup's domain (no re-homing).
    pub keep_urls: bool,
    /// The source stack (five-parameter form).
    pub stack_name: Option<String>,
    /// The database snapshot (five-parameter form).
    pub db_snapshot_id: Option<String>,
    /// The database secret ARN (five-parameter form).
    pub db_secret_arn: Option<String>,
    /// The backup vault (five-parameter form).
    pub vault: Option<String>,
    /// The recovery point ARN (five-parameter form).
    pub recovery_point_arn: Option<String>,
}

impl RestoreBody {
    fn source(self) -> Result<RestoreSource, ApiError> {
        if self.new_stack.is_empty() {
            return Err(ApiError::bad_request(
                "new_stack is required: the name of the stack to create",
            ));
        }
        if let Some(backup_id) = self.backup_id {
            return Ok(RestoreSource::Backup {
                name: hubkeep_core::ids::StackName::parse(&self.new_stack)?,
                backup_id,
                domain: self.domain,
                region: self.region,
                force: false,
                app_version: self.app_version,
                force_version: self.force_version,
                keep_urls: self.keep_urls,
            });
        }
        // The same rule as `stack create --restore-*`, naming the body's fields.
        let given = RestoreArgs {
            stack_name: self.stack_name,
            db_snapshot: self.db_snapshot_id.as_deref().map(hubkeep_core::ids::DbSnapshotId::parse).transpose()?,
            db_secret_arn: self.db_secret_arn,
            vault: self.vault.as_deref().map(hubkeep_core::ids::VaultName::parse).transpose()?,
            recovery_point: self.recovery_point_arn,
        };
        let params = given
            .complete_named(["stack_name", "db_snapshot_id", "db_secret_arn", "vault", "recovery_point_arn"])?
            .ok_or_else(|| ApiError::bad_request("give backup_id, or all five of stack_name, db_snapshot_id, db_secret_arn, vault, recovery_point_arn"))?;
        Ok(RestoreSource::Params(RestoreRequest {
            name: hubkeep_core::ids::StackName::parse(&self.new_stack)?,
            domain: self.domain,
            region: self.region,
            app_version: self.app_version,
            force_version: self.force_version,
            keep_urls: self.keep_urls,
            params,
        }))
    }
}

#[utoipa::path(post, path = "/api/v1/restores", request_body = RestoreBody,
    responses((status = 202, description = "The restore job", body = Accepted), (status = 401, description = "No valid token or session", body = crate::error::ErrorBody), (status = 403, description = "Needs role operator", body = crate::error::ErrorBody), (status = "4XX", description = "Refused before anything is created (400 bad input, 404 no such backup, 409 name exists, 422 other region or missing secret)", body = crate::error::ErrorBody)),
    security(("bearer" = []), ("cookie" = [])))]
pub(crate) async fn restore(
    State(state): S,
    c: Caller,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    c.require(Role::Operator)?;
    let source = body::<RestoreBody>(&bytes)?.source()?;
    submit(&state, move |hk| {
        hubkeep_core::ids::check_stack_name(match &source {
            RestoreSource::Backup { name, .. } => name,
            RestoreSource::Params(req) => &req.name,
        })?;
        hk.plan_restore(source.clone())?;
        Ok(Work::Restore(source))
    })
    .await
}

/// `POST /api/v1/stacks/{name}/drills`.
#[derive(Default, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct DrillBody {
    /// The backup set to drill; the newest when absent.
    pub backup_id: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/stacks/{name}/drills", params(("name" = String, Path, description = "The stack")), request_body = DrillBody,
    responses((status = 202, description = "The drill job (`drill run STACK`)", body = Accepted), (status = 401, description = "No valid token or session", body = crate::error::ErrorBody), (status = 403, description = "Needs role operator", body = crate::error::ErrorBody), (status = "4XX", description = "Refused (404 no such stack)", body = crate::error::ErrorBody)),
    security(("bearer" = []), ("cookie" = [])))]
pub(crate) async fn drill(
    State(state): S,
    c: Caller,
    Path(name): Path<String>,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    c.require(Role::Operator)?;
    let DrillBody { backup_id } = body(&bytes)?;
    submit(&state, move |hk| {
        Ok(Work::Drill {
            stack: hk.stack(&name)?.name,
            backup_id,
        })
    })
    .await
}

/// `POST /api/v1/backup-sets/{id}/verify`.
#[derive(Default, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct VerifyBody {
    /// Read and decrypt every chunk, not only the index.
    pub read_data: bool,
}

#[utoipa::path(post, path = "/api/v1/backup-sets/{id}/verify", params(("id" = String, Path, description = "The backup id")), request_body = VerifyBody,
    responses((status = 202, description = "The verify job (`verify ID [--read-data]`)", body = Accepted), (status = 401, description = "No valid token or session", body = crate::error::ErrorBody), (status = 403, description = "Needs role operator", body = crate::error::ErrorBody), (status = "4XX", description = "Refused (404 no such backup set)", body = crate::error::ErrorBody)),
    security(("bearer" = []), ("cookie" = [])))]
pub(crate) async fn verify(
    State(state): S,
    c: Caller,
    Path(id): Path<String>,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    c.require(Role::Operator)?;
    let VerifyBody { read_data } = body(&bytes)?;
    submit(&state, move |hk| {
        hk.backup_set(&id)?;
        Ok(Work::VerifyBackupSet { backup_id: id, read_data })
    })
    .await
}
