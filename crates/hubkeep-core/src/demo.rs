//! `hubkeep demo`: the whole story on the embedded defaults, in a minute.
//! A demo hub with Reticulum-format data, an offline backup, a change to the
//! hub, a restore into a new stack, and the Hubs check proving the restored
//! hub is the hub as it was at backup time.

use crate::backupset::BackupRequest;
use crate::error::{Error, ErrorKind, Result};
use crate::records::Profile;
use crate::names::keymaster;
use crate::stacks::CreateRequest;
use crate::Hubkeep;

/// What `demo` prints.
#[derive(Debug, serde::Serialize)]
pub struct DemoReport {
    /// The demo hub.
    pub source_stack: String,
    /// The stack it was restored into.
    pub restored_stack: String,
    /// The backup set.
    pub backup_id: String,
    /// How many owned files the demo hub has.
    pub owned_files: usize,
    /// Whether the restored hub passed the Hubs check.
    pub hubs_check_passed: bool,
    /// Whether the restored hub equals the source at backup time.
    pub restored_equals_backup: bool,
    /// What the demo did, step by step.
    pub steps: Vec<String>,
}

impl Hubkeep {
    /// `hubkeep demo`: the whole story on the embedded defaults.
    pub fn demo(&self) -> Result<DemoReport> {
        let suffix = crate::ids::random_hex(2);
        let source = format!("demo-hub-{suffix}");
        let restored = format!("demo-restored-{suffix}");
        let mut steps = vec![];
        let mut step = |s: String, hk: &Hubkeep| {
            hk.note(&format!("demo: {s}"));
            steps.push(s);
        };
        let created = self.create_stack(&CreateRequest {
            name: crate::ids::StackName::parse(&source)?,
            domain: Some(format!("{source}.example.org")),
            region: None,
            app_version: Some("reticulum-demo".into()),
            profile: Profile::Hubs,
        })?;
        step(format!("created stack {source} (embedded PostgreSQL cluster, file store, keys, vault {})", created.daily_backup_vault.name), self);
        let stack = self.stack(&source)?;
        let outputs = stack.outputs.clone().expect("a created stack has outputs");
        let admin_conn = self.admin_conn(&stack)?;
        let admin = admin_conn.url_with_password();
        let app_user = self.app_conn(&stack)?.user;
        let phoenix = self.home.secrets().value(&keymaster(&source, "phoenix-key"))?.expect("created with the stack");
        let hubs_err = |e: hubkeep_hubs::HubsError| Error::new(ErrorKind::Demo, e.to_string());
        hubkeep_hubs::create_demo_schema(&admin, &app_user).map_err(hubs_err)?;
        let demo = hubkeep_hubs::populate_demo(&admin, &outputs.storage_path, &phoenix, 1).map_err(hubs_err)?;
        step(format!("filled it with Reticulum-format data: {} owned files (encrypted blobs), {} hubs, {} accounts", demo.owned_files, demo.hubs, demo.accounts), self);
        let set = self.backup(&BackupRequest { stack: &source, offline: true, vault: None, strict: false, job_id: None, automated: false })?;
        step(format!("backed it up offline: backup set {}", set.backup_id), self);
        let before = hubkeep_hubs::check_hub(&admin, &outputs.storage_path, &phoenix, true, 0).map_err(hubs_err)?;
        let db_at_backup = hubkeep_pg::table_fingerprints(&admin_conn)?;
        let files_at_backup = tree_fingerprint(&outputs.storage_path)?;
        hubkeep_hubs::mutate_demo(&admin, &outputs.storage_path, &phoenix).map_err(hubs_err)?;
        step("changed the hub after the backup (a new upload, a renamed room, a deleted room)".into(), self);
        let r = self.restore_backup(&restored, &set.backup_id, Some(format!("{restored}.example.org")), None, false)?;
        let passed = r.hubs_check.as_ref().is_some_and(|c| c.passed);
        step(format!("restored the backup into a new stack {restored}; Hubs check {}", if passed { "passed" } else { "FAILED" }), self);
        let rstack = self.stack(&restored)?;
        let rconn = self.admin_conn(&rstack)?;
        let rurl = rconn.url_with_password();
        let after = hubkeep_hubs::check_hub(&rurl, &rstack.outputs.as_ref().expect("restored").storage_path, &phoenix, true, 0).map_err(hubs_err)?;
        let rstorage = &rstack.outputs.as_ref().expect("restored").storage_path;
        let equal = checked_count(&before) == checked_count(&after)
            && after.passed
            && hubkeep_pg::table_fingerprints(&rconn)? == db_at_backup
            && tree_fingerprint(rstorage)? == files_at_backup
            && hubkeep_pg::table_fingerprints(&admin_conn)? != db_at_backup;
        step(format!(
            "compared: the restored database (every table, row by row) and file store (every file, byte by byte) {} the source at backup time, while the source has changed since; all {} owned files decrypt with the restored phoenix-key",
            if equal { "equal" } else { "DIFFER FROM" },
            checked_count(&after)
        ), self);
        step(format!("remove the demo with `hubkeep stack delete {source} --yes` and `hubkeep stack delete {restored} --yes`"), self);
        if !equal {
            return Err(Error::new(ErrorKind::DemoFailed, "the restored hub does not equal the source at backup time; see the steps above"));
        }
        Ok(DemoReport {
            source_stack: source,
            restored_stack: restored,
            backup_id: set.backup_id.into(),
            owned_files: demo.owned_files,
            hubs_check_passed: passed,
            restored_equals_backup: equal,
            steps,
        })
    }
}

fn checked_count(r: &hubkeep_hubs::CheckReport) -> usize {
    r.categories.first().map(|c| c.checked).unwrap_or(0)
}

/// Every file's relative path and BLAKE3 hash (links by their target).
fn tree_fingerprint(root: &std::path::Path) -> Result<std::collections::BTreeMap<std::path::PathBuf, String>> {
    let mut out = std::collections::BTreeMap::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            let meta = std::fs::symlink_metadata(&path)?;
            let rel = path.strip_prefix(root).expect("below the root").to_path_buf();
            if meta.is_dir() {
                dirs.push(path);
                out.insert(rel, "dir".into());
            } else if meta.file_type().is_symlink() {
                out.insert(rel, format!("-> {}", std::fs::read_link(&path)?.display()));
            } else {
                out.insert(rel, blake3::hash(&std::fs::read(&path)?).to_hex().to_string());
            }
        }
    }
    Ok(out)
}
