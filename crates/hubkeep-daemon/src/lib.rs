//! hubkeep's scheduler, the front door of unattended operation: it holds no
//! rules. For each stack's plan it asks `hubkeep_plan` what is due now
//! (`missed::decide` for backups, the plan's own schedules for verify,
//! drill and gc), remembers in the catalog what it handled, and submits the
//! work to the queue of `hubkeep serve`. After a scheduled backup completes
//! it submits that stack's retention and, with `verify: after-backup`, the
//! night's verify share of its vault.
//!
//! It sleeps on the clock (`hubkeep_plan::clock()`), so under
//! `HUBKEEP_CLOCK=…@rate` a simulated night passes in real seconds.

#![deny(missing_docs)]

use chrono::{DateTime, Utc};
use hubkeep_core::ops::queue::{Queue, Work};
use hubkeep_core::ops::schedules::{Handled, PendingBackup};
use hubkeep_core::ids::StackName;
use hubkeep_core::records::Stack;
use hubkeep_core::states::JobState;
use hubkeep_core::{Hubkeep, Result};
use hubkeep_plan::missed::{decide, first_look, Decision};
use hubkeep_plan::{Plan, Schedule, VerifyWhen, Zone};
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// The longest real nap between looks at the plans: a plan changed through
/// the CLI or the API is seen within it, and so is a finished backup.
const MAX_NAP: Duration = Duration::from_secs(2);

/// How many scheduled times of a verify, drill or gc schedule one look
/// walks; a plan whose work was off longer starts again from now.
const MAX_WALK: usize = 10_000;

/// Tells a running scheduler to stop; it returns from `run` at once.
#[derive(Default)]
pub struct Stop {
    stopped: Mutex<bool>,
    wake: Condvar,
}

impl Stop {
    /// A stop not yet asked for.
    pub fn new() -> Arc<Stop> {
        Arc::new(Stop::default())
    }

    /// Ask the scheduler to stop.
    pub fn stop(&self) {
        *self.stopped.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.wake.notify_all();
    }

    /// Whether `stop` was called.
    pub fn is_stopped(&self) -> bool {
        *self.stopped.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sleep `real` real time, or less if stopped meanwhile.
    fn nap(&self, real: Duration) {
        let stopped = self.stopped.lock().unwrap_or_else(|e| e.into_inner());
        if !*stopped {
            let _ = self.wake.wait_timeout(stopped, real);
        }
    }
}

/// The scheduler of one home.
pub struct Scheduler {
    home: PathBuf,
    queue: Queue,
    notes: Arc<dyn Fn(&str) + Send + Sync>,
}

impl Scheduler {
    /// A scheduler submitting to `queue`, writing one line per decision to `notes`.
    pub fn new(home: PathBuf, queue: Queue, notes: Arc<dyn Fn(&str) + Send + Sync>) -> Scheduler {
        Scheduler {
            home,
            queue,
            notes,
        }
    }

    /// Run until `stop`: look at every plan, do what is due, sleep on the
    /// clock until the next thing is due (at most `MAX_NAP` of real time).
    pub fn run(mut self, stop: &Stop) -> Result<()> {
        let mut hk = Hubkeep::open(&self.home)?;
        let notes = self.notes.clone();
        hk.notes = Arc::new(move |m| (notes)(m));
        while !stop.is_stopped() {
            let clock = hubkeep_plan::clock();
            let next = self.tick(&hk);
            let left = next
                .map(|at| at - clock.now())
                .unwrap_or(chrono::Duration::MAX);
            let real = match left > chrono::Duration::zero() {
                true => clock
                    .real_duration(left.min(chrono::Duration::days(366)))
                    .min(MAX_NAP),
                false => Duration::ZERO,
            };
            stop.nap(real);
        }
        Ok(())
    }

    /// One look at every plan; returns when the next thing is due.
    fn tick(&mut self, hk: &Hubkeep) -> Option<DateTime<Utc>> {
        // Checked even when no job runs: a breach is sent once (core remembers it).
        if let Err(e) = hk.check_rpo() {
            self.log(&format!("scheduler: cannot check the RPO of the stacks: {e}"));
        }
        let stacks = match hk.stacks() {
            Ok(stacks) => stacks,
            Err(e) => {
                self.log(&format!("scheduler: cannot read the stacks: {e}"));
                return None;
            }
        };
        let mut next: Option<DateTime<Utc>> = None;
        for stack in &stacks {
            match self.plan_tick(hk, stack) {
                Ok(due) => next = earliest(next, due),
                Err(e) => self.log(&format!("scheduler: stack {}: {e}", stack.name)),
            }
        }
        next
    }

