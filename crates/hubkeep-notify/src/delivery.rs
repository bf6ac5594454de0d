//! Delivering one request in the background with bounded retries.
//!
//! The caller gets a [`Delivery`] handle at once and never waits: the
//! request runs on a thread of its own, retried with doubling backoff while
//! the receiver fails in a way that may pass (no connection, a timeout, a
//! 5xx or 429 answer), and given up after a bounded number of attempts and
//! a bounded total time. A 4xx answer other than 429 is not retried: it
//! will not pass by asking again.

use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use reqwest::blocking::{Client, RequestBuilder};
use reqwest::{StatusCode, Url};

/// How hard a delivery tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// At most this many requests (the first is always made).
    pub attempts: u32,
    /// The wait after the first failure; it doubles after each.
    pub first_backoff: Duration,
    /// How long one request may take.
    pub request_timeout: Duration,
    /// How long the whole delivery may take, waits included; no request
    /// starts or runs past it.
    pub total: Duration,
}

impl Default for RetryPolicy {
    /// Six attempts, 2 s backoff doubling (2, 4, 8, 16, 32 s), 10 s per
    /// request, five minutes in all.
    fn default() -> Self {
        RetryPolicy {
            attempts: 6,
            first_backoff: Duration::from_secs(2),
            request_timeout: Duration::from_secs(10),
            total: Duration::from_secs(300),
        }
    }
}

/// How a delivery ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The receiver answered 2xx.
    Delivered {
        /// Requests made, the successful one included.
        attempts: u32,
    },
    /// Given up.
    Failed {
        /// Requests made.
        attempts: u32,
        /// Why the last one failed (no URL, no secret).
        error: String,
    },
}

/// A delivery running in the background. Dropping it lets the delivery go
/// on to its end; keep it only to learn the outcome.
#[derive(Debug)]
pub struct Delivery {
    thread: JoinHandle<Outcome>,
}

impl Delivery {
    /// Whether it has ended (delivered or given up).
    pub fn is_finished(&self) -> bool {
        self.thread.is_finished()
    }

    /// Waits for it to end (at most the policy's total time) and says how.
    pub fn wait(self) -> Outcome {
        self.thread.join().unwrap_or_else(|_| Outcome::Failed {
            attempts: 0,
            error: "the delivery thread panicked".to_string(),
        })
    }
}

/// Starts delivering the request `build` makes with a client, on a thread of
/// its own; returns at once.
pub(crate) fn start<F>(url: Url, policy: RetryPolicy, build: F) -> Delivery
where
    F: Fn(&Client, Url) -> RequestBuilder + Send + 'static,
{
    let thread = std::thread::Builder::new()
        .name("hubkeep-notify".to_string())
        .spawn(move || run(url, policy, build))
        .expect("spawning a delivery thread");
    Delivery { thread }
}

fn run<F>(url: Url, policy: RetryPolicy, build: F) -> Outcome
where
    F: Fn(&Client, Url) -> RequestBuilder,
{
    let deadline = Instant::now() + policy.total;
    let client = match Client::builder()
        .user_agent(concat!("hubkeep/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(client) => client,
        Err(e) => {
            return Outcome::Failed {
                attempts: 0,
                error: format!("cannot make an HTTP client: {}", e.without_url()),
            }
        }
    };
    let mut backoff = policy.first_backoff;
    let mut attempts = 0;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        attempts += 1;
        let timeout = policy.request_timeout.min(left);
        let answer = build(&client, url.clone()).timeout(timeout).send();
        let (error, may_pass) = match answer {
            Ok(response) if response.status().is_success() => {
                return Outcome::Delivered { attempts }
            }
            Ok(response) => {
                let status = response.status();
                let may_pass = status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS;
                (format!("the receiver answered {status}"), may_pass)
            }
            Err(e) if e.is_timeout() && timeout < policy.request_timeout => (
                format!(
                    "no answer before the delivery's {} ms ran out",
                    policy.total.as_millis()
                ),
                true,
            ),
            Err(e) => (describe(e, timeout), true),
        };
        let wake = Instant::now() + backoff;
        if !may_pass || attempts >= policy.attempts || wake >= deadline {
            return Outcome::Failed { attempts, error };
        }
        std::thread::sleep(backoff);
        backoff = backoff.saturating_mul(2);
    }
}

/// Says why a request failed, with the underlying causes but not the URL
/// (it may carry a token).
fn describe(error: reqwest::Error, timeout: Duration) -> String {
    if error.is_timeout() {
        return format!(
            "the receiver did not answer within {} ms",
            timeout.as_millis()
        );
    }
    let error = error.without_url();
    let mut text = format!("the request failed: {error}");
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}
