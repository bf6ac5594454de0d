//! Webhooks: a signed JSON `POST` of each event a webhook subscribes to.

use std::collections::BTreeSet;

use reqwest::header::CONTENT_TYPE;
use reqwest::Url;

use crate::delivery::{self, Delivery, RetryPolicy};
use crate::{Event, EventKind, WebhookSecret, SIGNATURE_HEADER};

/// A URL hubkeep cannot send to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("URL \"{url}\" is not usable: {problem}; write an http:// or https:// URL, e.g. \"https://hooks.example.com/hubkeep\"")]
pub struct UrlError {
    /// The URL as given.
    pub url: String,
    /// What is wrong with it.
    pub problem: String,
}

/// Parses an `http` or `https` URL with a host.
pub(crate) fn parse_url(text: &str) -> Result<Url, UrlError> {
    let error = |problem: String| UrlError {
        url: text.to_string(),
        problem,
    };
    let url = Url::parse(text).map_err(|e| error(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(error(format!(
            "scheme \"{}\" is not http or https",
            url.scheme()
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(error("it has no host".to_string()));
    }
    Ok(url)
}

/// A webhook: where events go, signed with its secret if it has one, and
/// which events it wants.
#[derive(Debug, Clone)]
pub struct Webhook {
    url: Url,
    secret: Option<WebhookSecret>,
    events: BTreeSet<EventKind>,
}

impl Webhook {
    /// A webhook at `url` for `events` (empty: the default events, every
    /// failure and `rpo.breached`), signing with `secret` if given.
    pub fn new(
        url: &str,
        secret: Option<WebhookSecret>,
        events: &[EventKind],
    ) -> Result<Webhook, UrlError> {
        let events = if events.is_empty() {
            EventKind::ALL
                .into_iter()
                .filter(|e| e.is_default())
                .collect()
        } else {
            events.iter().copied().collect()
        };
        Ok(Webhook {
            url: parse_url(url)?,
            secret,
            events,
        })
    }

    /// The URL events are posted to.
    pub fn url(&self) -> &str {
        self.url.as_str()
    }

    /// The events this webhook receives.
    pub fn events(&self) -> impl Iterator<Item = EventKind> + '_ {
        self.events.iter().copied()
    }

    /// Whether this webhook receives `kind`.
    pub fn wants(&self, kind: EventKind) -> bool {
        self.events.contains(&kind)
    }

    /// Posts `event` in the background, whatever its kind (`notify test`
    /// uses this); returns at once.
    pub fn send(&self, event: &Event, policy: RetryPolicy) -> Delivery {
        let body = serde_json::to_vec(event).expect("an event serializes");
        let signature = self.secret.as_ref().map(|s| s.sign(&body));
        delivery::start(self.url.clone(), policy, move |client, url| {
            let request = client
                .post(url)
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone());
            match &signature {
                Some(signature) => request.header(SIGNATURE_HEADER, signature),
                None => request,
            }
        })
    }

    /// Posts `event` in the background if this webhook wants its kind.
    pub fn notify(&self, event: &Event, policy: RetryPolicy) -> Option<Delivery> {
        self.wants(event.event).then(|| self.send(event, policy))
    }
}
