//! The command line of CLI.md, as clap types, with the help that teaches
//! it: a one-line description for every command, examples in the long
//! help (`--help`, not `-h`), and `hubkeep --help` grouped by task.
//!
//! build.rs includes this file too, to render the man page, so it depends
//! on nothing but clap, clap_complete and std.

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::sync::OnceLock;

#[derive(Parser)]
#[command(
    name = "hubkeep",
    version = version(),
    about = "Back up and restore Hubs deployments: database, file store and keys",
    long_about = "Back up and restore Hubs deployments: database, file store and keys.\n\n\
                  A backup set is a database snapshot plus a recovery point of the file store, \
                  taken together, with the keys needed to use them, in an encrypted vault.",
    help_template = top_level_help(),
    after_long_help = "Start here:\n  \
                       hubkeep demo                            # the whole story on a throwaway hub\n  \
                       hubkeep backup myhub --offline          # take the hub offline, snapshot, back up files, back online\n  \
                       hubkeep backup-set list                 # what can be restored\n  \
                       hubkeep restore myhub2 --backup ID --domain new.example.org\n\n\
                       `hubkeep COMMAND --help` explains a command with examples; `man hubkeep` once installed."
)]
pub struct Cli {
    /// The hubkeep home (catalog, secret store, config); default /var/lib/hubkeep as root.
    #[arg(long, global = true, env = "HUBKEEP_HOME")]
    pub home: Option<PathBuf>,
    /// Print exactly one JSON document on stdout.
    #[arg(long, global = true)]
    pub json: bool,
    /// The job a `--no-wait` parent named for the run it starts in the
    /// background (passed to that child only; not for people).
    #[arg(long = "job-id", global = true, hide = true, value_name = "ID")]
    pub job_id: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

/// `0.1.0 (commit)`: the commit comes from build.rs; build.rs itself, which
/// compiles this file before it has run, sets the man page's version anew.
fn version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| format!("{} ({})", env!("CARGO_PKG_VERSION"), option_env!("HUBKEEP_COMMIT").unwrap_or("unknown")))
}

