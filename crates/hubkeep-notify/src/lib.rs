//! hubkeep's notifications: webhooks and healthchecks-style pings, sent in
//! the background so they never delay a backup.
//!
//! - [`Webhook`]: `POST`s an [`Event`] as JSON to a URL, with
//!   `X-Hubkeep-Signature: sha256=<hex HMAC-SHA256 of the body>` when it has
//!   a [`WebhookSecret`], for the [`EventKind`]s it subscribes to (by
//!   default every failure and `rpo.breached`).
//! - [`PingTarget`]: a plan's `ping_url`, `GET URL/start`, `URL`, `URL/fail`.
//! - Both return a [`Delivery`] at once; the request runs on its own thread,
//!   retried with backoff within a [`RetryPolicy`]'s bounded attempts and
//!   total time. Errors never carry the URL or the secret.
//!
//! It does not store webhooks or decide when events happen: the catalog
//! keeps the webhooks and the daemon sends the events.
//!
//! ```no_run
//! use hubkeep_notify::{Event, EventKind, RetryPolicy, Webhook, WebhookSecret};
//! let hook = Webhook::new("https://hooks.example.com/hubkeep", Some(WebhookSecret::new("s3cret")), &[]).unwrap();
//! let event = Event::new(EventKind::BackupFailed, chrono::Utc::now(), "backup of hub1 failed: database stopped");
//! if let Some(delivery) = hook.notify(&event, RetryPolicy::default()) {
//!     // The caller goes on; `delivery.wait()` is only for who wants the outcome.
//!     drop(delivery);
//! }
//! ```
#![deny(missing_docs)]

mod delivery;
mod event;
mod ping;
mod signature;
mod webhook;

pub use delivery::{Delivery, Outcome, RetryPolicy};
pub use event::{Event, EventKind, UnknownEvent};
pub use ping::{PingKind, PingTarget};
pub use signature::{WebhookSecret, SIGNATURE_HEADER};
pub use webhook::{UrlError, Webhook};
