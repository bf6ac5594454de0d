//! The `hubkeep` command: parses CLI.md's command line, calls the service
//! layer, and prints one JSON document (`--json`) or text for people.

mod cli;
mod output;
mod progress;

use clap::Parser;
use cli::*;
use hubkeep_core::error::{Error, Result};
use hubkeep_core::home::{default_home, Home, Provider, Region};
use hubkeep_core::records::{Hooks, Profile, RestoreParams};
use hubkeep_core::{dbpassword, AdoptRequest, BackupRequest, CreateRequest, Hubkeep, RestoreRequest, SnapshotRequest};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => e.exit(), // --help, --version
        Err(e) => usage_error(e),
    };
    let json_mode = cli.json;
    let home = cli.home.clone().unwrap_or_else(default_home);
    let reveal = reveals_secrets(&cli.command);
    on_interrupt(home.clone(), json_mode);
    on_panic(json_mode);
    match run(cli, &home) {
        Ok(v) => output::print(&v, json_mode, reveal),
        Err(e) => {
            output::error(e.code(), e.message(), json_mode);
            std::process::exit(1);
        }
    }
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
    matches!(c, Command::Secret(SecretCmd::Get { .. }) | Command::Param(ParamCmd::Get { .. }) | Command::Vault(VaultCmd::RecoveryKit { .. }))
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

fn open(home: &Path) -> Result<Hubkeep> {
    let mut hk = Hubkeep::open(home)?;
    hk.progress = progress::terminal_bar();
    hk.notes = std::sync::Arc::new(output::note);
    Ok(hk)
}

/// A database connection from a URL and the password sources of
/// `dbpassword` (a warning when the URL itself carries the password).
fn connection(url: &str, option: &str, password_file: Option<&Path>) -> Result<hubkeep_pg::ConnInfo> {
    let (conn, source) = dbpassword::resolve(url, password_file)?;
    if source == Some(dbpassword::PasswordSource::Url) {
        output::note(&dbpassword::password_in_url_warning(option));
    }
    Ok(conn)
}

fn to_value<T: serde::Serialize>(v: T) -> Result<Value> {
    serde_json::to_value(v).map_err(Error::from)
}

fn profile(p: ProfileArg) -> Profile {
    match p {
        ProfileArg::Hubs => Profile::Hubs,
        ProfileArg::Generic => Profile::Generic,
    }
}

fn parse_params(params: &[String]) -> Result<BTreeMap<String, String>> {
    params
        .iter()
        .map(|p| {
            p.split_once('=')
                .map(|(k, v)| (k.trim().to_string(), v.to_string()))
                .filter(|(k, _)| !k.is_empty())
                .ok_or_else(|| Error::invalid(format!("`--param {}` must be NAME=VALUE, e.g. --param phoenix-key=…", p.split('=').next().unwrap_or(""))))
        })
        .collect()
}

/// Run the same command again in the background for `--no-wait`, naming
/// its first job, and return that job id at once.
fn detach(home: &Path) -> Result<Value> {
    let job_id = hubkeep_core::ids::job_id();
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--no-wait" && a != "--json").collect();
    let logs = Home::open(home)?.logs_dir()?;
    let log = {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(logs.join(format!("{job_id}.log")))?
    };
    let mut cmd = std::process::Command::new(std::env::current_exe()?);
    cmd.args(&args).env("HUBKEEP_HOME", home).env("HUBKEEP_JOB_ID", &job_id).stdin(std::process::Stdio::null()).stdout(log.try_clone()?).stderr(log);
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    cmd.spawn()?;
    Ok(json!({"job_id": job_id, "state": "CREATED", "log": logs.join(format!("{job_id}.log"))}))
}

