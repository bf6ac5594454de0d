//! Who a request is: a bearer token, or the console's session cookie. A
//! session is made from a token (`POST /api/v1/session`), lives in this
//! process's memory only, and ends after `SESSION_IDLE` without a request.
//! A cookie is sent by the browser on its own, so every change made with
//! one must also carry the session's CSRF token in `X-CSRF-Token`, which a
//! page of another site cannot read.

use crate::error::ApiError;
use crate::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, Method, StatusCode};
use hubkeep_core::ops::tokens::{Role, TokenInfo};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "hubkeep_session";
/// The header a cookie-authenticated change carries.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// How long a session lives without a request.
pub const SESSION_IDLE: Duration = Duration::from_secs(12 * 3600);

/// `GET/POST /api/v1/session`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SessionInfo {
    /// The role of the token the session was made from.
    pub role: Role,
    /// That token's name.
    pub name: String,
    /// The value of `X-CSRF-Token` for changes made with this session.
    pub csrf_token: String,
}

struct Session {
    info: SessionInfo,
    last_seen: Instant,
}

/// The live sessions of this process, by cookie value.
#[derive(Default)]
pub struct Sessions {
    by_id: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    /// A new session for `token`: its cookie value and what it says.
    pub fn open(&self, token: &TokenInfo) -> (String, SessionInfo) {
        let id = hubkeep_core::ids::random_hex(32);
        let info = SessionInfo {
            role: token.role,
            name: token.name.clone(),
            csrf_token: hubkeep_core::ids::random_hex(32),
        };
        let mut map = self.by_id.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, s| s.last_seen.elapsed() < SESSION_IDLE);
        map.insert(
            id.clone(),
            Session {
                info: info.clone(),
                last_seen: Instant::now(),
            },
        );
        (id, info)
    }

    /// The live session of cookie value `id`, touched.
    pub fn get(&self, id: &str) -> Option<SessionInfo> {
        let mut map = self.by_id.lock().unwrap_or_else(|e| e.into_inner());
        let session = map.get_mut(id)?;
        if session.last_seen.elapsed() >= SESSION_IDLE {
            map.remove(id);
            return None;
        }
        session.last_seen = Instant::now();
        Some(session.info.clone())
    }

    /// Sign out.
    pub fn close(&self, id: &str) {
        self.by_id
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
    }

    /// Sessions made from a token that no longer exists end with it.
    pub fn close_token(&self, name: &str) {
        self.by_id
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, s| s.info.name != name);
    }
}

/// The value of the session cookie in a request, if any.
pub fn session_cookie(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| {
            let (k, v) = kv.trim().split_once('=')?;
            (k == SESSION_COOKIE).then(|| v.to_string())
        })
}

/// An authenticated caller: the token's name and role.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The token's name.
    pub name: String,
    /// What it may do.
    pub role: Role,
}

impl Caller {
    /// Refuse (403) unless the caller's role includes `role`.
    pub fn require(&self, role: Role) -> Result<(), ApiError> {
        if self.role >= role {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                format!(
                    "token {} has role {:?}; this needs role {:?} or above",
                    self.name, self.role, role
                )
                .to_lowercase(),
            ))
        }
    }
}

fn unauthenticated(message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", message)
}

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Caller, ApiError> {
        if let Some(auth) = parts.headers.get(header::AUTHORIZATION) {
            let token = auth
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .ok_or_else(|| {
                    unauthenticated("the Authorization header must be `Bearer <token>`")
                })?
                .trim()
                .to_string();
            let info = state.blocking(move |hk| hk.authenticate(&token)).await?;
            return Ok(Caller {
                name: info.name,
                role: info.role,
            });
        }
        let Some(id) = session_cookie(parts) else {
            return Err(unauthenticated("sign in: send `Authorization: Bearer <token>` (create one with `hubkeep token create NAME`)"));
        };
        let session = state
            .sessions
            .get(&id)
            .ok_or_else(|| unauthenticated("the session has ended; sign in again"))?;
        if parts.method != Method::GET && parts.method != Method::HEAD {
            let sent = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
            if sent != Some(session.csrf_token.as_str()) {
                return Err(ApiError::new(StatusCode::FORBIDDEN, "csrf", "a change made with the session cookie needs the header X-CSRF-Token of the session"));
            }
        }
        // A revoked token's sessions end with it, in this process or another.
        let name = session.name.clone();
        let live = state
            .blocking(move |hk| Ok(hk.token_list()?.into_iter().any(|t| t.name == name)))
            .await?;
        if !live {
            state.sessions.close(&id);
            return Err(unauthenticated(
                "the token of this session was revoked; sign in again",
            ));
        }
        Ok(Caller {
            name: session.name,
            role: session.role,
        })
    }
}