    /// What is due for one stack's plan now.
    fn plan_tick(&mut self, hk: &Hubkeep, stack: &Stack) -> Result<Option<DateTime<Utc>>> {
        let plan = hk.plan(&stack.name)?;
        let mut handled = hk.schedule_handled(&stack.name)?;
        self.follow_up(hk, &mut handled)?;
        let mut next = self.backup_tick(hk, stack, &plan, &mut handled)?;
        let vault = stack.outputs.as_ref().map(|o| o.daily_backup_vault.clone());
        if let (VerifyWhen::On(schedule), Some(vault)) = (&plan.verify, &vault) {
            let due = self.own_schedule(
                hk,
                stack,
                schedule,
                plan.timezone,
                &mut handled,
                |h| &mut h.verify,
                || Work::VerifyShare {
                    vault: vault.clone(),
                },
            )?;
            next = earliest(next, Some(due));
        }
        if let Some(schedule) = plan.drill.schedule() {
            let due = self.own_schedule(
                hk,
                stack,
                schedule,
                plan.timezone,
                &mut handled,
                |h| &mut h.drill,
                || Work::Drill {
                    stack: stack.name.clone(),
                    backup_id: None,
                },
            )?;
            next = earliest(next, Some(due));
        }
        if let (Some(schedule), Some(vault)) = (plan.gc.schedule(), &vault) {
            let due = self.own_schedule(
                hk,
                stack,
                schedule,
                plan.timezone,
                &mut handled,
                |h| &mut h.gc,
                || Work::Gc {
                    vault: vault.clone(),
                },
            )?;
            next = earliest(next, Some(due));
        }
        Ok(next)
    }

    /// The plan's backup: run it once per scheduled time within the start
    /// window, record the times past it as EXPIRED jobs.
    fn backup_tick(
        &mut self,
        hk: &Hubkeep,
        stack: &Stack,
        plan: &Plan,
        handled: &mut Handled,
    ) -> Result<Option<DateTime<Utc>>> {
        loop {
            let now = hubkeep_plan::clock().now();
            let start = handled
                .backup
                .unwrap_or_else(|| first_look(plan, stack.created_at, now));
            match decide(plan, start, now) {
                Decision::Disabled => {
                    // The times it is off are neither run nor expired later.
                    handled.backup = Some(now);
                    hk.set_schedule_handled(handled)?;
                    return Ok(None);
                }
                Decision::Wait { until } => return Ok(Some(until)),
                Decision::Expire { scheduled_for } => {
                    for at in &scheduled_for {
                        let job =
                            hk.record_missed_run(&stack.name, *at, &plan.start_window.to_string())?;
                        self.log(&format!(
                            "backup {} missed its run scheduled for {}: job {} EXPIRED",
                            stack.name,
                            stamp(*at),
                            job.job_id
                        ));
                    }
                    handled.backup = scheduled_for.last().copied().or(handled.backup);
                    hk.set_schedule_handled(handled)?;
                }
                Decision::Run { scheduled_for } => {
                    // Remembered before it is submitted: never run twice.
                    handled.backup = Some(scheduled_for);
                    hk.set_schedule_handled(handled)?;
                    let id = self.queue.submit(Work::Backup {
                        stack: stack.name.clone(),
                        offline: plan.offline,
                        automated: true,
                    })?;
                    self.log(&format!(
                        "backup {} queued job {id} for the run scheduled at {}",
                        stack.name,
                        stamp(scheduled_for)
                    ));
                    // Remembered in the catalog: a daemon restarted after
                    // the backup completed still runs its follow-ups.
                    handled.pending = Some(PendingBackup {
                        job_id: id,
                        scheduled_for,
                        window_end: scheduled_for + plan.start_window.duration(),
                    });
                    hk.set_schedule_handled(handled)?;
                    return Ok(Some(plan.schedule.next_run(plan.timezone, scheduled_for)));
                }
            }
        }
    }

