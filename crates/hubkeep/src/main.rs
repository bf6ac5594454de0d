//! The `hubkeep` command: parses CLI.md's command line, makes one call into
//! the service layer per command, and prints its response: one JSON
//! document (`--json`) or text for people. Every rule lives in
//! `hubkeep-core`, where the scheduler and the HTTP API find it too.

mod cli;
mod output;
mod progress;
mod serve;

use clap::Parser;
use cli::*;
use hubkeep_core::error::Result;
use hubkeep_core::home::default_home;
use hubkeep_core::ops::regions::RegionAdd;
use hubkeep_core::ops::retention::RetentionRun;
use hubkeep_core::ops::notify::{self as notify, NotifyAdd};
use hubkeep_core::ops::drills::DrillRun;
use hubkeep_core::ops::history::HistoryRequest;
use hubkeep_core::ops::import::{ImportRequest, ImportSource};
use hubkeep_core::PlanChange;
use hubkeep_core::ops::snapshots::SnapshotRestore;
use hubkeep_core::ops::stacks::{RestoreArgs as CoreRestoreArgs, StackAdopt, StackCreate, StackUpdate};
use hubkeep_core::ids::{DbSnapshotId, StackName, VaultName};
use hubkeep_core::records::Profile;
use hubkeep_core::{BackupRequest, Hubkeep, SnapshotRequest};
use serde_json::Value;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// The hidden argument through which a `--no-wait` parent names the first
/// job of the run it starts in the background.
const JOB_ID_ARG: &str = "--job-id";

fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => e.exit(), // --help, --version
        Err(e) => usage_error(e),
    };
    if let Command::Completions { shell } = cli.command {
        output::print_script(shell.name(), &cli::completions(shell), cli.json);
        return;
    }
    let json_mode = cli.json;
    // A command waits for its notifications before it exits, so they give up sooner.
    notify::set_delivery_policy(notify::SHORT_LIVED);
    if let Err(e) = hubkeep_core::ops::plans::init_clock() {
        output::error(e.code(), e.message(), json_mode);
        std::process::exit(2);
    }
    let home = cli.home.clone().unwrap_or_else(default_home);
    let reveal = reveals_secrets(&cli.command);
    if let Command::Serve { listen } = cli.command {
        // The daemon handles its own signals: it stops, it is not interrupted.
        if let Err(e) = serve::run(&home, listen) {
            output::error(e.code(), e.message(), json_mode);
            std::process::exit(1);
        }
        return;
    }
    on_interrupt(home.clone(), json_mode);
    on_panic(json_mode);
    let parent_job_id = cli.job_id.clone().filter(|id| !id.is_empty());
    let result = run(cli, &home, parent_job_id);
    if let Ok(v) = &result {
        output::print(v, json_mode, reveal);
    }
    wait_for_notifications();
    if let Err(e) = result {
        if let Some(report) = e.detail() {
            // The full report goes to stderr: with --json, stdout holds only the error.
            output::note(&serde_json::to_string_pretty(report).expect("a JSON value always serializes"));
        }
        output::error(e.code(), e.message(), json_mode);
        std::process::exit(1);
    }
}

/// The webhook deliveries and pings this command started end (delivered
/// or given up) before it exits: `SHORT_LIVED` bounds them.
fn wait_for_notifications() {
    let left = notify::flush_notifications(notify::SHORT_LIVED.total + std::time::Duration::from_secs(1));
    if left > 0 {
        output::note(&format!("warning: {left} notification(s) were still being retried when hubkeep exited; they are lost"));
    }
}

/// `--secret-file PATH`: the secret is the file's first line; `-` reads stdin.
fn read_secret(secret: Option<String>, file: Option<PathBuf>) -> Result<Option<String>> {
    let Some(path) = file else {
        if secret.is_some() {
            output::note("warning: a --secret on the command line is visible to every user of this machine in the process list; prefer --secret-file PATH (or - for stdin)");
        }
        return Ok(secret);
    };
    let text = if path.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())?
    } else {
        std::fs::read_to_string(&path).map_err(|e| hubkeep_core::Error::invalid(format!("--secret-file {}: {e}", path.display())))?
    };
    Ok(Some(text.lines().next().unwrap_or("").to_string()))
}

