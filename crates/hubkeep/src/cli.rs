//! The command line of CLI.md, as clap types.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "hubkeep", version = concat!(env!("CARGO_PKG_VERSION"), " (", env!("HUBKEEP_COMMIT"), ")"), about = "Back up and restore Hubs deployments: database, file store and keys")]
pub struct Cli {
    /// The hubkeep home (catalog, secret store, config); default /var/lib/hubkeep as root.
    #[arg(long, global = true, env = "HUBKEEP_HOME")]
    pub home: Option<PathBuf>,
    /// Print exactly one JSON document on stdout.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Create the home with the embedded defaults (idempotent).
    Init {
        #[arg(long, default_value = "local")]
        region: String,
    },
    #[command(subcommand)]
    Region(RegionCmd),
    #[command(subcommand)]
    Stack(StackCmd),
    #[command(subcommand, name = "db-snapshot")]
    DbSnapshot(DbSnapshotCmd),
    #[command(subcommand)]
    Vault(VaultCmd),
    #[command(subcommand, name = "backup-job")]
    BackupJob(BackupJobCmd),
    #[command(subcommand, name = "recovery-point")]
    RecoveryPoint(RecoveryPointCmd),
    #[command(subcommand, name = "restore-job")]
    RestoreJob(RestoreJobCmd),
    /// The whole manual backup: (offline,) database snapshot, file store, (online).
    Backup {
        stack: String,
        #[arg(long)]
        offline: bool,
        #[arg(long)]
        vault: Option<String>,
        /// Fail when the database and the file store disagree (Hubs drift).
        #[arg(long)]
        strict: bool,
        /// A plan's backup: id `auto-<stack>-<yyyy-mm-dd-hh-mm>`, and retention may expire it.
        #[arg(long)]
        automated: bool,
        #[command(flatten)]
        wait: Wait,
    },
    /// Restore a backup set into a NEW stack.
    Restore {
        new_stack: String,
        #[arg(long)]
        backup: String,
        #[arg(long)]
        domain: Option<String>,
        #[arg(long)]
        region: Option<String>,
        /// Replace secrets in this home that differ from the backup's key bundle.
        #[arg(long)]
        force: bool,
    },
    #[command(subcommand, name = "backup-set")]
    BackupSet(BackupSetCmd),
    #[command(subcommand)]
    Job(JobCmd),
    /// Check a database snapshot, recovery point or backup set.
    Verify {
        id: String,
        #[arg(long)]
        read_data: bool,
    },
    #[command(subcommand)]
    Secret(SecretCmd),
    #[command(subcommand)]
    Param(ParamCmd),
    #[command(subcommand)]
    Plan(PlanCmd),
    #[command(subcommand)]
    Retention(RetentionCmd),
    /// Create a demo hub, back it up offline, change it, restore it into a new stack, check it.
    Demo,
}

#[derive(Args, Clone)]
pub struct Wait {
    /// Return the job id at once; the job runs in the background.
    #[arg(long)]
    pub no_wait: bool,
}

