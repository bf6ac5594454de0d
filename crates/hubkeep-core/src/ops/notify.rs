//! Notifications: the webhooks of a home (`notify add/list/test/remove`),
//! the events hubkeep's operations send to them (`Hubkeep::emit`), a plan's
//! healthchecks-style pings, and the RPO check that sends `rpo.breached`
//! once per breach.
//!
//! A webhook's URL and events are a catalog record; its secret is sealed
//! in the secret store under `/hubkeep/webhook/NAME/secret` and is read
//! only to sign a delivery. Deliveries run in the background (the notify
//! crate's threads): an operation never waits for one and never fails
//! because of one. A process that ends soon after (a CLI command) waits for
//! its deliveries with `flush_notifications`, bounded by the delivery
//! policy's total time.

use crate::names::SecretName;
use crate::catalog::Kind;
use crate::ids::check_webhook_name;
use crate::error::{Error, ErrorKind, Result};
use crate::records::{BackupSet, Stack};
use crate::secrets::SecretKind;
use crate::states::BackupSetStatus;
use crate::{now, BackupRequest, Hubkeep};
use chrono::{DateTime, Utc};
use hubkeep_notify::{
    Delivery, Event, EventKind, Outcome, PingKind, PingTarget, RetryPolicy, Webhook, WebhookSecret,
};
use hubkeep_plan::{Plan, Span};
use serde::{Deserialize, Serialize};
use std::sync::{Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A webhook as the catalog keeps it: never its secret.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookRecord {
    /// Its name.
    pub name: String,
    /// The URL events are posted to.
    pub webhook: String,
    /// The events it receives.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub events: Vec<EventKind>,
    /// Whether deliveries carry `X-Hubkeep-Signature` (it has a secret).
    pub signed: bool,
    /// When it was added.
    pub created_at: DateTime<Utc>,
}

/// `notify add NAME --webhook URL [--secret S] [--events E1,E2,…]`.
#[derive(Debug, Clone)]
pub struct NotifyAdd {
    /// The webhook's name.
    pub name: String,
    /// Where events are posted (`http` or `https`).
    pub webhook: String,
    /// The HMAC secret deliveries are signed with.
    pub secret: Option<String>,
    /// Event names; `None` or empty: every failure and `rpo.breached`.
    pub events: Option<Vec<String>>,
}

/// What `notify test` prints: the test delivery's outcome.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NotifyTested {
    /// The webhook.
    pub name: String,
    /// `delivered`.
    pub status: &'static str,
    /// Requests made, the successful one included.
    pub attempts: u32,
    /// Whether the delivery was signed.
    pub signed: bool,
}

/// One stack's recovery point objective, as `check_rpo` found it.
#[derive(Debug, Clone, Serialize)]
pub struct RpoStatus {
    /// The stack.
    pub stack: String,
    /// Its plan's RPO.
    pub rpo: Span,
    /// When its newest AVAILABLE backup set was taken; null if it has none.
    pub newest_good_backup_at: Option<DateTime<Utc>>,
    /// No good set is younger than the RPO (a stack without sets counts
    /// from its creation; a disabled plan is never breached).
    pub breached: bool,
}

/// A breach already notified: the next `rpo.breached` for the stack waits
/// until a good backup has ended this one.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RpoBreach {
    stack: String,
    since: DateTime<Utc>,
    newest_good_backup_at: Option<DateTime<Utc>>,
}

/// How a long-lived process (the daemon) delivers: six attempts within
/// five minutes.
pub const LONG_LIVED: RetryPolicy = RetryPolicy {
    attempts: 6,
    first_backoff: Duration::from_secs(2),
    request_timeout: Duration::from_secs(10),
    total: Duration::from_secs(300),
};

/// How a short command delivers: it waits for its deliveries before it
/// exits, so they give up sooner (four attempts within 30 s).
pub const SHORT_LIVED: RetryPolicy = RetryPolicy {
    attempts: 4,
    first_backoff: Duration::from_secs(1),
    request_timeout: Duration::from_secs(10),
    total: Duration::from_secs(30),
};

/// `notify test` answers within seconds: three attempts within 15 s.
const TEST_POLICY: RetryPolicy = RetryPolicy {
    attempts: 3,
    first_backoff: Duration::from_secs(1),
    request_timeout: Duration::from_secs(5),
    total: Duration::from_secs(15),
};

