//! Webhooks: a receiver gets each event once, signed, however it fails
//! first; and the caller never waits for it.

use std::sync::mpsc;
use std::time::Duration;

use hubkeep_notify::{Event, EventKind, Outcome, RetryPolicy, Webhook, WebhookSecret};
use hubkeep_testkit::webhook::{Receiver, Reply};

fn quick() -> RetryPolicy {
    RetryPolicy {
        attempts: 5,
        first_backoff: Duration::from_millis(20),
        request_timeout: Duration::from_secs(30),
        total: Duration::from_secs(60),
    }
}

fn failed_backup() -> Event {
    let mut event = Event::new(
        EventKind::BackupFailed,
        "2026-06-02T10:00:05Z".parse().unwrap(),
        "backup of hub1 failed: the database is not running",
    );
    event.stack = Some("hub1".into());
    event.job_id = Some("job-42".into());
    event
        .details
        .insert("scheduled_for".into(), "2026-06-02T10:00:00Z".into());
    event
}

#[test]
fn a_receiver_verifies_the_signature_with_the_shared_secret() {
    let receiver = Receiver::start(vec![]);
    let hook = Webhook::new(&receiver.url, Some(WebhookSecret::new("s3cret")), &[]).unwrap();
    let outcome = hook
        .notify(&failed_backup(), quick())
        .expect("backup.failed is a default event")
        .wait();
    assert_eq!(outcome, Outcome::Delivered { attempts: 1 });

    let requests = receiver.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.headers["content-type"], "application/json");
    let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({
            "event": "backup.failed",
            "stack": "hub1",
            "at": "2026-06-02T10:00:05Z",
            "job_id": "job-42",
            "backup_id": null,
            "message": "backup of hub1 failed: the database is not running",
            "scheduled_for": "2026-06-02T10:00:00Z",
        })
    );
    let signature = &request.headers["x-hubkeep-signature"];
    assert!(
        WebhookSecret::new("s3cret").verify(&request.body, signature),
        "{signature}"
    );
    assert!(!WebhookSecret::new("other").verify(&request.body, signature));
    assert!(!WebhookSecret::new("s3cret").verify(b"{\"event\":\"forged\"}", signature));
    // Computed independently of the crate: HMAC-SHA256 with the secret, in hex.
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"s3cret").unwrap();
    mac.update(&request.body);
    assert_eq!(
        *signature,
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    );
}

#[test]
fn without_a_secret_there_is_no_signature_header() {
    let receiver = Receiver::start(vec![]);
    let hook = Webhook::new(&receiver.url, None, &[EventKind::BackupCompleted]).unwrap();
    let event = Event::new(
        EventKind::BackupCompleted,
        "2026-06-02T10:04:00Z".parse().unwrap(),
        "done",
    );
    assert_eq!(
        hook.notify(&event, quick()).unwrap().wait(),
        Outcome::Delivered { attempts: 1 }
    );
    assert!(!receiver.requests()[0]
        .headers
        .contains_key("x-hubkeep-signature"));
}

#[test]
fn a_receiver_that_fails_twice_then_answers_gets_the_event_once() {
    let receiver = Receiver::start(vec![Reply::Status(500), Reply::Status(503)]);
    let hook = Webhook::new(&receiver.url, Some(WebhookSecret::new("s3cret")), &[]).unwrap();
    let outcome = hook.notify(&failed_backup(), quick()).unwrap().wait();
    assert_eq!(outcome, Outcome::Delivered { attempts: 3 });
    let requests = receiver.requests();
    assert_eq!(
        requests.len(),
        3,
        "two failures, one delivery, nothing after it"
    );
    assert!(
        requests.windows(2).all(|w| w[0].body == w[1].body),
        "the same event each time"
    );
}

