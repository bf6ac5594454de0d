//! The queue of `hubkeep serve`, as the scheduler and the API use it: one
//! operation per stack, a CLI command's stack lock makes queued work wait
//! (and say so), and a shutdown leaves nothing queued or offline. Real
//! embedded PostgreSQL clusters and real files.

use hubkeep_core::ops::queue::{Queue, Work};
use hubkeep_core::ops::stacks::{RestoreArgs, StackCreate};
use hubkeep_core::records::{Job, Profile};
use hubkeep_core::states::{JobState, StackStatus};
use hubkeep_core::Hubkeep;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// A throwaway home whose embedded clusters are stopped when it goes.
struct TestHome {
    dir: tempfile::TempDir,
}

impl TestHome {
    fn new() -> TestHome {
        let dir = hubkeep_testkit::throwaway_dir("hubkeep-queue-test-");
        TestHome { dir }
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// A home with one stack, `hub1`.
    fn with_stack(&self) -> Hubkeep {
        let mut hk = Hubkeep::open_or_init(&self.path()).unwrap();
        hk.notes = std::sync::Arc::new(|_| {});
        hk.recover().unwrap();
        hk.stack_create(StackCreate {
            name: "hub1".parse().unwrap(),
            domain: None,
            region: None,
            app_version: None,
            profile: Profile::Generic,
            restore: RestoreArgs::default(),
            force_version: false,
            keep_urls: false,
        })
        .unwrap();
        hk
    }

    fn queue(&self) -> Queue {
        Queue::start_with_notes(self.path(), 2, std::sync::Arc::new(|_| {})).unwrap()
    }
}

impl Drop for TestHome {
    fn drop(&mut self) {
        hubkeep_testkit::stop_clusters(&self.path());
    }
}

/// Polls the catalog until `done` holds for job `id`, remembering every
/// state the job was seen in; a bound keeps a broken queue from hanging.
fn watch(hk: &Hubkeep, id: &str, done: impl Fn(&Job) -> bool) -> (Job, Vec<Job>) {
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut seen = vec![];
    loop {
        let job = hk.job(id).unwrap();
        if done(&job) {
            return (job, seen);
        }
        seen.push(job);
        assert!(
            Instant::now() < deadline,
            "job {id} never got there: {:?}",
            seen.last()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn finished(j: &Job) -> bool {
    !matches!(j.state, JobState::Queued | JobState::Running)
}

/// An offline backup as an operator asks for it through the API (two
/// automated ones in one minute would share their snapshot id).
fn backup() -> Work {
    Work::Backup {
        stack: "hub1".parse().unwrap(),
        offline: true,
        automated: false,
    }
}

#[test]
fn two_backups_of_one_stack_never_overlap_and_the_second_says_what_it_waits_for() {
    if !hubkeep_testkit::can_run_clusters() {
        return;
    }
    let home = TestHome::new();
    let hk = home.with_stack();
    let queue = home.queue();
    let first = queue.submit(backup()).unwrap();
    let second = queue.submit(backup()).unwrap();
    assert_ne!(first, second);
    assert_eq!(
        hk.job(&second).unwrap().kind,
        "backup",
        "a queued job is in the catalog at once"
    );

    let (second_job, second_seen) = watch(&hk, &second, finished);
    let first_job = hk.job(&first).unwrap();
    queue.shutdown(false);

    assert_eq!(
        first_job.state,
        JobState::Completed,
        "{:?}",
        first_job.error
    );
    assert_eq!(
        second_job.state,
        JobState::Completed,
        "{:?}",
        second_job.error
    );
    assert!(
        second_job.started_at.unwrap() >= first_job.finished_at.unwrap(),
        "the second backup started before the first ended: {first_job:?} {second_job:?}"
    );
    let waited = format!("stack hub1 is busy: job {first} (backup)");
    assert!(
        second_seen
            .iter()
            .any(|j| j.state == JobState::Queued
                && j.waiting_for.as_deref() == Some(waited.as_str())),
        "the second backup never said it waited for the first: {second_seen:?}"
    );
    assert!(
        second_job.waiting_for.is_none(),
        "a job that ran waits for nothing"
    );
    let sets = hk.backup_sets().unwrap();
    assert_eq!(sets.len(), 2, "each queued backup made its backup set");
    assert_eq!(hk.stack("hub1").unwrap().status, StackStatus::Online);
}

#[test]
fn a_stack_locked_by_a_cli_command_makes_a_queued_backup_wait_then_run() {
    if !hubkeep_testkit::can_run_clusters() {
        return;
    }
    let home = TestHome::new();
    let hk = home.with_stack();
    // What a `hubkeep backup hub1` in another process holds while it runs.
    let cli = hk.lock_stack("hub1", "backup").unwrap();
    let queue = home.queue();
    let id = queue.submit(backup()).unwrap();
    let expected = format!(
        "stack hub1 is locked by backup by pid {}",
        std::process::id()
    );
    let (waiting, _) = watch(&hk, &id, |j| j.waiting_for.is_some());
    assert_eq!(waiting.state, JobState::Queued);
    assert_eq!(waiting.waiting_for.as_deref(), Some(expected.as_str()));
    assert!(
        hk.backup_sets().unwrap().is_empty(),
        "nothing ran while the stack was locked"
    );

    drop(cli);
    let (done, _) = watch(&hk, &id, finished);
    queue.shutdown(false);
    assert_eq!(done.state, JobState::Completed, "{:?}", done.error);
    assert_eq!(hk.backup_sets().unwrap().len(), 1);
}

#[test]
fn a_shutdown_aborts_what_is_still_queued_and_leaves_the_hub_online() {
    if !hubkeep_testkit::can_run_clusters() {
        return;
    }
    let home = TestHome::new();
    let hk = home.with_stack();
    let queue = home.queue();
    let running = queue.submit(backup()).unwrap();
    let queued = queue.submit(backup()).unwrap();
    watch(&hk, &running, |j| j.state != JobState::Queued);
    queue.shutdown(true);

    let queued = hk.job(&queued).unwrap();
    assert_eq!(queued.state, JobState::Aborted);
    assert_eq!(
        queued.error.as_deref(),
        Some("hubkeep serve stopped before this job could start")
    );
    let running = hk.job(&running).unwrap();
    assert!(
        matches!(running.state, JobState::Aborted | JobState::Completed),
        "the running backup was cancelled or had finished: {running:?}"
    );
    assert_eq!(
        hk.stack("hub1").unwrap().status,
        StackStatus::Online,
        "the hub is back online"
    );
    let refused = queue.submit(backup()).unwrap_err();
    assert!(refused.message().contains("stopping"), "{refused}");
}