/// A bug that panics the main thread still ends with CLI.md's error line
/// (and the JSON error document), after Rust's own panic message.
fn on_panic(json_mode: bool) {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default(info);
        if std::thread::current().name() == Some("main") {
            output::error("internal", &format!("hubkeep stopped on an internal error ({info}); please report it with the command that caused it"), json_mode);
        }
    }));
}

/// The commands whose whole point is to show a secret, printed verbatim.
fn reveals_secrets(c: &Command) -> bool {
    matches!(c, Command::Token(TokenCmd::Create { .. }) | Command::Secret(SecretCmd::Get { .. }) | Command::Param(ParamCmd::Get { .. }) | Command::Vault(VaultCmd::RecoveryKit { .. }))
}

/// The name of the stack a command would create: checked, with every name
/// derived from it, before the home is even opened.
fn new_stack_name(c: &Command) -> Option<&str> {
    match c {
        Command::Stack(StackCmd::Create { name, .. } | StackCmd::Adopt { name, .. }) => Some(name),
        Command::Restore { new_stack, .. } => Some(new_stack),
        _ => None,
    }
}

/// The commands that may make the home they are given: `init`, `demo`,
/// and those that create the first thing of a home. Every other command
/// on a directory that is not a home says so and creates nothing, so a
/// typo'd `--home` never becomes a second, empty home.
fn may_create_home(c: &Command) -> bool {
    matches!(
        c,
        Command::Init { .. }
            | Command::Demo
            | Command::Stack(StackCmd::Create { .. } | StackCmd::Adopt { .. })
            | Command::Vault(VaultCmd::Create { .. } | VaultCmd::Attach { .. })
            | Command::Region(RegionCmd::Add { .. })
            | Command::Param(ParamCmd::Put { .. })
            | Command::Import(_)
    )
}

/// A command line clap refuses: its explanation, then CLI.md's final
/// `error:` line (and the JSON error document with --json).
fn usage_error(e: clap::Error) -> ! {
    let rendered = e.render().to_string();
    let first = rendered.lines().next().unwrap_or("invalid command line").trim_start_matches("error: ").to_string();
    let message = format!("{first}; see `hubkeep --help`");
    for line in rendered.lines() {
        output::note(line);
    }
    output::error("usage", &message, std::env::args().any(|a| a == "--json"));
    std::process::exit(2);
}

/// A handle on the home for one command: opened (created first only by
/// the commands that may create it), showing progress and notes on this
/// terminal, with the home's settings installed and what an earlier, killed
/// run left behind recovered.
fn open(home: &Path, command: &Command) -> Result<Hubkeep> {
    let mut hk = if may_create_home(command) { Hubkeep::open_or_init(home)? } else { Hubkeep::open(home)? };
    hk.progress = progress::terminal_bar();
    hk.notes = std::sync::Arc::new(output::note);
    hk.settings()?.install();
    hk.recover()?;
    Ok(hk)
}

fn to_value<T: serde::Serialize>(v: T) -> Result<Value> {
    serde_json::to_value(v).map_err(hubkeep_core::Error::from)
}

fn profile(p: ProfileArg) -> Profile {
    match p {
        ProfileArg::Hubs => Profile::Hubs,
        ProfileArg::Generic => Profile::Generic,
    }
}

