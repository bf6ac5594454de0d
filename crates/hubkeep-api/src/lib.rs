//! hubkeep's HTTP API (API.md): the service layer's operations over HTTP
//! for the web console, scripts and monitoring. Every request is
//! authenticated by a token of the home (`hubkeep token create`) or a
//! console session made from one; every `GET` answers with the same
//! document as the CLI's `--json`, from the same core call; `/metrics`
//! speaks the Prometheus text format.
//!
//! It is not the scheduler or the queue (those are `hubkeep serve`'s), and
//! it holds no state of its own besides the console's sessions: each
//! request opens the home, and all blocking work runs on tokio's blocking
//! threads, never on the async runtime.
//!
//! ```no_run
//! # async fn f() -> hubkeep_core::Result<()> {
//! let listener = std::net::TcpListener::bind("127.0.0.1:8742")?;
//! let home = std::path::PathBuf::from("/var/lib/hubkeep");
//! let queue = hubkeep_core::ops::queue::Queue::start(home.clone(), 2)?;
//! hubkeep_api::serve(listener, home, queue, std::future::pending()).await?;
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

mod admin;
mod auth;
mod console;
mod error;
mod events;
mod history;
mod metrics;
mod openapi;
mod routes;
mod work;

pub use auth::{SessionInfo, CSRF_HEADER, SESSION_COOKIE};
pub use error::{status_of, ApiError};

use hubkeep_core::ops::queue::Queue;
use hubkeep_core::{Error, ErrorKind, Hubkeep, Result};
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

/// What every handler shares: the home and the console's sessions.
pub struct AppState {
    home: PathBuf,
    queue: Queue,
    sessions: auth::Sessions,
}

impl AppState {
    /// Run `f` on a fresh handle of the home, on a blocking thread.
    async fn blocking<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Hubkeep) -> Result<T> + Send + 'static,
    {
        let home = self.home.clone();
        let run = tokio::task::spawn_blocking(move || {
            let mut hk = Hubkeep::open(&home)?;
            // Notes of request handlers are for the server's log, not a terminal.
            hk.notes = Arc::new(|m| eprintln!("{}", hubkeep_core::dbpassword::redact_urls(m)));
            f(&hk)
        });
        match run.await {
            Ok(r) => r.map_err(ApiError::from),
            Err(e) => Err(Error::new(
                ErrorKind::Internal,
                format!("a request handler stopped: {e}"),
            )
            .into()),
        }
    }
}

/// The API's router over the home at `home`, submitting long work to
/// `queue` (for `serve`, and for tests that drive it in process).
pub fn router(home: PathBuf, queue: Queue) -> axum::Router {
    routes::router(Arc::new(AppState {
        home,
        queue,
        sessions: auth::Sessions::default(),
    }))
}

/// Serve the API on `listener` until `shutdown` completes; requests under
/// way are finished first. Long work goes to `queue`, which the caller
/// (`hubkeep serve`) owns and shuts down.
pub async fn serve(
    listener: std::net::TcpListener,
    home: PathBuf,
    queue: Queue,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    listener.set_nonblocking(true)?;
    let listener = tokio::net::TcpListener::from_std(listener)?;
    axum::serve(listener, router(home, queue))
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}