#[derive(Subcommand)]
pub enum Command {
    /// Create the home with the embedded defaults (idempotent).
    #[command(after_long_help = "Example:\n  hubkeep init                    # region `local`: embedded PostgreSQL, storage and vault under the home")]
    Init {
        /// The name of the first region.
        #[arg(long, default_value = "local")]
        region: String,
    },
    /// Where stacks run: a PostgreSQL provider, a storage root and a vault root.
    #[command(subcommand)]
    Region(RegionCmd),
    /// Create, adopt, take offline and delete hubs (stacks).
    #[command(subcommand)]
    Stack(StackCmd),
    /// Snapshots of a stack's database, stored in a vault.
    #[command(subcommand, name = "db-snapshot")]
    DbSnapshot(DbSnapshotCmd),
    /// Encrypted, deduplicated stores of snapshots and recovery points.
    #[command(subcommand)]
    Vault(VaultCmd),
    /// Back up a stack's file store alone (a recovery point).
    #[command(subcommand, name = "backup-job")]
    BackupJob(BackupJobCmd),
    /// Backups of a stack's file store.
    #[command(subcommand, name = "recovery-point")]
    RecoveryPoint(RecoveryPointCmd),
    /// Restore a recovery point's files into a directory.
    #[command(subcommand, name = "restore-job")]
    RestoreJob(RestoreJobCmd),
    /// Back up a whole hub: database snapshot, file store and keys, as one backup set.
    ///
    /// With --offline, the procedure a consistent backup needs, in one step:
    /// take the hub offline, snapshot the database, back up the files, and
    /// bring the hub back online, on every exit path (also on failure or
    /// Ctrl-C). Without it the hub stays online and the set records how far
    /// the database and the files drifted apart.
    #[command(after_long_help = "Examples:\n  \
        hubkeep backup myhub --offline            # a consistent set: the hub is offline for the snapshot\n  \
        hubkeep backup myhub                      # online: drift between database and files is reported\n  \
        hubkeep backup myhub --vault offsite      # into another vault than the stack's daily vault\n  \
        hubkeep backup myhub --no-wait            # print the job id at once; see `hubkeep job show ID`")]
    Backup {
        /// The stack to back up.
        stack: String,
        /// Take the hub offline for the backup, and bring it back online after.
        #[arg(long)]
        offline: bool,
        /// The vault to store it in (default: the stack's daily vault).
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
    ///
    /// The database, the file store and the keys (phoenix-key, the database
    /// secret) come back from the vault; the Hubs check then proves every
    /// owned file is there and decrypts. The source stack is not touched.
    #[command(after_long_help = "Examples:\n  \
        hubkeep backup-set list                                    # find the BACKUP_ID\n  \
        hubkeep restore myhub-restored --backup BACKUP_ID --domain restored.example.org")]
    Restore {
        /// The name of the stack to create (it must not exist).
        new_stack: String,
        /// The backup set to restore (its backup id, from `hubkeep backup-set list`).
        #[arg(long)]
        backup: String,
        /// The restored hub's domain.
        #[arg(long)]
        domain: Option<String>,
        /// The region to restore into (default: the backup's).
        #[arg(long)]
        region: Option<String>,
        /// Replace secrets in this home that differ from the backup's key bundle.
        #[arg(long)]
        force: bool,
        /// The app version the new stack runs (default: the backup's); an
        /// older one than the backup's is refused.
        #[arg(long)]
        app_version: Option<String>,
        /// Restore even when --app-version is older than the backup's.
        #[arg(long)]
        force_version: bool,
        /// With a --domain other than the backup's, leave the stored URLs
        /// that carry the backup's domain as they are (default: rewrite them).
        #[arg(long)]
        keep_urls: bool,
        #[command(flatten)]
        wait: Wait,
    },
    /// Import a backup hubkeep did not make (Hubs CE backup folder, pg_dump + storage) as a backup set.
    ///
    /// The dump is loaded into a temporary PostgreSQL cluster (removed
    /// afterwards), snapshotted, and the storage copy backed up, into the
    /// stack's vault as one backup set marked `imported`, with the original
    /// backup's time. The Hubs check runs, and drift between the database and
    /// the files is reported. No keys are in such backups: give the hub's
    /// phoenix-key. The stack need not exist in this home: restore the set
    /// into a new stack afterwards (`hubkeep restore NEW --backup ID`).
    #[command(subcommand)]
    Import(ImportCmd),
    /// Whole-hub backups: a database snapshot and a recovery point taken together.
    #[command(subcommand, name = "backup-set")]
    BackupSet(BackupSetCmd),
    /// What hubkeep did and is doing: backups, snapshots, restores.
    #[command(subcommand)]
    Job(JobCmd),
    /// Check a database snapshot, recovery point or backup set.
    #[command(after_long_help = "Examples:\n  \
        hubkeep verify BACKUP_ID                  # structure, keys and the Hubs check of a backup set\n  \
        hubkeep verify BACKUP_ID --read-data      # also read and decrypt every byte")]
    Verify {
        /// A db snapshot id, a recovery point ARN or a backup set id.
        id: String,
        /// Read and check all data, not just the structure.
        #[arg(long)]
        read_data: bool,
    },
    /// Database secrets (credentials), kept encrypted in the home.
    #[command(subcommand)]
    Secret(SecretCmd),
    /// Parameters: a hub's keys (/keymaster/STACK/…) and settings (/ita/STACK/…).
    #[command(subcommand)]
    Param(ParamCmd),
    #[command(subcommand)]
    Plan(PlanCmd),
    #[command(subcommand)]
    Retention(RetentionCmd),
    /// Access tokens of the HTTP API (stored only as hashes).
    #[command(subcommand)]
    Token(TokenCmd),
    /// Webhooks that hear about backups, failures and RPO breaches.
    #[command(subcommand)]
    Notify(NotifyCmd),
    #[command(subcommand)]
    Drill(DrillCmd),
    /// Create a demo hub, back it up offline, change it, restore it into a new stack, check it.
    #[command(after_long_help = "Example:\n  hubkeep --home /var/lib/hubkeep demo      # about a minute; ends with the commands that remove it")]
    Demo,
    /// Run unattended: each plan's backups, retention, verify, drills and gc, until SIGTERM.
    #[command(after_long_help = "Examples:\n  \
        hubkeep serve                                   # logs one line per decision to stderr\n  \
        HUBKEEP_CLOCK=2027-01-04T09:59:00Z@3600 hubkeep serve   # rehearse: an hour passes each second\n\
        docs/deploy/hubkeep.service runs it under systemd.")]
    Serve {
        /// Where the HTTP API listens (loopback unless told otherwise).
        #[arg(long, default_value = "127.0.0.1:8742")]
        listen: std::net::SocketAddr,
    },
    /// Print a shell completion script (bash, zsh or fish).
    #[command(after_long_help = "Examples:\n  \
        hubkeep completions bash > /usr/share/bash-completion/completions/hubkeep\n  \
        hubkeep completions zsh > /usr/local/share/zsh/site-functions/_hubkeep\n  \
        hubkeep completions fish > /usr/share/fish/vendor_completions.d/hubkeep.fish\n\
        scripts/setup.sh install does this, and installs the man page.")]
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: CompletionShell,
    },
}