/// `plan set`'s flags as the plan change they ask for (a pair of flags is
/// one optional switch).
fn plan_change(a: PlanSetArgs) -> PlanChange {
    let switch = |on: bool, off: bool| if on { Some(true) } else if off { Some(false) } else { None };
    PlanChange {
        schedule: a.schedule,
        timezone: a.timezone,
        start_window: a.start_window,
        offline: switch(a.offline, a.no_offline),
        enabled: switch(a.enabled, a.disabled),
        keep_last: a.keep_last,
        keep_daily: a.keep_daily,
        keep_weekly: a.keep_weekly,
        keep_monthly: a.keep_monthly,
        keep_yearly: a.keep_yearly,
        rpo: a.rpo,
        verify: a.verify,
        drill: a.drill,
        gc: a.gc,
        ping_url: a.ping_url,
    }
}

fn restore_args(r: RestoreArgs) -> Result<CoreRestoreArgs> {
    Ok(CoreRestoreArgs {
        stack_name: r.restore_stack_name,
        db_snapshot: r.restore_db_snapshot.as_deref().map(DbSnapshotId::parse).transpose()?,
        db_secret_arn: r.restore_db_secret_arn,
        vault: vault_arg(r.restore_vault)?,
        recovery_point: r.restore_recovery_point,
    })
}

/// A `--vault NAME` argument, parsed by the vault-name rule.
fn vault_arg(vault: Option<String>) -> Result<Option<VaultName>> {
    vault.as_deref().map(VaultName::parse).transpose()
}

/// The request of `stack create`.
fn stack_create(command: &StackCmd) -> Option<Result<StackCreate>> {
    let StackCmd::Create { name, domain, region, app_version, profile: p, restore, force_version, keep_urls, wait: _ } = command else { return None };
    let name = match StackName::parse(name) {
        Ok(n) => n,
        Err(e) => return Some(Err(e)),
    };
    Some(Ok(StackCreate {
        name,
        domain: domain.clone(),
        region: region.clone(),
        app_version: app_version.clone(),
        profile: profile(*p),
        restore: match restore_args(restore.clone()) {
            Ok(r) => r,
            Err(e) => return Some(Err(e)),
        },
        force_version: *force_version,
        keep_urls: *keep_urls,
    }))
}

/// The restore `hubkeep restore` asks for.
fn restore_source(command: &Command) -> Option<Result<hubkeep_core::RestoreSource>> {
    let Command::Restore { new_stack, backup, domain, region, force, app_version, force_version, keep_urls, wait: _ } = command else { return None };
    let name = match StackName::parse(new_stack) {
        Ok(name) => name,
        Err(e) => return Some(Err(e)),
    };
    Some(Ok(hubkeep_core::RestoreSource::Backup {
        name,
        backup_id: backup.clone(),
        domain: domain.clone(),
        region: region.clone(),
        force: *force,
        app_version: app_version.clone(),
        force_version: *force_version,
        keep_urls: *keep_urls,
    }))
}

/// `--no-wait`: the service layer names the job and its log; this runs
/// the same command again in the background under that job id.
fn detach(home: &Path) -> Result<Value> {
    let (detached, log) = Hubkeep::open(home)?.detach()?;
    let mut args: Vec<String> = Vec::new();
    let mut given = std::env::args().skip(1);
    while let Some(a) = given.next() {
        if a == JOB_ID_ARG {
            given.next(); // replaced by this job's id below
        } else if a != "--no-wait" && a != "--json" && !a.starts_with("--job-id=") {
            args.push(a);
        }
    }
    let mut cmd = std::process::Command::new(std::env::current_exe()?);
    // The job id goes first: a global argument, it cannot be taken for a
    // value of the command's own arguments.
    cmd.arg(JOB_ID_ARG).arg(&detached.job_id).args(&args).env("HUBKEEP_HOME", home).stdin(std::process::Stdio::null()).stdout(log.try_clone()?).stderr(log);
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    cmd.spawn()?;
    to_value(detached)
}

