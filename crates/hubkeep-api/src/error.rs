//! The API's error body (`{"error": {"code", "message"}}`) and the one
//! mapping from the service layer's error kinds to HTTP statuses.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use hubkeep_core::dbpassword::redact_urls;
use hubkeep_core::{Error, ErrorKind};
use serde::Serialize;

/// A failed request: its status, stable code and sentence.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    /// An error with an explicit status (auth and routing errors the
    /// service layer does not produce).
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    /// The sentence for the operator.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// 403: the caller's role may not do this.
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 400: a body or query the API cannot read.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_argument", message)
    }
}

/// The HTTP status of a service-layer error kind.
pub fn status_of(kind: ErrorKind) -> StatusCode {
    use ErrorKind::*;
    match kind {
        BackupNotFound
        | DbSnapshotNotFound
        | JobNotFound
        | NotFound
        | RecoveryPointNotFound
        | RegionNotFound
        | SecretNotFound
        | StackNotFound
        | VaultNotFound
        | NoHome => StatusCode::NOT_FOUND,
        Conflict | StackExists | Locked | RecoveryPointBusy | SnapshotBusy | SecretConflict => {
            StatusCode::CONFLICT
        }
        PartOfBackupSet
        | RestoreOnUpdate
        | StackState
        | WrongRegion
        | SecretScheduledForDeletion
        | JobNotCompleted
        | RecoveryPointNotAvailable
        | SnapshotNotAvailable
        | OfflineUnsupported
        | TargetNotEmpty
        | BackupBroken => StatusCode::UNPROCESSABLE_ENTITY,
        InvalidArgument | InvalidSetting | InvalidStorage | UnsafePath => StatusCode::BAD_REQUEST,
        Unauthenticated => StatusCode::UNAUTHORIZED,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> ApiError {
        ApiError {
            status: status_of(e.kind()),
            code: e.code(),
            message: e.message().to_string(),
        }
    }
}

/// The body of every error response.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// An error's stable code and sentence.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// The stable code scripts match on (CLI.md's codes, plus `unauthenticated`, `forbidden`, `csrf`).
    pub code: String,
    /// What is wrong, and what to do.
    pub message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: redact_urls(&self.message),
            },
        };
        (self.status, Json(body)).into_response()
    }
}
