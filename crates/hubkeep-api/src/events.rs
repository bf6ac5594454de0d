//! `GET /api/v1/jobs/{id}/events`: a job's progress as server-sent events.
//! The job record in the catalog is the one source (the daemon's workers
//! and CLI processes both write it), so the stream polls it: one
//! `progress` event each time the document changes, then one `end` event
//! with the final document, and the stream closes.

use crate::error::ApiError;
use crate::AppState;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::stream::{self, Stream};
use hubkeep_core::records::Job;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

/// How often the job record is read: often enough for a smooth bar,
/// rarely enough to cost nothing.
const POLL: Duration = Duration::from_millis(250);

/// The states a job does not leave.
fn ended(job: &Job) -> bool {
    matches!(
        job.state.as_str(),
        "COMPLETED" | "FAILED" | "ABORTED" | "EXPIRED"
    )
}

enum Step {
    Watching { last: Option<serde_json::Value> },
    Done,
}

/// The event stream of job `id` (404 at once if there is no such job).
pub async fn job_events(
    state: Arc<AppState>,
    id: String,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let first_id = id.clone();
    state.blocking(move |hk| hk.job(&first_id)).await?;
    let stream = stream::unfold(Step::Watching { last: None }, move |step| {
        let state = state.clone();
        let id = id.clone();
        async move {
            let Step::Watching { mut last } = step else {
                return None;
            };
            loop {
                let read_id = id.clone();
                let job = match state.blocking(move |hk| hk.job(&read_id)).await {
                    Ok(job) => job,
                    Err(e) => {
                        let doc = serde_json::json!({"error": {"message": e.message()}});
                        return Some((
                            Ok(Event::default().event("end").data(doc.to_string())),
                            Step::Done,
                        ));
                    }
                };
                let doc = crate::routes::document(&job);
                if ended(&job) {
                    return Some((
                        Ok(Event::default().event("end").data(doc.to_string())),
                        Step::Done,
                    ));
                }
                if last.as_ref() != Some(&doc) {
                    last = Some(doc.clone());
                    return Some((
                        Ok(Event::default().event("progress").data(doc.to_string())),
                        Step::Watching { last },
                    ));
                }
                tokio::time::sleep(POLL).await;
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