static POLICY: OnceLock<RetryPolicy> = OnceLock::new();

/// The deliveries this process started and that may still run.
static PENDING: Mutex<Vec<JoinHandle<()>>> = Mutex::new(Vec::new());

/// Sets how this process's deliveries retry (once, by the front door:
/// `SHORT_LIVED` for a CLI command); `LONG_LIVED` otherwise.
pub fn set_delivery_policy(policy: RetryPolicy) {
    let _ = POLICY.set(policy);
}

fn delivery_policy() -> RetryPolicy {
    *POLICY.get().unwrap_or(&LONG_LIVED)
}

/// Waits until this process's deliveries and pings have ended (delivered
/// or given up), at most `bound`; returns how many were still running.
pub fn flush_notifications(bound: Duration) -> usize {
    let deadline = Instant::now() + bound;
    loop {
        let running = {
            let mut pending = PENDING.lock().unwrap_or_else(|e| e.into_inner());
            pending.retain(|h| !h.is_finished());
            pending.len()
        };
        if running == 0 || Instant::now() >= deadline {
            return running;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn webhook_not_found(name: &str) -> Error {
    Error::new(
        ErrorKind::NotFound,
        format!("webhook {name} does not exist; `hubkeep notify list` shows the webhooks"),
    )
}

/// Parses event names; unknown ones are refused, naming each.
fn parse_events(names: &[String]) -> Result<Vec<EventKind>> {
    let mut kinds = vec![];
    let mut unknown = vec![];
    for name in names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
        match name.parse::<EventKind>() {
            Ok(k) if !kinds.contains(&k) => kinds.push(k),
            Ok(_) => {}
            Err(_) => unknown.push(format!("\"{name}\"")),
        }
    }
    if !unknown.is_empty() {
        let all: Vec<&str> = EventKind::ALL.iter().map(|e| e.as_str()).collect();
        return Err(Error::invalid(format!(
            "--events: {} {} not a hubkeep event; write one or more of {}",
            unknown.join(", "),
            if unknown.len() == 1 { "is" } else { "are" },
            all.join(", ")
        )));
    }
    kinds.sort();
    Ok(kinds)
}

/// An event of `kind` now, for `stack`.
pub(crate) fn event(kind: EventKind, stack: Option<&str>, message: String) -> Event {
    let mut e = Event::new(kind, now(), message);
    e.stack = stack.map(str::to_string);
    e
}

impl Hubkeep {
    /// `notify add`: the URL and events are checked, the secret sealed,
    /// before anything is stored; an existing name is refused.
    pub fn notify_add(&self, req: &NotifyAdd) -> Result<WebhookRecord> {
        check_webhook_name(&req.name)?;
        let events = parse_events(req.events.as_deref().unwrap_or_default())?;
        let hook = Webhook::new(&req.webhook, None, &events)
            .map_err(|e| Error::invalid(format!("--webhook: {e}")))?;
        if req.secret.as_deref() == Some("") {
            return Err(Error::invalid("--secret is empty; give a secret of some length (e.g. `openssl rand -hex 32`), or none for unsigned deliveries"));
        }
        let record = WebhookRecord {
            name: req.name.clone(),
            webhook: req.webhook.clone(),
            events: hook.events().collect(),
            signed: req.secret.is_some(),
            created_at: now(),
        };
        self.home.catalog.transaction(|| {
            if !self
                .home
                .catalog
                .insert_new(Kind::Webhook, &record.name, &record)?
            {
                return Err(Error::conflict(format!(
                    "webhook {} already exists; `hubkeep notify remove {}` first to replace it",
                    record.name, record.name
                )));
            }
            let secrets = self.home.secrets();
            match &req.secret {
                Some(secret) => secrets
                    .put(
                        &SecretName::WebhookSecret(&record.name).to_string(),
                        SecretKind::Param,
                        None,
                        None,
                        secret,
                    )
                    .map(|_| ()),
                None => secrets.remove_now(&SecretName::WebhookSecret(&record.name).to_string()),
            }
        })?;
        Ok(record)
    }

    /// `notify list`: every webhook, oldest first; never a secret.
    pub fn notify_list(&self) -> Result<Vec<WebhookRecord>> {
        self.home.catalog.list(Kind::Webhook)
    }

    /// `notify remove NAME`: the webhook and its secret.
    pub fn notify_remove(&self, name: &str) -> Result<WebhookRecord> {
        let record = self.webhook_record(name)?;
        self.home.catalog.transaction(|| {
            self.home.catalog.delete(Kind::Webhook, name)?;
            self.home.secrets().remove_now(&SecretName::WebhookSecret(name).to_string())
        })?;
        Ok(record)
    }

    /// `notify test NAME`: sends a test event (whatever the webhook's
    /// events) and waits for the outcome; a failure names the webhook and
    /// why, never its URL or secret.
    pub fn notify_test(&self, name: &str) -> Result<NotifyTested> {
        let record = self.webhook_record(name)?;
        let hook = self.webhook(&record)?;
        let mut test = event(
            EventKind::BackupCompleted,
            None,
            format!("a test notification for webhook {name} from `hubkeep notify test`"),
        );
        test.details
            .insert("test".into(), serde_json::Value::Bool(true));
        match hook.send(&test, TEST_POLICY).wait() {
            Outcome::Delivered { attempts } => Ok(NotifyTested { name: record.name, status: "delivered", attempts, signed: record.signed }),
            Outcome::Failed { attempts, error } => Err(Error::new(
                ErrorKind::DeliveryFailed,
                format!("webhook {name} did not receive the test notification after {attempts} attempt(s): {error}; check that the receiver runs and answers 2xx (`hubkeep notify list` shows its URL)"),
            )),
        }
    }

    /// Sends `event` to every webhook subscribed to its kind, in the
    /// background; never blocks, never fails the caller (a problem is a
    /// note naming the webhook, without URL or secret).
    pub fn emit(&self, event: Event) {
        let hooks = match self.notify_list() {
            Ok(hooks) => hooks,
            Err(e) => {
                return self.note(&format!(
                    "warning: the {} notification was not sent: {e}",
                    event.event
                ))
            }
        };
        for record in hooks
            .into_iter()
            .filter(|r| r.events.contains(&event.event))
        {
            match self.webhook(&record) {
                Ok(hook) => {
                    let what = format!("webhook {} did not receive {}", record.name, event.event);
                    self.track(what, hook.send(&event, delivery_policy()));
                }
                Err(e) => self.note(&format!(
                    "warning: webhook {} was not sent {}: {e}",
                    record.name, event.event
                )),
            }
        }
    }

    /// Keeps a delivery until it ends, and notes it if it failed.
    fn track(&self, what: String, delivery: Delivery) {
        let notes = self.notes.clone();
        let watcher = std::thread::spawn(move || {
            if let Outcome::Failed { attempts, error } = delivery.wait() {
                notes(&format!(
                    "warning: {what} after {attempts} attempt(s): {error}"
                ));
            }
        });
        let mut pending = PENDING.lock().unwrap_or_else(|e| e.into_inner());
        pending.retain(|h| !h.is_finished());
        pending.push(watcher);
    }

    fn webhook_record(&self, name: &str) -> Result<WebhookRecord> {
        self.home
            .catalog
            .get(Kind::Webhook, name)?
            .ok_or_else(|| webhook_not_found(name))
    }

    fn webhook(&self, record: &WebhookRecord) -> Result<Webhook> {
        let secret = match record.signed {
            true => {
                let value = self.home.secrets().value(&SecretName::WebhookSecret(&record.name).to_string())?.ok_or_else(|| {
                    Error::new(ErrorKind::SecretNotFound, format!("the secret of webhook {} is missing from the secret store; `hubkeep notify remove {}` and add it again", record.name, record.name))
                })?;
                Some(WebhookSecret::new(value))
            }
            false => None,
        };
        Webhook::new(&record.webhook, secret, &record.events)
            .map_err(|e| Error::invalid(format!("webhook {}: {e}", record.name)))
    }

    /// Runs a backup with its events (`backup.started`, then
    /// `backup.completed` or `backup.failed`) and, for a plan's backup, the
    /// plan's pings. The events carry the id of the backup's first job,
    /// named here when the caller did not.
    pub(crate) fn backup_with_events(
        &self,
        req: &BackupRequest,
        run: impl FnOnce(&BackupRequest) -> Result<BackupSet>,
    ) -> Result<BackupSet> {
        let stack = self.stack(req.stack)?;
        let job_id = req.job_id.clone().unwrap_or_else(crate::new_job_id);
        let req = BackupRequest {
            stack: req.stack,
            offline: req.offline,
            vault: req.vault.clone(),
            strict: req.strict,
            job_id: Some(job_id.clone()),
            automated: req.automated,
        };
        let ping = match req.automated {
            true => self
                .plan(&stack.name)?
                .ping_url
                .and_then(|u| PingTarget::new(u.as_str()).ok()),
            false => None,
        };
        let kind = if req.automated {
            "automated backup"
        } else {
            "backup"
        };
        let mut started = event(
            EventKind::BackupStarted,
            Some(&stack.name),
            format!("{kind} of stack {} started", stack.name),
        );
        started.job_id = Some(job_id.clone());
        self.emit(started);
        self.ping(&stack.name, ping.as_ref(), PingKind::Start);
        let result = run(&req);
        let ended = match &result {
            Ok(set) => {
                let mut e = event(
                    EventKind::BackupCompleted,
                    Some(&stack.name),
                    format!(
                        "{kind} of stack {} completed: backup set {}",
                        stack.name, set.backup_id
                    ),
                );
                e.backup_id = Some(set.backup_id.to_string());
                self.ping(&stack.name, ping.as_ref(), PingKind::Success);
                e
            }
            Err(err) => {
                self.ping(&stack.name, ping.as_ref(), PingKind::Fail);
                event(
                    EventKind::BackupFailed,
                    Some(&stack.name),
                    format!("{kind} of stack {} failed: {}", stack.name, err.message()),
                )
            }
        };
        // A backup refused before its first job started made no job.
        let job_made = self
            .home
            .catalog
            .get::<crate::records::Job>(Kind::Job, &job_id)
            .ok()
            .flatten()
            .is_some();
        self.emit(Event {
            job_id: job_made.then_some(job_id),
            ..ended
        });
        result
    }

    fn ping(&self, stack: &str, target: Option<&PingTarget>, kind: PingKind) {
        if let Some(target) = target {
            let what = format!("the ping of stack {stack}'s plan ({kind:?}) was not answered");
            self.track(what, target.ping(kind, delivery_policy()));
        }
    }

    /// `retention.expired`: one event per backup set retention expired.
    pub(crate) fn emit_expired(&self, set: &BackupSet) {
        let mut e = event(
            EventKind::RetentionExpired,
            Some(&set.stack_name),
            format!(
                "backup set {} of stack {} was expired by retention",
                set.backup_id, set.stack_name
            ),
        );
        e.backup_id = Some(set.backup_id.to_string());
        self.emit(e);
    }

    /// `backup.missed`: a scheduled backup could not start within its
    /// start window; `job` is its EXPIRED job.
    pub(crate) fn emit_missed(&self, job: &crate::records::Job) {
        let message = job.error.clone().unwrap_or_else(|| "a scheduled backup missed its start window".into());
        let mut e = event(EventKind::BackupMissed, job.stack.as_deref(), message);
        e.job_id = Some(job.job_id.clone());
        self.emit(e);
    }

    /// `gc.completed`: a vault's gc finished, with its report.
    pub(crate) fn emit_gc_completed(&self, vault: &str, report: &hubkeep_vault::GcReport) {
        let mut e = event(
            EventKind::GcCompleted,
            None,
            format!(
                "gc of vault {vault} completed: {} pack(s) deleted, {} byte(s) freed",
                report.packs_deleted, report.bytes_freed
            ),
        );
        e.details.insert("vault".into(), vault.into());
        if let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(report) {
            e.details
                .insert("report".into(), serde_json::Value::Object(fields));
        }
        self.emit(e);
    }

    /// `verify.failed`: a verify of `id` (a backup set, snapshot, recovery
    /// point or vault) found damage.
    pub(crate) fn emit_verify_failed(&self, id: &str, error: &Error) {
        let mut e = event(EventKind::VerifyFailed, None, error.message().to_string());
        e.details.insert("id".into(), id.into());
        if let Ok(set) = self.backup_set(id) {
            e.stack = Some(set.stack_name.into());
            e.backup_id = Some(id.to_string());
        }
        self.emit(e);
    }

    /// The RPO of every stack; sends `rpo.breached` once per breach: a
    /// breach is remembered in the catalog until a good backup ends it, and
    /// only a breach after that is notified again.
    pub fn check_rpo(&self) -> Result<Vec<RpoStatus>> {
        let stacks = self.stacks()?;
        let sets = self.backup_sets()?;
        let mut out = vec![];
        for stack in &stacks {
            out.push(self.check_rpo_with(stack, &self.plan(&stack.name)?, &sets)?);
        }
        // The breaches of deleted stacks go with them.
        for breach in self.home.catalog.list::<RpoBreach>(Kind::RpoBreach)? {
            if !stacks.iter().any(|s| s.name == breach.stack) {
                self.home.catalog.delete(Kind::RpoBreach, &breach.stack)?;
            }
        }
        Ok(out)
    }

    /// The RPO of one stack (see `check_rpo`).
    pub fn check_rpo_of(&self, stack: &Stack) -> Result<RpoStatus> {
        self.check_rpo_with(stack, &self.plan(&stack.name)?, &self.backup_sets()?)
    }

    fn check_rpo_with(&self, stack: &Stack, plan: &Plan, sets: &[BackupSet]) -> Result<RpoStatus> {
        let newest = sets
            .iter()
            .filter(|s| s.stack_name == stack.name && s.status == BackupSetStatus::Available)
            .map(|s| s.started_at)
            .max();
        let at = now();
        // A stack without resources (a failed creation) has nothing to back up.
        let breached = plan.enabled
            && stack.outputs.is_some()
            && hubkeep_plan::rpo_breached(Some(newest.unwrap_or(stack.created_at)), plan.rpo, at);
        let status = RpoStatus {
            stack: stack.name.to_string(),
            rpo: plan.rpo,
            newest_good_backup_at: newest,
            breached,
        };
        if !breached {
            self.home.catalog.delete(Kind::RpoBreach, &stack.name)?;
            return Ok(status);
        }
        // One transaction: of two processes seeing a new breach, one notifies.
        let new_breach = self.home.catalog.transaction(|| {
            let known: Option<RpoBreach> = self.home.catalog.get(Kind::RpoBreach, &stack.name)?;
            // The same breach as the one notified: same newest good set.
            if known.is_some_and(|b| b.newest_good_backup_at == newest) {
                return Ok(false);
            }
            let breach = RpoBreach {
                stack: stack.name.to_string(),
                since: at,
                newest_good_backup_at: newest,
            };
            self.home
                .catalog
                .put(Kind::RpoBreach, &stack.name, &breach)?;
            Ok(true)
        })?;
        if !new_breach {
            return Ok(status);
        }
        let newest_text = match newest {
            Some(t) => format!(
                "its newest good backup set was taken at {}",
                t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
            None => "it has no good backup set".to_string(),
        };
        let mut e = event(
            EventKind::RpoBreached,
            Some(&stack.name),
            format!(
                "stack {} breaches its RPO of {}: {newest_text}",
                stack.name, plan.rpo
            ),
        );
        e.details.insert("rpo".into(), plan.rpo.to_string().into());
        e.details.insert(
            "newest_good_backup_at".into(),
            serde_json::to_value(newest)?,
        );
        self.emit(e);
        Ok(status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_event_names_are_refused_naming_each() {
        let names = ["backup.failed", "backup.exploded", "rpo.late"].map(String::from);
        let e = parse_events(&names).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert!(
            e.message()
                .contains("\"backup.exploded\", \"rpo.late\" are not a hubkeep event"),
            "{}",
            e.message()
        );
        assert!(
            !e.message().contains("\"backup.failed\""),
            "a known name is not blamed: {}",
            e.message()
        );
    }

    #[test]
    fn event_names_are_read_once_each_in_a_stable_order() {
        let names = ["rpo.breached", " backup.failed", "rpo.breached", ""].map(String::from);
        assert_eq!(
            parse_events(&names).unwrap(),
            vec![EventKind::BackupFailed, EventKind::RpoBreached]
        );
    }

    #[test]
    fn a_webhook_name_is_a_plain_word() {
        assert!(check_webhook_name("ops-chat_1").is_ok());
        for bad in ["", "-x", "a/b", "a b", &"x".repeat(64)] {
            assert!(check_webhook_name(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn flushing_with_nothing_pending_returns_at_once() {
        assert_eq!(flush_notifications(Duration::from_secs(60)), 0);
    }
}