/// Ctrl-C or SIGTERM, during any command: bring back online what this run
/// took offline, mark its jobs ABORTED, print the error (the JSON error
/// document with --json, code `interrupted`), and exit 128 + the signal.
fn on_interrupt(home: PathBuf, json_mode: bool) {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else { return };
    std::thread::spawn(move || {
        if let Some(sig) = signals.forever().next() {
            if let Ok(mut hk) = Hubkeep::open(&home) {
                hk.notes = std::sync::Arc::new(output::note);
                hk.abort_run();
            }
            let name = if sig == SIGINT { "SIGINT" } else { "SIGTERM" };
            output::error(
                "interrupted",
                &format!("interrupted by {name}; nothing was committed by the unfinished step, and the vault stays consistent"),
                json_mode,
            );
            std::process::exit(128 + sig);
        }
    });
}

/// The recovery kit shows a key: on a terminal the operator types the
/// vault's name to see it; elsewhere `--yes` is required.
fn confirm_recovery_kit(name: &str) -> Result<()> {
    if !std::io::stdin().is_terminal() {
        return Err(hubkeep_core::Error::invalid(format!("the recovery kit of vault {name} contains its recovery key; add --yes to print it")));
    }
    eprint!("The recovery kit shows vault {name}'s recovery key. Type the vault name to print it: ");
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    if answer.trim() != name {
        return Err(hubkeep_core::Error::invalid("not confirmed; nothing was printed"));
    }
    Ok(())
}

fn run(cli: Cli, home: &Path, job_id: Option<String>) -> Result<Value> {
    if let Some(name) = new_stack_name(&cli.command) {
        hubkeep_core::ids::check_stack_name(name)?;
    }
    let no_wait = matches!(
        &cli.command,
        Command::Backup { wait: Wait { no_wait: true }, .. }
            | Command::BackupJob(BackupJobCmd::Start { wait: Wait { no_wait: true }, .. })
            | Command::DbSnapshot(DbSnapshotCmd::Create { wait: Wait { no_wait: true }, .. })
    );
    if no_wait {
        return detach(home);
    }
    // A restore is checked before it goes to the background: a refusal is
    // answered here, and no job is started for it.
    match &cli.command {
        Command::Restore { wait: Wait { no_wait: true }, .. }
        | Command::RestoreJob(RestoreJobCmd::Start { wait: Wait { no_wait: true }, .. })
        | Command::Stack(StackCmd::Create { wait: Wait { no_wait: true }, .. }) => {
            let hk = open(home, &cli.command)?;
            match &cli.command {
                Command::Stack(create) => hk.stack_create_check(&stack_create(create).expect("a stack create")?)?,
                Command::Restore { .. } => {
                    hk.plan_restore(restore_source(&cli.command).expect("a restore")?)?;
                }
                Command::RestoreJob(RestoreJobCmd::Start { arn, target, .. }) => hk.check_restore_job(arn, target)?,
                _ => unreachable!("matched above"),
            }
            return detach(home);
        }
        _ => {}
    }
    if let Command::Init { region } = &cli.command {
        let init = hubkeep_core::ops::regions::init(home, region)?;
        for w in &init.warnings {
            output::note(&format!("warning: {w}"));
        }
        return to_value(init);
    }
    let hk = open(home, &cli.command)?;
    command(&hk, cli.command, job_id)
}