/// The shells `hubkeep completions` writes a script for.
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
}

impl CompletionShell {
    pub fn name(self) -> &'static str {
        match self {
            CompletionShell::Bash => "bash",
            CompletionShell::Zsh => "zsh",
            CompletionShell::Fish => "fish",
        }
    }
}

/// The completion script for `shell`, written by clap_complete from the
/// same command definition the parser uses, so it never falls behind.
pub fn completions(shell: CompletionShell) -> Vec<u8> {
    let generator = match shell {
        CompletionShell::Bash => clap_complete::Shell::Bash,
        CompletionShell::Zsh => clap_complete::Shell::Zsh,
        CompletionShell::Fish => clap_complete::Shell::Fish,
    };
    let mut script = vec![];
    clap_complete::generate(generator, &mut Cli::command(), "hubkeep", &mut script);
    script
}

/// The task headings of `hubkeep --help`, each with its commands in the
/// order an operator meets them. A command missing here is still listed,
/// under "Other commands", so a new command is never hidden from help.
const TASKS: &[(&str, &[&str])] = &[
    ("Get started", &["demo", "init", "completions"]),
    ("Set up hubs and vaults", &["region", "stack", "vault"]),
    ("Back up", &["backup", "db-snapshot", "backup-job"]),
    ("Restore", &["restore", "restore-job"]),
    ("Import", &["import"]),
    ("Inspect and check", &["backup-set", "recovery-point", "job", "verify"]),
    ("Secrets and keys", &["secret", "param"]),
    ("Run unattended (daemon)", &["serve", "plan", "retention", "drill", "notify", "token"]),
];

/// `hubkeep --help`'s template: clap's own layout, except that the commands
/// are listed under task headings (clap has one heading for all of them).
fn top_level_help() -> String {
    let commands = Command::augment_subcommands(clap::Command::new("hubkeep"));
    let listed: Vec<(String, String)> = commands
        .get_subcommands()
        .filter(|c| !c.is_hide_set())
        .map(|c| (c.get_name().to_string(), c.get_about().map(|a| a.to_string()).unwrap_or_default()))
        .collect();
    let width = listed.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    let styles = clap::builder::Styles::default();
    let (heading, literal) = (styles.get_header(), styles.get_literal());
    let mut groups: Vec<(&str, Vec<&(String, String)>)> =
        TASKS.iter().map(|(title, names)| (*title, names.iter().filter_map(|n| listed.iter().find(|(name, _)| name == n)).collect())).collect();
    groups.push(("Other commands", listed.iter().filter(|(name, _)| !TASKS.iter().any(|(_, names)| names.contains(&name.as_str()))).collect()));
    let mut out = String::from("{before-help}{about-with-newline}\n{usage-heading} {usage}\n");
    for (title, members) in groups.into_iter().filter(|(_, members)| !members.is_empty()) {
        out.push_str(&format!("\n{heading}{title}:{heading:#}\n"));
        for (name, about) in members {
            let pad = " ".repeat(width - name.len());
            out.push_str(&format!("  {literal}{name}{literal:#}{pad}  {about}\n"));
        }
    }
    out.push_str(&format!("\n{heading}Options:{heading:#}\n{{options}}{{after-help}}"));
    out
}

#[derive(Args, Clone)]
pub struct Wait {
    /// Return the job id at once; the job runs in the background.
    #[arg(long)]
    pub no_wait: bool,
}