#[test]
fn a_receiver_that_refuses_the_request_is_not_asked_again() {
    let receiver = Receiver::start(vec![Reply::Status(404)]);
    let hook = Webhook::new(&receiver.url, None, &[]).unwrap();
    let outcome = hook.notify(&failed_backup(), quick()).unwrap().wait();
    assert_eq!(
        outcome,
        Outcome::Failed {
            attempts: 1,
            error: "the receiver answered 404 Not Found".into()
        }
    );
    assert_eq!(receiver.requests().len(), 1);
}

#[test]
fn the_caller_goes_on_while_the_receiver_has_not_answered() {
    let (release, held) = mpsc::channel();
    let receiver = Receiver::start(vec![Reply::HoldUntil(held), Reply::Close]);
    let hook = Webhook::new(&receiver.url, None, &[]).unwrap();
    let policy = RetryPolicy {
        attempts: 2,
        ..quick()
    };
    let delivery = hook.notify(&failed_backup(), policy).unwrap();
    // notify returned while the receiver still holds the request unanswered.
    assert!(!delivery.is_finished());
    release.send(()).unwrap();
    let Outcome::Failed { attempts, error } = delivery.wait() else {
        panic!("nothing answered")
    };
    assert_eq!(attempts, 2, "bounded attempts");
    assert!(error.starts_with("the request failed"), "{error}");
    assert!(
        !error.contains(&receiver.url),
        "errors do not carry the URL: {error}"
    );
}

#[test]
fn a_receiver_that_never_answers_is_given_up_within_the_total_time() {
    let (_keep_holding, held) = mpsc::channel::<()>();
    let receiver = Receiver::start(vec![Reply::HoldUntil(held)]);
    let hook = Webhook::new(&receiver.url, None, &[]).unwrap();
    // 100 attempts of up to 30 s could take the better part of an hour; the
    // total bound of half a second ends it at the first request.
    let policy = RetryPolicy {
        attempts: 100,
        total: Duration::from_millis(500),
        ..quick()
    };
    let Outcome::Failed { attempts, error } = hook.notify(&failed_backup(), policy).unwrap().wait()
    else {
        panic!("nothing answered")
    };
    assert_eq!(attempts, 1);
    assert_eq!(error, "no answer before the delivery's 500 ms ran out");
}

#[test]
fn a_webhook_receives_only_the_events_it_subscribes_to() {
    let hook = Webhook::new("https://hooks.example.com/x", None, &[]).unwrap();
    let defaults: Vec<&str> = hook.events().map(|e| e.as_str()).collect();
    assert_eq!(
        defaults,
        [
            "backup.failed",
            "backup.missed",
            "verify.failed",
            "drill.failed",
            "rpo.breached"
        ]
    );
    let started = Event::new(
        EventKind::BackupStarted,
        "2026-06-02T10:00:00Z".parse().unwrap(),
        "started",
    );
    assert!(hook.notify(&started, quick()).is_none());

    let only_drills = Webhook::new(
        "https://hooks.example.com/x",
        None,
        &["drill.passed".parse().unwrap()],
    )
    .unwrap();
    assert!(only_drills.wants(EventKind::DrillPassed));
    assert!(!only_drills.wants(EventKind::BackupFailed));
}

#[test]
fn bad_urls_and_event_names_are_refused_naming_them() {
    let error = Webhook::new("ftp://hooks.example.com", None, &[])
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("\"ftp://hooks.example.com\"") && error.contains("not http or https"),
        "{error}"
    );
    let error = Webhook::new("hooks.example.com/x", None, &[])
        .unwrap_err()
        .to_string();
    assert!(error.contains("\"hooks.example.com/x\""), "{error}");
    let error = "backup.exploded"
        .parse::<EventKind>()
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("\"backup.exploded\"") && error.contains("backup.failed"),
        "{error}"
    );
}

#[test]
fn a_secret_never_prints() {
    let secret = WebhookSecret::new("s3cret");
    assert_eq!(format!("{secret:?}"), "<secret>");
    let hook = Webhook::new("https://hooks.example.com/x", Some(secret), &[]).unwrap();
    assert!(!format!("{hook:?}").contains("s3cret"));
}