    /// Work on its own schedule (verify, drill, gc): the newest due time
    /// runs once, older missed ones are superseded by it.
    #[allow(clippy::too_many_arguments)]
    fn own_schedule(
        &mut self,
        hk: &Hubkeep,
        stack: &Stack,
        schedule: &Schedule,
        zone: Zone,
        handled: &mut Handled,
        slot: impl Fn(&mut Handled) -> &mut Option<DateTime<Utc>>,
        work: impl Fn() -> Work,
    ) -> Result<DateTime<Utc>> {
        let now = hubkeep_plan::clock().now();
        let mut last = slot(handled).unwrap_or(stack.created_at);
        let mut due = None;
        let mut walked = 0;
        let mut next = schedule.next_run(zone, last);
        while next <= now {
            due = Some(next);
            last = next;
            walked += 1;
            if walked == MAX_WALK {
                last = now;
            }
            next = schedule.next_run(zone, last);
        }
        if let Some(at) = due {
            *slot(handled) = Some(at);
            hk.set_schedule_handled(handled)?;
            let work = work();
            let kind = work.kind();
            let id = self.queue.submit(work)?;
            self.log(&format!(
                "{kind} {} queued job {id} for the run scheduled at {}",
                stack.name,
                stamp(at)
            ));
        }
        Ok(next)
    }

    /// After the stack's scheduled backup completed: its retention, then
    /// the night's verify share of its vault. One still queued when its
    /// start window closes (its stack was busy all along) expires instead.
    /// One that failed or was aborted (also by a crash of an earlier
    /// daemon) is let go: the next night runs again.
    fn follow_up(&mut self, hk: &Hubkeep, handled: &mut Handled) -> Result<()> {
        let Some(run) = handled.pending.clone() else {
            return Ok(());
        };
        let id = &run.job_id;
        let job = match hk.job(id) {
            Ok(job) => job,
            Err(e) => {
                self.log(&format!("scheduler: cannot read job {id}: {e}"));
                return self.settle(hk, handled);
            }
        };
        match job.state {
            JobState::Queued if hubkeep_plan::clock().now() >= run.window_end => {
                let reason = format!(
                    "the backup scheduled for {} could not start within the plan's start window (it waited: {}); the next scheduled time is kept",
                    stamp(run.scheduled_for),
                    job.waiting_for.as_deref().unwrap_or("for a worker")
                );
                match self.queue.expire(id, &reason) {
                    Ok(true) => {
                        self.log(&format!(
                            "backup {} missed its run scheduled for {}: job {id} EXPIRED",
                            handled.stack,
                            stamp(run.scheduled_for)
                        ));
                        self.settle(hk, handled)?;
                    }
                    Ok(false) => {}
                    Err(e) => self.log(&format!("scheduler: cannot expire job {id}: {e}")),
                }
            }
            JobState::Queued | JobState::Running | JobState::Created => {}
            JobState::Completed => {
                // Settled first: a crash in between skips one night's
                // follow-ups rather than running them twice.
                self.settle(hk, handled)?;
                self.after_good_backup(hk, &handled.stack)?;
            }
            _ => self.settle(hk, handled)?,
        }
        Ok(())
    }

    /// The pending backup needs nothing more.
    fn settle(&self, hk: &Hubkeep, handled: &mut Handled) -> Result<()> {
        handled.pending = None;
        hk.set_schedule_handled(handled)
    }

    fn after_good_backup(&mut self, hk: &Hubkeep, stack: &StackName) -> Result<()> {
        let id = self.queue.submit(Work::Retention {
            stack: Some(stack.clone()),
        })?;
        self.log(&format!(
            "retention {stack} queued job {id} after the scheduled backup"
        ));
        let plan = hk.plan(stack)?;
        if plan.verify == VerifyWhen::AfterBackup {
            if let Some(outputs) = hk.stack(stack)?.outputs {
                let vault = outputs.daily_backup_vault;
                let id = self.queue.submit(Work::VerifyShare {
                    vault: vault.clone(),
                })?;
                self.log(&format!(
                    "verify-share {vault} queued job {id} after the scheduled backup of {stack}"
                ));
            }
        }
        Ok(())
    }

    fn log(&self, line: &str) {
        (self.notes)(&format!("{} {line}", stamp(hubkeep_plan::clock().now())));
    }
}

fn earliest(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn stamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}