#[derive(Subcommand)]
pub enum RegionCmd {
    /// Add a region: embedded PostgreSQL or an existing server, a storage root, a vault root.
    #[command(after_long_help = "Examples:\n  \
        hubkeep region add srv --pg-url postgres://admin@db.internal:5432/postgres \\\n      \
        --database-password-file /root/pg-admin.pw --storage-root /srv/hubs --vault-root s3://backups/hubs\n  \
        hubkeep region add spare --pg-url embedded --storage-root /srv/spare --vault-root file:///srv/vaults")]
    Add {
        /// The region's name.
        name: String,
        /// `embedded`, or a libpq URL of an existing server (admin role).
        /// Password: see `stack adopt --help`.
        #[arg(long)]
        pg_url: String,
        /// A file whose first line is the admin role's password.
        #[arg(long = "database-password-file", value_name = "FILE")]
        password_file: Option<PathBuf>,
        /// The directory under which new stacks' file stores are made.
        #[arg(long)]
        storage_root: PathBuf,
        /// file:///abs/path or s3://bucket/prefix
        #[arg(long)]
        vault_root: String,
    },
    /// List the regions, oldest first.
    List,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ProfileArg {
    Hubs,
    Generic,
}

#[derive(Subcommand)]
pub enum StackCmd {
    /// Create a new hub: database, file store, keys and a daily vault (or restore one into it).
    ///
    /// The daily vault's recovery key is printed once: keep it offline.
    /// With all five --restore-* options the stack is created from a backup
    /// (`hubkeep restore` reads them from a backup set for you).
    #[command(after_long_help = "Examples:\n  \
        hubkeep stack create myhub --domain hub.example.org\n  \
        hubkeep stack create files --profile generic      # any PostgreSQL app with a file store")]
    Create {
        /// The stack's name (letters, digits and dashes).
        name: String,
        /// The hub's domain.
        #[arg(long)]
        domain: Option<String>,
        /// The region to create it in (default: the home's first region).
        #[arg(long)]
        region: Option<String>,
        /// The app (Reticulum) version this stack runs.
        #[arg(long)]
        app_version: Option<String>,
        /// `hubs` runs the Hubs check on backups and restores; `generic` does not.
        #[arg(long, value_enum, default_value = "hubs")]
        profile: ProfileArg,
        #[command(flatten)]
        restore: RestoreArgs,
        /// With --restore-…: restore even when --app-version is older than the backup's.
        #[arg(long)]
        force_version: bool,
        /// With --restore-… and a --domain other than the backup's, leave the
        /// stored URLs that carry the backup's domain as they are.
        #[arg(long)]
        keep_urls: bool,
        /// With --restore-…: return the restore's job id at once (checked first).
        #[command(flatten)]
        wait: Wait,
    },
    /// Register an existing deployment (its database and file store are never changed).
    ///
    /// The database password is taken from the first of: the URL itself
    /// (a warning: the process list shows it), --database-password-file,
    /// PGPASSWORD, then the passfile (PGPASSFILE, else ~/.pgpass; libpq's
    /// host:port:database:user:password lines with `*` and `\` escapes;
    /// refused unless mode 0600).
    #[command(after_long_help = "Example:\n  \
        hubkeep stack adopt myhub --database-url postgres://ret_admin@db.internal:5432/ret_production \\\n      \
        --database-password-file /root/ret.pw --storage /storage --domain hub.example.org \\\n      \
        --param phoenix-key=\"$(cat /root/phoenix-key)\"")]
    Adopt {
        /// The stack's name in hubkeep.
        name: String,
        /// postgres://USER@HOST:PORT/DATABASE, best without the password.
        #[arg(long)]
        database_url: String,
        /// A file whose first line is the database password.
        #[arg(long, value_name = "FILE")]
        database_password_file: Option<PathBuf>,
        /// The hub's file store (Reticulum's /storage).
        #[arg(long)]
        storage: PathBuf,
        /// The region it belongs to (default: the home's first region).
        #[arg(long)]
        region: Option<String>,
        /// The hub's domain.
        #[arg(long)]
        domain: Option<String>,
        /// `hubs` runs the Hubs check on backups and restores; `generic` does not.
        #[arg(long, value_enum, default_value = "hubs")]
        profile: ProfileArg,
        /// Stores /keymaster/<stack>/NAME (e.g. phoenix-key=…).
        #[arg(long = "param", value_name = "NAME=VALUE")]
        params: Vec<String>,
    },
    /// Take a hub offline or online, or change its settings, hooks and keys.
    #[command(after_long_help = "Examples:\n  \
        hubkeep stack update myhub --offline --redirect-url https://status.example.org\n  \
        hubkeep stack update myhub --online\n  \
        hubkeep stack update myhub --offline-hook 'systemctl stop reticulum' --online-hook 'systemctl start reticulum'\n  \
        hubkeep stack update myhub --param phoenix-key=NEWVALUE")]
    Update {
        /// The stack to change.
        name: String,
        /// Take the hub offline: no new database connections, the offline hook runs.
        #[arg(long, conflicts_with = "online")]
        offline: bool,
        /// Where visitors are sent while the hub is offline.
        #[arg(long, requires = "offline")]
        redirect_url: Option<String>,
        /// Bring the hub back online.
        #[arg(long)]
        online: bool,
        /// The app (Reticulum) version this stack now runs.
        #[arg(long)]
        app_version: Option<String>,
        /// Stores /keymaster/<stack>/NAME (e.g. phoenix-key=…).
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
    /// List the stacks, oldest first.
    List,
    /// Show a stack: status, outputs (database, file store, vault) and where it was restored from.
    Show {
        /// The stack's name.
        name: String,
    },
    /// A stack's last nights (backed up, failed, missed, expired; verified),
    /// its vault's size over time and its drills' restore times.
    ///
    /// Nights are dates in the plan's time zone, ending today.
    #[command(after_long_help = "Example:\n  hubkeep stack history myhub --nights 14")]
    History {
        /// The stack's name.
        name: String,
        /// How many nights, ending today (1 to 366).
        #[arg(long, default_value_t = 30)]
        nights: u32,
    },
    /// Delete a stack (its keys, database secret, snapshots and recovery points are kept).
    ///
    /// For a stack hubkeep created, its database and file store are removed;
    /// an adopted stack's database and files are never touched (hubkeep
    /// only forgets them).
    #[command(after_long_help = "Example:\n  hubkeep stack delete myhub --yes")]
    Delete {
        /// The stack's name.
        name: String,
        /// Confirm the deletion.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Args, Clone, Default)]
pub struct RestoreArgs {
    /// Restore: the backed-up stack's name.
    #[arg(long)]
    pub restore_stack_name: Option<String>,
    /// Restore: the database snapshot id.
    #[arg(long)]
    pub restore_db_snapshot: Option<String>,
    /// Restore: the ARN of the source stack's database secret.
    #[arg(long)]
    pub restore_db_secret_arn: Option<String>,
    /// Restore: the vault holding the backup.
    #[arg(long)]
    pub restore_vault: Option<String>,
    /// Restore: the file store's recovery point ARN.
    #[arg(long)]
    pub restore_recovery_point: Option<String>,
}

#[derive(Subcommand)]
pub enum DbSnapshotCmd {
    /// Snapshot a stack's database into a vault (the stack's daily vault by default).
    #[command(after_long_help = "Examples:\n  \
        hubkeep db-snapshot create myhub\n  \
        hubkeep db-snapshot create myhub --id before-upgrade")]
    Create {
        /// The stack whose database to snapshot.
        stack: String,
        /// The snapshot's id (default: a generated one).
        #[arg(long)]
        id: Option<String>,
        /// The vault to store it in (default: the stack's daily vault).
        #[arg(long)]
        vault: Option<String>,
        /// Mark it as the nightly plan's (automated) snapshot.
        #[arg(long)]
        automated: bool,
        #[command(flatten)]
        wait: Wait,
    },
    /// List database snapshots, oldest first.
    List {
        /// Only this stack's snapshots.
        #[arg(long)]
        stack: Option<String>,
    },
    /// Show a database snapshot: status, sizes, tables and versions.
    Show {
        /// The snapshot's id.
        id: String,
    },
    /// Delete a database snapshot.
    Delete {
        /// The snapshot's id.
        id: String,
        /// Delete it even when a backup set needs it (the set becomes BROKEN).
        #[arg(long)]
        force: bool,
    },
    /// Restore into an existing, empty database (password: as for `stack adopt`).
    #[command(after_long_help = "Example:\n  \
        hubkeep db-snapshot restore before-upgrade --target-url postgres://ret_admin@db.internal/ret_check \\\n      \
        --database-password-file /root/ret.pw")]
    Restore {
        /// The snapshot's id.
        id: String,
        /// postgres://USER@HOST:PORT/DATABASE of an existing, empty database.
        #[arg(long)]
        target_url: String,
        /// A file whose first line is the target database's password.
        #[arg(long, value_name = "FILE")]
        database_password_file: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
pub enum VaultCmd {
    /// Create a vault; its recovery key is printed once.
    #[command(after_long_help = "Example:\n  hubkeep vault create offsite --region srv")]
    Create {
        /// The vault's name.
        name: String,
        /// The region whose vault root holds it (default: the home's first region).
        #[arg(long)]
        region: Option<String>,
    },
    /// Open an existing vault (e.g. on a new machine) with its location and recovery key.
    #[command(after_long_help = "Example:\n  \
        hubkeep vault attach myhub-daily --location s3://backups/hubs/myhub-daily --recovery-key KEY")]
    Attach {
        /// The name to know it by in this home.
        name: String,
        /// The vault's URL (file:///… or s3://…), from its recovery kit.
        #[arg(long)]
        location: String,
        /// The vault's recovery key, from its recovery kit.
        #[arg(long)]
        recovery_key: String,
        /// The region to record it under (default: the home's first region).
        #[arg(long)]
        region: Option<String>,
    },
    /// Print what is needed to restore from this vault on a new machine (its recovery key too).
    RecoveryKit {
        /// The vault's name.
        name: String,
        /// Print it without asking to type the vault name.
        #[arg(long)]
        yes: bool,
    },
    /// List the vaults, oldest first.
    List,
    /// Show a vault: location, recovery points and backup sets.
    Show {
        /// The vault's name.
        name: String,
    },
    /// Check every snapshot and object in the vault (all data with --read-data).
    Verify {
        /// The vault's name.
        name: String,
        /// Read and check all data, not just the structure.
        #[arg(long, conflicts_with = "share")]
        read_data: bool,
        /// Read tonight's share of the packs, so that every pack is read within 30 days.
        #[arg(long)]
        share: bool,
    },
    /// Remove data no recovery point or snapshot references.
    Gc {
        /// The vault's name.
        name: String,
        /// Never remove data written less than this many seconds ago.
        #[arg(long, default_value_t = 3600)]
        grace_seconds: u64,
        /// Only count what a collection now would free; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Subcommand)]
pub enum BackupJobCmd {
    /// Back up a stack's file store into a vault (a recovery point).
    #[command(after_long_help = "Example:\n  hubkeep backup-job start myhub")]
    Start {
        /// The stack whose file store to back up.
        stack: String,
        /// The vault to store it in (default: the stack's daily vault).
        #[arg(long)]
        vault: Option<String>,
        #[command(flatten)]
        wait: Wait,
    },
}

#[derive(Subcommand)]
pub enum RecoveryPointCmd {
    /// List recovery points, oldest first.
    List {
        /// Only this vault's recovery points.
        #[arg(long)]
        vault: Option<String>,
    },
    /// Show a recovery point: stack, status, files and sizes.
    Show {
        /// The recovery point's ARN.
        arn: String,
    },
    /// Delete a recovery point and free the data nothing else references.
    Delete {
        /// The recovery point's ARN.
        arn: String,
        /// Delete it even when a backup set needs it (the set becomes BROKEN).
        #[arg(long)]
        force: bool,
    },
}

#[derive(Subcommand)]
pub enum RestoreJobCmd {
    /// Restore a recovery point's files into a new or empty directory.
    #[command(after_long_help = "Example:\n  hubkeep restore-job start RECOVERY_POINT_ARN --target /srv/restored-storage")]
    Start {
        /// The recovery point's ARN.
        arn: String,
        /// A new or empty directory.
        #[arg(long)]
        target: PathBuf,
        /// Restore every undamaged file and list the damaged ones.
        #[arg(long)]
        skip_damaged: bool,
        #[command(flatten)]
        wait: Wait,
    },
}

#[derive(Subcommand)]
pub enum JobCmd {
    /// List jobs, oldest first: kind, stack, state, start, finish and duration.
    #[command(after_long_help = "Examples:\n  \
        hubkeep job list --state FAILED\n  \
        hubkeep job list --stack myhub")]
    List {
        /// Only jobs in this state (CREATED, RUNNING, COMPLETED, FAILED, ABORTED).
        #[arg(long)]
        state: Option<String>,
        /// Only this stack's jobs.
        #[arg(long)]
        stack: Option<String>,
    },
    /// Show a job: state, times, bytes read and stored, error.
    Show {
        /// The job's id.
        id: String,
    },
}

#[derive(Subcommand)]
pub enum SecretCmd {
    /// List the secrets (metadata only).
    List,
    /// Show a secret's metadata (never its value).
    Show {
        /// The secret's name or ARN.
        name: String,
    },
    /// Print a secret's value.
    Get {
        /// The secret's name or ARN.
        name: String,
    },
    /// Schedule a secret's deletion, with a recovery window.
    Delete {
        /// The secret's name or ARN.
        name: String,
        /// Days before it is gone for good (1 to 30).
        #[arg(long, default_value_t = 7)]
        recovery_window_days: i64,
    },
    /// Undo a scheduled deletion.
    Restore {
        /// The secret's name or ARN.
        name: String,
    },
}

#[derive(Subcommand)]
pub enum ParamCmd {
    /// List parameters under a prefix (names only).
    #[command(after_long_help = "Example:\n  hubkeep param list /keymaster/myhub/")]
    List {
        /// The name prefix, e.g. /keymaster/myhub/.
        #[arg(default_value = "/")]
        prefix: String,
    },
    /// Print a parameter's value.
    Get {
        /// The parameter's name, e.g. /keymaster/myhub/phoenix-key.
        name: String,
    },
    /// Store a parameter, e.g. /keymaster/<stack>/phoenix-key or a server setting /ita/<stack>/…
    #[command(after_long_help = "Example:\n  hubkeep param put /keymaster/myhub/phoenix-key \"$(cat /root/phoenix-key)\"")]
    Put {
        /// The parameter's name.
        name: String,
        /// The value to store.
        value: String,
        /// Replace an existing value.
        #[arg(long)]
        overwrite: bool,
    },
}

/// What the two import commands share: the source stack, its keys, the vault.
#[derive(Args)]
pub struct ImportArgs {
    /// The source stack's name: the backup set goes under it (it need not exist in this home).
    #[arg(long)]
    pub stack: String,
    /// Stores /keymaster/<stack>/NAME (phoenix-key=… is required; the process list shows it: prefer --param-file).
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Like --param, the value being FILE's first line (`-`: stdin).
    #[arg(long = "param-file", value_name = "NAME=FILE")]
    pub param_files: Vec<String>,
    /// The vault to store it in (default: the stack's daily vault, made when missing).
    #[arg(long)]
    pub vault: Option<String>,
    /// The hub's domain in the backup, so a restore to another domain re-homes its stored URLs.
    #[arg(long)]
    pub domain: Option<String>,
}

#[derive(Subcommand)]
pub enum ImportCmd {
    /// Import a folder of the Hubs Community Edition backup script (data_backup_<ms>/).
    ///
    /// DIR is one data_backup_<ms> folder (pg_dump.sql and
    /// reticulum_storage_data/), or data_backups/, whose newest folder is
    /// taken, as the CE restore script does. The backup's time is the
    /// folder name's milliseconds.
    #[command(after_long_help = "Examples:\n  \
        hubkeep import ce-backup ./data_backups --stack myhub --param-file phoenix-key=/root/phoenix-key\n  \
        hubkeep import ce-backup ./data_backups/data_backup_1764547200000 --stack myhub --param-file phoenix-key=- < key\n  \
        hubkeep restore myhub --backup BACKUP_ID --domain hub.example.org   # then the new stack")]
    CeBackup {
        /// The data_backup_<ms> folder, or the data_backups folder holding them.
        dir: PathBuf,
        #[command(flatten)]
        args: ImportArgs,
    },
    /// Import a pg_dump (plain or -Fc) and a copy of the file store (the Hubs Cloud migration path).
    #[command(after_long_help = "Example:\n  \
        hubkeep import dump --database-dump ret.dump --storage ./storage --stack myhub \\\n      \
        --param-file phoenix-key=/root/phoenix-key --taken-at 2026-11-30T02:00:00Z")]
    Dump {
        /// The database dump: plain SQL or custom format (pg_dump -Fc).
        #[arg(long, value_name = "FILE")]
        database_dump: PathBuf,
        /// The copy of Reticulum's /storage (holding owned/, expiring/, cached/).
        #[arg(long, value_name = "DIR")]
        storage: PathBuf,
        /// When the dump was taken (RFC 3339; default: the dump file's modification time).
        #[arg(long, value_name = "RFC3339")]
        taken_at: Option<String>,
        #[command(flatten)]
        args: ImportArgs,
    },
}

#[derive(Subcommand)]
pub enum BackupSetCmd {
    /// List backup sets, oldest first.
    List,
    /// Show a backup set: its parts, keys' fingerprints, consistency and drift.
    Show {
        /// The backup set's id.
        id: String,
    },
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

#[derive(Subcommand)]
pub enum TokenCmd {
    /// Create a token; it is printed once and cannot be shown again.
    Create {
        name: String,
        /// What the token may do: admin, operator or read.
        #[arg(long, default_value = "read", value_parser = ["admin", "operator", "read"])]
        role: String,
    },
    /// The tokens: name, role, when created and last used (never the token).
    List,
    /// Revoke a token: requests with it are refused from now on.
    Revoke { name: String },
}

/// Notifications: signed webhooks for hubkeep's events.
#[derive(Subcommand)]
pub enum NotifyCmd {
    /// Add a webhook: events are POSTed to it as JSON, signed when it has a secret.
    #[command(after_long_help = "Examples:\n  \
        hubkeep notify add ops --webhook https://hooks.example.com/hubkeep --secret-file /root/hook.secret\n  \
        openssl rand -hex 32 | hubkeep notify add ops --webhook https://hooks.example.com/hubkeep --secret-file -\n  \
        hubkeep notify add chat --webhook https://chat.example.com/in --events backup.completed,backup.failed\n\n\
        Events: backup.started, backup.completed, backup.failed, backup.missed, retention.expired,\n\
        verify.failed, drill.passed, drill.failed, rpo.breached, gc.completed.\n\
        Default: every failure and rpo.breached.")]
    Add {
        /// The webhook's name.
        name: String,
        /// The http:// or https:// URL events are posted to.
        #[arg(long, value_name = "URL")]
        webhook: String,
        /// The HMAC-SHA256 secret (visible in the process list: prefer --secret-file).
        #[arg(long, value_name = "S", conflicts_with = "secret_file")]
        secret: Option<String>,
        /// Read the secret from this file's first line, or from stdin with `-`.
        #[arg(long, value_name = "PATH")]
        secret_file: Option<PathBuf>,
        /// The events to send, comma-separated (default: every failure and rpo.breached).
        #[arg(long, value_name = "E1,E2,…", value_delimiter = ',')]
        events: Option<Vec<String>>,
    },
    /// Every webhook, with its events (never its secret).
    List,
    /// Send a test event to a webhook and wait for its answer.
    Test { name: String },
    /// Remove a webhook and its secret.
    Remove { name: String },
}

/// Restore drills: prove a backup restores, and how long it takes.
#[derive(Subcommand)]
pub enum DrillCmd {
    /// Restore a backup set of STACK into a throwaway stack, run the Hubs check, time it, remove it.
    #[command(after_long_help = "Examples:\n  \
        hubkeep drill run hub1                    # the newest AVAILABLE backup set of hub1\n  \
        hubkeep drill run hub1 --backup ID        # that backup set")]
    Run {
        /// The stack whose backup is drilled.
        stack: String,
        /// The backup set (default: the stack's newest AVAILABLE one).
        #[arg(long, value_name = "ID")]
        backup: Option<String>,
    },
    /// The drills, oldest first.
    List {
        /// Only this stack's.
        #[arg(long)]
        stack: Option<String>,
    },
}
