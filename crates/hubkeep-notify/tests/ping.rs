//! Healthchecks-style pings: start, success and failure of a run.

use std::time::Duration;

use hubkeep_notify::{Outcome, PingKind, PingTarget, RetryPolicy};
use hubkeep_testkit::webhook::{Receiver, Reply};

fn quick() -> RetryPolicy {
    RetryPolicy {
        attempts: 3,
        first_backoff: Duration::from_millis(20),
        request_timeout: Duration::from_secs(30),
        total: Duration::from_secs(60),
    }
}

#[test]
fn a_run_pings_start_then_success_or_fail() {
    let receiver = Receiver::start(vec![]);
    let target = PingTarget::new(&format!("{}/ping/5f1c", receiver.url)).unwrap();
    for kind in [
        PingKind::Start,
        PingKind::Success,
        PingKind::Start,
        PingKind::Fail,
    ] {
        assert_eq!(
            target.ping(kind, quick()).wait(),
            Outcome::Delivered { attempts: 1 }
        );
    }
    let seen: Vec<(String, String)> = receiver
        .requests()
        .into_iter()
        .map(|r| (r.method, r.path))
        .collect();
    let get = |p: &str| ("GET".to_string(), p.to_string());
    assert_eq!(
        seen,
        [
            get("/ping/5f1c/start"),
            get("/ping/5f1c"),
            get("/ping/5f1c/start"),
            get("/ping/5f1c/fail")
        ]
    );
}

#[test]
fn a_ping_keeps_the_query_and_retries_a_failing_receiver() {
    let receiver = Receiver::start(vec![Reply::Status(502)]);
    let target = PingTarget::new(&format!("{}/p/abc/?rid=1", receiver.url)).unwrap();
    assert_eq!(target.url_for(PingKind::Fail).path(), "/p/abc/fail");
    assert_eq!(
        target.ping(PingKind::Fail, quick()).wait(),
        Outcome::Delivered { attempts: 2 }
    );
    let paths: Vec<String> = receiver.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/p/abc/fail?rid=1", "/p/abc/fail?rid=1"]);
}
