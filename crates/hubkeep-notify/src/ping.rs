//! Healthchecks-style pings: `GET URL/start` when a run starts, `GET URL`
//! when it succeeds, `GET URL/fail` when it fails.

use reqwest::Url;

use crate::delivery::{self, Delivery, RetryPolicy};
use crate::webhook::{parse_url, UrlError};

/// Which moment of a run a ping reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PingKind {
    /// The run started: `URL/start`.
    Start,
    /// The run succeeded: `URL`.
    Success,
    /// The run failed: `URL/fail`.
    Fail,
}

/// A plan's ping URL.
#[derive(Debug, Clone)]
pub struct PingTarget {
    url: Url,
}

impl PingTarget {
    /// A ping target at `url` (`http` or `https`).
    pub fn new(url: &str) -> Result<PingTarget, UrlError> {
        Ok(PingTarget {
            url: parse_url(url)?,
        })
    }

    /// The URL a ping of `kind` requests: `/start` or `/fail` appended to
    /// the path, the query kept.
    pub fn url_for(&self, kind: PingKind) -> Url {
        let suffix = match kind {
            PingKind::Start => "start",
            PingKind::Success => return self.url.clone(),
            PingKind::Fail => "fail",
        };
        let mut url = self.url.clone();
        let path = format!("{}/{suffix}", url.path().trim_end_matches('/'));
        url.set_path(&path);
        url
    }

    /// Sends a ping of `kind` in the background; returns at once.
    pub fn ping(&self, kind: PingKind, policy: RetryPolicy) -> Delivery {
        delivery::start(self.url_for(kind), policy, |client, url| client.get(url))
    }
}