#[derive(Subcommand)]
pub enum RegionCmd {
    Add {
        name: String,
        /// `embedded`, or a libpq URL of an existing server (admin role).
        /// Password: see `stack adopt --help`.
        #[arg(long)]
        pg_url: String,
        /// A file whose first line is the admin role's password.
        #[arg(long = "database-password-file", value_name = "FILE")]
        password_file: Option<PathBuf>,
        #[arg(long)]
        storage_root: PathBuf,
        /// file:///abs/path or s3://bucket/prefix
        #[arg(long)]
        vault_root: String,
    },
    List,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ProfileArg {
    Hubs,
    Generic,
}

#[derive(Subcommand)]
pub enum StackCmd {
    Create {
        name: String,
        #[arg(long)]
        domain: Option<String>,
        #[arg(long)]
        region: Option<String>,
        #[arg(long)]
        app_version: Option<String>,
        #[arg(long, value_enum, default_value = "hubs")]
        profile: ProfileArg,
        #[command(flatten)]
        restore: RestoreArgs,
    },
    /// Register an existing deployment (its database and file store are never changed).
    ///
    /// The database password is taken from the first of: the URL itself
    /// (a warning: the process list shows it), --database-password-file,
    /// PGPASSWORD, then the passfile (PGPASSFILE, else ~/.pgpass; libpq's
    /// host:port:database:user:password lines with `*` and `\` escapes;
    /// refused unless mode 0600).
    Adopt {
        name: String,
        /// postgres://USER@HOST:PORT/DATABASE, best without the password.
        #[arg(long)]
        database_url: String,
        /// A file whose first line is the database password.
        #[arg(long, value_name = "FILE")]
        database_password_file: Option<PathBuf>,
        #[arg(long)]
        storage: PathBuf,
        #[arg(long)]
        region: Option<String>,
        #[arg(long)]
        domain: Option<String>,
        #[arg(long, value_enum, default_value = "hubs")]
        profile: ProfileArg,
        /// Stores /keymaster/<stack>/NAME (e.g. phoenix-key=…).
        #[arg(long = "param", value_name = "NAME=VALUE")]
        params: Vec<String>,
    },
    Update {
        name: String,
        #[arg(long, conflicts_with = "online")]
        offline: bool,
        #[arg(long, requires = "offline")]
        redirect_url: Option<String>,
        #[arg(long)]
        online: bool,
        #[arg(long)]
        app_version: Option<String>,
        #[arg(long = "param", value_name = "NAME=VALUE")]
        params: Vec<String>,
        /// Shell command run when the hub goes offline (e.g. scale the app to zero).
        #[arg(long)]
        offline_hook: Option<String>,
        /// Shell command run when the hub comes back online.
        #[arg(long)]
        online_hook: Option<String>,
        /// Store a rotated database password (the file's first line) in the
        /// stack's database secret, once it is shown to log in.
        #[arg(long, value_name = "FILE")]
        database_password_file: Option<PathBuf>,
        #[command(flatten)]
        restore: RestoreArgs,
    },
    List,
    Show {
        name: String,
    },
    Delete {
        name: String,
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Args, Clone, Default)]
pub struct RestoreArgs {
    #[arg(long)]
    pub restore_stack_name: Option<String>,
    #[arg(long)]
    pub restore_db_snapshot: Option<String>,
    #[arg(long)]
    pub restore_db_secret_arn: Option<String>,
    #[arg(long)]
    pub restore_vault: Option<String>,
    #[arg(long)]
    pub restore_recovery_point: Option<String>,
}

#[derive(Subcommand)]
pub enum DbSnapshotCmd {
    Create {
        stack: String,
        #[arg(long)]
        id: Option<String>,
        #[arg(long)]
        vault: Option<String>,
        /// Mark it as the nightly plan's (automated) snapshot.
        #[arg(long)]
        automated: bool,
        #[command(flatten)]
        wait: Wait,
    },
    List {
        #[arg(long)]
        stack: Option<String>,
    },
    Show {
        id: String,
    },
    Delete {
        id: String,
        /// Delete it even when a backup set needs it (the set becomes BROKEN).
        #[arg(long)]
        force: bool,
    },
    /// Restore into an existing, empty database (password: as for `stack adopt`).
    Restore {
        id: String,
        #[arg(long)]
        target_url: String,
        /// A file whose first line is the target database's password.
        #[arg(long, value_name = "FILE")]
        database_password_file: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
pub enum VaultCmd {
    Create {
        name: String,
        #[arg(long)]
        region: Option<String>,
    },
    Attach {
        name: String,
        #[arg(long)]
        location: String,
        #[arg(long)]
        recovery_key: String,
        #[arg(long)]
        region: Option<String>,
    },
    RecoveryKit {
        name: String,
        #[arg(long)]
        yes: bool,
    },
    List,
    Show {
        name: String,
    },
    /// Check every snapshot and object in the vault (all data with --read-data).
    Verify {
        name: String,
        #[arg(long)]
        read_data: bool,
    },
    /// Remove data no recovery point or snapshot references.
    Gc {
        name: String,
        /// Never remove data written less than this many seconds ago.
        #[arg(long, default_value_t = 3600)]
        grace_seconds: u64,
    },
}

#[derive(Subcommand)]
pub enum BackupJobCmd {
    Start {
        stack: String,
        #[arg(long)]
        vault: Option<String>,
        #[command(flatten)]
        wait: Wait,
    },
}

#[derive(Subcommand)]
pub enum RecoveryPointCmd {
    List {
        #[arg(long)]
        vault: Option<String>,
    },
    Show {
        arn: String,
    },
    Delete {
        arn: String,
        /// Delete it even when a backup set needs it (the set becomes BROKEN).
        #[arg(long)]
        force: bool,
    },
}

#[derive(Subcommand)]
pub enum RestoreJobCmd {
    Start {
        arn: String,
        #[arg(long)]
        target: PathBuf,
        /// Restore every undamaged file and list the damaged ones.
        #[arg(long)]
        skip_damaged: bool,
    },
}

#[derive(Subcommand)]
pub enum JobCmd {
    List {
        #[arg(long)]
        state: Option<String>,
        #[arg(long)]
        stack: Option<String>,
    },
    Show {
        id: String,
    },
}

#[derive(Subcommand)]
pub enum SecretCmd {
    List,
    Show {
        name: String,
    },
    Get {
        name: String,
    },
    Delete {
        name: String,
        #[arg(long, default_value_t = 7)]
        recovery_window_days: i64,
    },
    Restore {
        name: String,
    },
}

#[derive(Subcommand)]
pub enum ParamCmd {
    List {
        #[arg(default_value = "/")]
        prefix: String,
    },
    Get {
        name: String,
    },
    /// Store a parameter, e.g. /keymaster/<stack>/phoenix-key or a server setting /ita/<stack>/…
    Put {
        name: String,
        value: String,
        /// Replace an existing value.
        #[arg(long)]
        overwrite: bool,
    },
}

#[derive(Subcommand)]
pub enum BackupSetCmd {
    List,
    Show { id: String },
}

/// A stack's plan: when its backup runs and what retention keeps.
// Parsed once per process: the size of `Set` costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
pub enum PlanCmd {
    /// A stack's plan, its next run and its last run.
    Show { stack: String },
    /// Every stack's plan.
    List,
    /// Change a stack's plan; every option is checked before anything is stored.
    Set {
        stack: String,
        #[command(flatten)]
        change: PlanSetArgs,
    },
}

#[derive(Args)]
pub struct PlanSetArgs {
    /// Five-field cron (minute hour day-of-month month day-of-week), in --timezone.
    #[arg(long, value_name = "CRON")]
    pub schedule: Option<String>,
    /// An IANA time zone, e.g. Europe/Berlin.
    #[arg(long, value_name = "TZ")]
    pub timezone: Option<String>,
    /// How long after its time a missed backup may still start (e.g. 8h).
    #[arg(long, value_name = "DUR")]
    pub start_window: Option<String>,
    /// Take the hub offline for the backup.
    #[arg(long, conflicts_with = "no_offline")]
    pub offline: bool,
    /// Keep the hub online during the backup.
    #[arg(long)]
    pub no_offline: bool,
    /// Run this plan.
    #[arg(long, conflicts_with = "disabled")]
    pub enabled: bool,
    /// Do not run this plan.
    #[arg(long)]
    pub disabled: bool,
    /// Keep the newest N automated backup sets (at least 1 in effect).
    #[arg(long, value_name = "N")]
    pub keep_last: Option<u32>,
    /// Keep the newest set of each of the last N days that have one.
    #[arg(long, value_name = "N")]
    pub keep_daily: Option<u32>,
    /// Keep the newest set of each of the last N ISO weeks that have one.
    #[arg(long, value_name = "N")]
    pub keep_weekly: Option<u32>,
    /// Keep the newest set of each of the last N months that have one.
    #[arg(long, value_name = "N")]
    pub keep_monthly: Option<u32>,
    /// Keep the newest set of each of the last N years that have one.
    #[arg(long, value_name = "N")]
    pub keep_yearly: Option<u32>,
    /// Recovery point objective (e.g. 26h).
    #[arg(long, value_name = "DUR")]
    pub rpo: Option<String>,
    /// CRON, after-backup or off.
    #[arg(long, value_name = "CRON|after-backup|off")]
    pub verify: Option<String>,
    /// CRON or off.
    #[arg(long, value_name = "CRON|off")]
    pub drill: Option<String>,
    /// CRON or off.
    #[arg(long, value_name = "CRON|off")]
    pub gc: Option<String>,
    /// A healthchecks-style URL, or off.
    #[arg(long, value_name = "URL")]
    pub ping_url: Option<String>,
}

/// Retention: expire the automated backup sets no plan rule keeps.
#[derive(Subcommand)]
pub enum RetentionCmd {
    /// Decide each backup set's fate by its stack's plan, and expire those no rule keeps.
    Run {
        /// Only this stack.
        #[arg(long)]
        stack: Option<String>,
        /// Show each set's fate and the rule that decided it; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}