fn command(hk: &Hubkeep, command: Command, job_id: Option<String>) -> Result<Value> {
    match command {
        Command::Init { .. } => unreachable!("handled above"),
        Command::Completions { .. } => unreachable!("answered in main before a home is looked at"),
        Command::Region(RegionCmd::Add { name, pg_url, password_file, storage_root, vault_root }) => {
            to_value(hk.region_add(&RegionAdd { name, pg_url, password_file, storage_root, vault_root })?)
        }
        Command::Region(RegionCmd::List) => to_value(hk.regions()?),
        Command::Stack(c) => match c {
            command @ StackCmd::Create { .. } => {
                hk.name_first_job(job_id);
                to_value(hk.stack_create(stack_create(&command).expect("a stack create")?)?)
            }
            StackCmd::Adopt { name, database_url, database_password_file, storage, region, domain, profile: p, params } => {
                to_value(hk.stack_adopt(StackAdopt { name: StackName::parse(&name)?, database_url, database_password_file, storage, region, domain, profile: profile(p), params })?)
            }
            StackCmd::Update { name, offline, redirect_url, online, app_version, params, offline_hook, online_hook, database_password_file, restore } => to_value(hk.stack_update(StackUpdate {
                name,
                offline,
                redirect_url,
                online,
                app_version,
                params,
                offline_hook,
                online_hook,
                database_password_file,
                restore: restore_args(restore)?,
            })?),
            StackCmd::List => to_value(hk.stacks()?),
            StackCmd::Show { name } => to_value(hk.stack_show(&name)?),
            StackCmd::History { name, nights } => to_value(hk.stack_history(&HistoryRequest { stack: name, nights })?),
            StackCmd::Delete { name, yes } => to_value(hk.stack_delete(&name, yes)?),
        },
        Command::DbSnapshot(c) => match c {
            DbSnapshotCmd::Create { stack, id, vault, automated, wait: _ } => to_value(hk.create_db_snapshot(&SnapshotRequest { stack: &stack, id: id.as_deref().map(DbSnapshotId::parse).transpose()?, vault: vault_arg(vault)?, automated, job_id })?),
            DbSnapshotCmd::List { stack } => to_value(hk.db_snapshots(stack.as_deref())?),
            DbSnapshotCmd::Show { id } => to_value(hk.db_snapshot(&id)?),
            DbSnapshotCmd::Delete { id, force } => to_value(hk.db_snapshot_delete(&id, force)?),
            DbSnapshotCmd::Restore { id, target_url, database_password_file } => {
                to_value(hk.db_snapshot_restore(&SnapshotRestore { id, target_url, password_file: database_password_file })?)
            }
        },
        Command::Vault(c) => match c {
            VaultCmd::Create { name, region } => to_value(hk.vault_create(&name, region.as_deref())?),
            VaultCmd::Attach { name, location, recovery_key, region } => to_value(hk.attach_vault(&name, &location, &recovery_key, region.as_deref())?),
            VaultCmd::RecoveryKit { name, yes } => {
                hk.vault_record(&name)?;
                if !yes {
                    confirm_recovery_kit(&name)?;
                }
                to_value(hk.recovery_kit(&name)?)
            }
            VaultCmd::List => to_value(hk.vaults()?),
            VaultCmd::Show { name } => to_value(hk.vault_show(&name)?),
            VaultCmd::Verify { name, share: true, .. } => to_value(hk.vault_verify_share(&name, job_id)?),
            VaultCmd::Verify { name, read_data, share: false } => to_value(hk.vault_verify(&name, read_data)?),
            VaultCmd::Gc { name, grace_seconds, dry_run } => to_value(hk.vault_gc(&name, grace_seconds, dry_run)?),
        },
        Command::BackupJob(BackupJobCmd::Start { stack, vault, wait: _ }) => to_value(hk.start_backup_job(&stack, vault_arg(vault)?.as_ref(), job_id.as_deref())?),
        Command::RecoveryPoint(c) => match c {
            RecoveryPointCmd::List { vault } => to_value(hk.recovery_points(vault.as_deref())?),
            RecoveryPointCmd::Show { arn } => to_value(hk.recovery_point(&arn)?),
            RecoveryPointCmd::Delete { arn, force } => to_value(hk.recovery_point_delete(&arn, force)?),
        },
        Command::RestoreJob(RestoreJobCmd::Start { arn, target, skip_damaged, wait: _ }) => {
            hk.name_first_job(job_id);
            to_value(hk.start_restore_job(&arn, &target, skip_damaged)?)
        }
        Command::Backup { stack, offline, vault, strict, automated, wait: _ } => to_value(hk.backup(&BackupRequest { stack: &stack, offline, vault: vault_arg(vault)?, strict, job_id, automated })?),
        command @ Command::Restore { .. } => {
            hk.name_first_job(job_id);
            to_value(hk.run_restore(hk.plan_restore(restore_source(&command).expect("a restore")?)?)?)
        }
        Command::Import(c) => {
            let (source, args) = match c {
                ImportCmd::CeBackup { dir, args } => (ImportSource::CeBackup { dir }, args),
                ImportCmd::Dump { database_dump, storage, taken_at, args } => (ImportSource::Dump { database_dump, storage, taken_at }, args),
            };
            let ImportArgs { stack, params, param_files, vault, domain } = args;
            to_value(hk.import_backup(&ImportRequest { source, stack: StackName::parse(&stack)?, params, param_files, vault: vault_arg(vault)?, domain })?)
        }
        Command::BackupSet(BackupSetCmd::List) => to_value(hk.backup_sets()?),
        Command::BackupSet(BackupSetCmd::Show { id }) => to_value(hk.backup_set(&id)?),
        Command::Job(JobCmd::List { state, stack }) => to_value(hk.jobs(state.as_deref(), stack.as_deref())?),
        Command::Job(JobCmd::Show { id }) => to_value(hk.job(&id)?),
        Command::Verify { id, read_data } => to_value(hk.verify(&id, read_data)?),
        Command::Secret(c) => match c {
            SecretCmd::List => to_value(hk.secret_list()?),
            SecretCmd::Show { name } => to_value(hk.secret_show(&name)?),
            SecretCmd::Get { name } => to_value(hk.secret_get(&name)?),
            SecretCmd::Delete { name, recovery_window_days } => to_value(hk.secret_delete(&name, recovery_window_days)?),
            SecretCmd::Restore { name } => to_value(hk.secret_restore(&name)?),
        },
        Command::Param(c) => match c {
            ParamCmd::List { prefix } => to_value(hk.param_list(&prefix)?),
            ParamCmd::Put { name, value, overwrite } => to_value(hk.param_put(&name, &value, overwrite)?),
            ParamCmd::Get { name } => to_value(hk.param_get(&name)?),
        },
        Command::Demo => to_value(hk.demo()?),
        Command::Serve { .. } => unreachable!("answered in main: the daemon is not a one-shot command"),
        Command::Plan(PlanCmd::Show { stack }) => to_value(hk.plan_show(&stack)?),
        Command::Plan(PlanCmd::List) => to_value(hk.plan_list()?),
        Command::Plan(PlanCmd::Set { stack, change }) => to_value(hk.plan_set(&stack, &plan_change(change))?),
        Command::Retention(RetentionCmd::Run { stack, dry_run }) => to_value(hk.retention_run(&RetentionRun { stack, dry_run })?),
        Command::Token(c) => match c {
            TokenCmd::Create { name, role } => to_value(hk.token_create(&name, hubkeep_core::ops::tokens::Role::parse(&role)?)?),
            TokenCmd::List => to_value(hk.token_list()?),
            TokenCmd::Revoke { name } => to_value(hk.token_revoke(&name)?),
        },
        Command::Notify(c) => match c {
            NotifyCmd::Add { name, webhook, secret, secret_file, events } => {
                let secret = read_secret(secret, secret_file)?;
                let added = hk.notify_add(&NotifyAdd { name, webhook, secret, events })?;
                Ok(serde_json::json!({"name": added.name, "webhook": added.webhook, "events": added.events}))
            }
            NotifyCmd::List => to_value(hk.notify_list()?),
            NotifyCmd::Test { name } => to_value(hk.notify_test(&name)?),
            NotifyCmd::Remove { name } => to_value(hk.notify_remove(&name)?),
        },
        Command::Drill(DrillCmd::Run { stack, backup }) => to_value(hk.drill_run(&DrillRun { stack, backup_id: backup, job_id })?),
        Command::Drill(DrillCmd::List { stack }) => to_value(hk.drill_list(stack.as_deref())?),
    }
}