/// Ctrl-C or SIGTERM, during any command: bring back online what this run
/// took offline, mark its jobs ABORTED, print the error (the JSON error
/// document with --json, code `interrupted`), and exit 128 + the signal.
fn on_interrupt(home: PathBuf, json_mode: bool) {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else { return };
    std::thread::spawn(move || {
        if let Some(sig) = signals.forever().next() {
            if Home::exists(&home).unwrap_or(false) {
                if let Ok(hk) = Home::open(&home).map(|h| Hubkeep { home: h, progress: None, notes: std::sync::Arc::new(output::note) }) {
                    hk.abort_run();
                }
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

fn run(cli: Cli, home: &Path) -> Result<Value> {
    if let Some(name) = new_stack_name(&cli.command) {
        hubkeep_core::ids::check_stack_name(name)?;
    }
    if !may_create_home(&cli.command) {
        Home::require(home)?;
    }
    match cli.command {
        Command::Init { region } => {
            let (h, fresh) = Home::init(home, &region)?;
            for w in &h.warnings {
                output::note(&format!("warning: {w}"));
            }
            Ok(json!({"home": h.dir, "created": fresh, "region": region, "regions": h.regions()?, "warnings": h.warnings}))
        }
        Command::Region(c) => region(c, home),
        Command::Stack(c) => stack(c, home),
        Command::DbSnapshot(c) => db_snapshot(c, home),
        Command::Vault(c) => vault(c, home),
        Command::BackupJob(BackupJobCmd::Start { stack, vault, wait }) => {
            if wait.no_wait {
                return detach(home);
            }
            to_value(open(home)?.start_backup_job(&stack, vault.as_deref())?)
        }
        Command::RecoveryPoint(c) => {
            let hk = open(home)?;
            match c {
                RecoveryPointCmd::List { vault } => to_value(hk.recovery_points(vault.as_deref())?),
                RecoveryPointCmd::Show { arn } => to_value(hk.recovery_point(&arn)?),
                RecoveryPointCmd::Delete { arn, force } => {
                    let rp = hk.delete_recovery_point(&arn, force)?;
                    let gc = hk.gc_vault(&rp.vault, std::time::Duration::from_secs(3600));
                    Ok(
                        json!({"recovery_point_arn": rp.recovery_point_arn, "status": "DELETED", "gc": gc.map(to_value).unwrap_or_else(|e| Ok(json!({"skipped": e.message()})))?}),
                    )
                }
            }
        }
        Command::RestoreJob(RestoreJobCmd::Start { arn, target, skip_damaged }) => open(home)?.start_restore_job(&arn, &target, skip_damaged),
        Command::Backup { stack, offline, vault, strict, wait } => {
            if wait.no_wait {
                return detach(home);
            }
            to_value(open(home)?.backup(&BackupRequest { stack: &stack, offline, vault, strict })?)
        }
        Command::Restore { new_stack, backup, domain, region, force } => to_value(open(home)?.restore_backup(&new_stack, &backup, domain, region, force)?),
        Command::BackupSet(c) => {
            let hk = open(home)?;
            match c {
                BackupSetCmd::List => to_value(hk.backup_sets()?),
                BackupSetCmd::Show { id } => to_value(hk.backup_set(&id)?),
            }
        }
        Command::Job(c) => {
            let hk = open(home)?;
            match c {
                JobCmd::List { state, stack } => to_value(hk.jobs(state.as_deref(), stack.as_deref())?),
                JobCmd::Show { id } => to_value(hk.job(&id)?),
            }
        }
        Command::Verify { id, read_data } => verify(&open(home)?, &id, read_data),
        Command::Secret(c) => secret(c, home),
        Command::Param(c) => {
            let hk = open(home)?;
            let secrets = hk.home.secrets();
            match c {
                ParamCmd::List { prefix } => to_value(secrets.list_prefix(&prefix)?.into_iter().filter(|m| m.arn.is_none()).collect::<Vec<_>>()),
                ParamCmd::Put { name, value, overwrite } => {
                    if !name.starts_with('/') || name.ends_with('/') || name.contains("//") {
                        return Err(Error::invalid(format!(
                            "`{name}` is not a parameter name: use a path such as /keymaster/STACK/phoenix-key or /ita/STACK/SETTING"
                        )));
                    }
                    if name.starts_with("/hubkeep/") {
                        return Err(Error::invalid(format!("{name} is managed by hubkeep itself")));
                    }
                    if secrets.find(&name)?.is_some() && !overwrite {
                        return Err(Error::conflict(format!("parameter {name} already exists; add --overwrite to replace its value")));
                    }
                    let stack = name.split('/').nth(2).filter(|_| name.starts_with("/keymaster/") || name.starts_with("/ita/"));
                    let meta = secrets.put(&name, hubkeep_core::secrets::SecretKind::Param, None, stack, &value)?;
                    Ok(json!({"name": meta.name, "updated_at": meta.updated_at}))
                }
                ParamCmd::Get { name } => {
                    let (meta, value) = secrets.get(&name)?;
                    Ok(json!({"name": meta.name, "value": value}))
                }
            }
        }
        Command::Demo => to_value(open(home)?.demo()?),
    }
}

fn region(c: RegionCmd, home: &Path) -> Result<Value> {
    let hk = open(home)?;
    match c {
        RegionCmd::Add { name, pg_url, password_file, storage_root, vault_root } => {
            let provider = if pg_url == "embedded" {
                Provider::Embedded
            } else {
                let mut conn = connection(&pg_url, "--pg-url", password_file.as_deref())?;
                if let Some(pw) = conn.password.take() {
                    hk.store_region_password(&name, &pw)?;
                }
                Provider::Server { url: conn.url_without_password() }
            };
            if !(vault_root.starts_with("file:///") || vault_root.starts_with("s3://")) {
                return Err(Error::invalid(format!("--vault-root {vault_root} must be file:///abs/path or s3://bucket/prefix")));
            }
            let storage_root = hk.check_file_store(None, &storage_root, Some(&hk.home.dir.join("storage")))?;
            std::fs::create_dir_all(&storage_root)?;
            let r = Region { name, provider, storage_root, vault_root, created_at: chrono::Utc::now() };
            hk.home.add_region(&r)?;
            to_value(r)
        }
        RegionCmd::List => to_value(hk.home.regions()?),
    }
}

fn stack(c: StackCmd, home: &Path) -> Result<Value> {
    let hk = open(home)?;
    match c {
        StackCmd::Create { name, domain, region, app_version, profile: p, restore } => {
            if restore.any() {
                let missing: Vec<&str> = [
                    ("--restore-stack-name", restore.restore_stack_name.is_none()),
                    ("--restore-db-snapshot", restore.restore_db_snapshot.is_none()),
                    ("--restore-db-secret-arn", restore.restore_db_secret_arn.is_none()),
                    ("--restore-vault", restore.restore_vault.is_none()),
                    ("--restore-recovery-point", restore.restore_recovery_point.is_none()),
                ]
                .into_iter()
                .filter(|(_, m)| *m)
                .map(|(n, _)| n)
                .collect();
                if !missing.is_empty() {
                    return Err(Error::invalid(format!("a restore needs all five restore parameters; missing {}", missing.join(", "))));
                }
                let params = RestoreParams {
                    stack_name: restore.restore_stack_name.unwrap_or_default(),
                    db_snapshot_id: restore.restore_db_snapshot.unwrap_or_default(),
                    db_secret_arn: restore.restore_db_secret_arn.unwrap_or_default(),
                    vault: restore.restore_vault.unwrap_or_default(),
                    recovery_point_arn: restore.restore_recovery_point.unwrap_or_default(),
                };
                return to_value(hk.restore_stack(&RestoreRequest { name, domain, region, app_version, params })?);
            }
            let created = hk.create_stack(&CreateRequest { name, domain, region, app_version, profile: profile(p) })?;
            hk.note(&format!(
                "the recovery key of vault {} is printed once: keep it offline (`hubkeep vault recovery-kit {}` shows what to keep)",
                created.daily_backup_vault.name, created.daily_backup_vault.name
            ));
            to_value(created)
        }
        StackCmd::Adopt { name, database_url, database_password_file, storage, region, domain, profile: p, params } => {
            let params = parse_params(&params)?;
            let database_url = connection(&database_url, "--database-url", database_password_file.as_deref())?.url_with_password();
            let adopted = hk.adopt_stack(&AdoptRequest { name, database_url, storage, region, domain, profile: profile(p), params })?;
            for w in &adopted.warnings {
                hk.note(&format!("warning: {w}"));
            }
            to_value(adopted)
        }
        StackCmd::Update { name, offline, redirect_url, online, app_version, params, offline_hook, online_hook, database_password_file, restore } => {
            if restore.any() {
                return Err(Error::new(
                    "restore_on_update",
                    format!("restore parameters cannot be given to `stack update`: updating {name} from a backup would replace its data; restore into a new stack instead (`hubkeep restore NEW --backup ID` or `hubkeep stack create NEW --restore-…`)"),
                ));
            }
            let params = parse_params(&params)?;
            let hooks = (offline_hook.is_some() || online_hook.is_some()).then_some(Hooks { offline: offline_hook, online: online_hook });
            if let Some(file) = &database_password_file {
                hk.set_database_password(&name, file)?;
            }
            let mut stack = hk.update_stack_settings(&name, app_version, hooks, &params)?;
            if offline || online {
                let _lock = hk.lock_stack(&name, if offline { "stack update --offline" } else { "stack update --online" })?;
                stack = if offline { hk.take_offline(&name, redirect_url, None)? } else { hk.bring_online(&name)? };
            }
            to_value(stack)
        }
        StackCmd::List => to_value(hk.stacks()?),
        StackCmd::Show { name } => to_value(hk.stack(&name)?),
        StackCmd::Delete { name, yes } => {
            if !yes {
                return Err(Error::invalid(format!("deleting stack {name} removes its database and file store; add --yes to confirm (its keys, database secret, snapshots and recovery points are kept)")));
            }
            let s = hk.delete_stack(&name)?;
            Ok(json!({"name": s.name, "status": "DELETE_COMPLETE"}))
        }
    }
}

fn db_snapshot(c: DbSnapshotCmd, home: &Path) -> Result<Value> {
    match c {
        DbSnapshotCmd::Create { stack, id, vault, automated, wait } => {
            if wait.no_wait {
                return detach(home);
            }
            to_value(open(home)?.create_db_snapshot(&SnapshotRequest { stack: &stack, id, vault, automated })?)
        }
        DbSnapshotCmd::List { stack } => to_value(open(home)?.db_snapshots(stack.as_deref())?),
        DbSnapshotCmd::Show { id } => to_value(open(home)?.db_snapshot(&id)?),
        DbSnapshotCmd::Delete { id, force } => {
            let hk = open(home)?;
            let s = hk.delete_db_snapshot(&id, force)?;
            Ok(json!({"id": s.id, "status": "deleted"}))
        }
        DbSnapshotCmd::Restore { id, target_url, database_password_file } => {
            let hk = open(home)?;
            let target = connection(&target_url, "--target-url", database_password_file.as_deref())?;
            to_value(hk.restore_db_snapshot(&id, &target, BTreeMap::new())?)
        }
    }
}

fn vault(c: VaultCmd, home: &Path) -> Result<Value> {
    let hk = open(home)?;
    match c {
        VaultCmd::Create { name, region } => {
            let v = hk.create_vault(&name, region.as_deref(), None)?;
            hk.note(&format!(
                "the recovery key is printed once: keep it offline; `hubkeep vault recovery-kit {name}` prints everything needed to restore on a new machine"
            ));
            to_value(v)
        }
        VaultCmd::Attach { name, location, recovery_key, region } => hk.attach_vault(&name, &location, &recovery_key, region.as_deref()),
        VaultCmd::RecoveryKit { name, yes } => {
            let record = hk.vault_record(&name)?;
            if !yes {
                if !std::io::stdin().is_terminal() {
                    return Err(Error::invalid(format!("the recovery kit of vault {name} contains its recovery key; add --yes to print it")));
                }
                eprint!("The recovery kit shows vault {name}'s recovery key. Type the vault name to print it: ");
                let mut answer = String::new();
                std::io::stdin().read_line(&mut answer)?;
                if answer.trim() != name {
                    return Err(Error::invalid("not confirmed; nothing was printed"));
                }
            }
            let key = hk.vault_recovery_key(&name)?;
            let commands = vec![
                "hubkeep init".to_string(),
                format!("hubkeep vault attach {name} --location '{}' --recovery-key '{key}'", record.location),
                "hubkeep backup-set list".to_string(),
                "hubkeep restore NEW-STACK --backup BACKUP_ID --domain NEW.DOMAIN".to_string(),
            ];
            Ok(json!({
                "name": name, "region": record.region, "location": record.location, "recovery_key": key,
                "vault_id": record.vault_id,
                "commands": commands,
                "note": "Keep this offline (printed, or in a password manager). With the location and this key anyone can restore the hub's data and keys; without it no one can, ever.",
            }))
        }
        VaultCmd::List => to_value(hk.vaults()?),
        VaultCmd::Show { name } => {
            let v = hk.vault_record(&name)?;
            let points = hk.recovery_points(Some(&name))?.len();
            let mut out = to_value(v)?;
            out["recovery_points"] = json!(points);
            out["backup_sets"] = to_value(hk.backup_sets()?.into_iter().filter(|b| b.vault == name).map(|b| b.backup_id).collect::<Vec<_>>())?;
            Ok(out)
        }
        VaultCmd::Verify { name, read_data } => {
            let report = hk.open_vault(&name)?.verify(None, read_data)?;
            if !report.ok() {
                output::note(&serde_json::to_string_pretty(&report).expect("a report always serializes"));
                let first = report.problems.first().map(hubkeep_core::error::describe_problem).unwrap_or_default();
                return Err(Error::new("verify_failed", format!("vault {name} failed verification: {first}")));
            }
            to_value(report)
        }
        VaultCmd::Gc { name, grace_seconds } => to_value(hk.gc_vault(&name, std::time::Duration::from_secs(grace_seconds))?),
    }
}

fn verify(hk: &Hubkeep, id: &str, read_data: bool) -> Result<Value> {
    let report = if id.contains(":recovery-point:") {
        hk.verify_recovery_point(id, read_data)?
    } else if id.contains(":backup-set:") {
        let set = hk.backup_set(id)?;
        let db = hk.verify_db_snapshot(&set.db_snapshot_id, read_data)?;
        let files = hk.verify_recovery_point(&set.recovery_point_arn, read_data)?;
        let hubs = if set.profile == Profile::Hubs {
            Some(to_value(hk.hubs_check_backup(&set, read_data)?)?)
        } else {
            Some(json!({"skipped": "profile generic: no Hubs check"}))
        };
        let ok = db["ok"].as_bool().unwrap_or(false)
            && files["ok"].as_bool().unwrap_or(false)
            && hubs.as_ref().is_none_or(|h| h.get("passed").and_then(|p| p.as_bool()).unwrap_or(true));
        json!({"id": id, "type": "backup_set", "ok": ok, "db_snapshot": db, "recovery_point": files, "hubs_check": hubs})
    } else {
        hk.verify_db_snapshot(id, read_data)?
    };
    if report["ok"].as_bool() != Some(true) {
        // The full report goes to stderr: with --json, stdout holds only the error.
        output::note(&serde_json::to_string_pretty(&report).expect("a JSON value always serializes"));
        return Err(Error::new("verify_failed", format!("{id} failed verification: {}", first_problem(&report))));
    }
    Ok(report)
}

fn first_problem(report: &Value) -> String {
    for key in ["problems", "/db_snapshot/problems", "/recovery_point/problems"] {
        let p = if key.starts_with('/') { report.pointer(key) } else { report.get(key) };
        if let Some(first) = p.and_then(|p| p.as_array()).and_then(|a| a.first()) {
            return first.as_str().unwrap_or("").to_string();
        }
    }
    "see the report above".into()
}

fn secret(c: SecretCmd, home: &Path) -> Result<Value> {
    let hk = open(home)?;
    let secrets = hk.home.secrets();
    match c {
        SecretCmd::List => to_value(secrets.list()?.into_iter().filter(|m| m.arn.is_some()).collect::<Vec<_>>()),
        SecretCmd::Show { name } => to_value(secrets.find(&name)?.ok_or_else(|| Error::new("secret_not_found", format!("secret {name} does not exist")))?),
        SecretCmd::Get { name } => {
            let (meta, value) = secrets.get(&name)?;
            let v: Value = serde_json::from_str(&value).unwrap_or(Value::String(value));
            Ok(json!({"name": meta.name, "arn": meta.arn, "value": v}))
        }
        SecretCmd::Delete { name, recovery_window_days } => {
            if !(1..=30).contains(&recovery_window_days) {
                return Err(Error::invalid("--recovery-window-days must be between 1 and 30"));
            }
            let meta = secrets.find(&name)?.ok_or_else(|| Error::new("secret_not_found", format!("secret {name} does not exist")))?;
            let users = hk.backups_needing_secret(&meta)?;
            if !users.is_empty() {
                hk.note(&format!(
                    "warning: {} is needed to restore {} backup(s) (e.g. {}); without it they can never be restored. `hubkeep secret restore '{}'` undoes this within the recovery window",
                    meta.name, users.len(), users[0], meta.name
                ));
            }
            let m = secrets.schedule_delete(&name, recovery_window_days)?;
            let mut v = to_value(m)?;
            v["needed_by"] = json!(users);
            Ok(v)
        }
        SecretCmd::Restore { name } => to_value(secrets.cancel_delete(&name)?),
    }
}
