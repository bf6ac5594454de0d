//! `hubkeep demo`: the whole story on the embedded defaults, in a minute.
//! A demo hub with Reticulum-format data, an offline backup, a change to the
//! hub, a restore into a new stack, and the Hubs check proving the restored
//! hub is the hub as it was at backup time.

use crate::backupset::BackupRequest;
use crate::error::{Error, Result};
use crate::records::Profile;
use crate::stacks::{keymaster, CreateRequest};
use crate::Hubkeep;

#[derive(Debug, serde::Serialize)]
pub struct DemoReport {
    pub source_stack: String,
    pub restored_stack: String,
    pub backup_id: String,
    pub owned_files: usize,
    pub hubs_check_passed: bool,
    pub restored_equals_backup: bool,
    pub steps: Vec<String>,
}

impl Hubkeep {
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
            name: source.clone(),
            domain: Some(format!("{source}.example.org")),
            region: None,
            app_version: Some("reticulum-demo".into()),
            profile: Profile::Hubs,
        })?;
        step(format!("created stack {source} (embedded PostgreSQL cluster, file store, keys, vault {})", created.daily_backup_vault.name), self);
        let stack = self.stack(&source)?;
        let outputs = stack.outputs.clone().expect("a created stack has outputs");
        let admin = crate::restore::conn_url(&self.admin_conn(&stack)?);
        let app_user = self.app_conn(&stack)?.user;
        let phoenix = self.home.secrets().value(&keymaster(&source, "phoenix-key"))?.expect("created with the stack");
        let hubs_err = |e: hubkeep_hubs::HubsError| Error::new("demo", e.to_string());
        hubkeep_hubs::create_demo_schema(&admin, &app_user).map_err(hubs_err)?;
        let demo = hubkeep_hubs::populate_demo(&admin, &outputs.storage_path, &phoenix, 1).map_err(hubs_err)?;
        step(format!("filled it with Reticulum-format data: {} owned files (encrypted blobs), {} hubs, {} accounts", demo.owned_files, demo.hubs, demo.accounts), self);
        let set = self.backup(&BackupRequest { stack: &source, offline: true, vault: None, strict: false })?;
        step(format!("backed it up offline: backup set {}", set.backup_id), self);
        let before = hubkeep_hubs::check_hub(&admin, &outputs.storage_path, &phoenix, true, 0).map_err(hubs_err)?;
        hubkeep_hubs::mutate_demo(&admin, &outputs.storage_path, &phoenix).map_err(hubs_err)?;
        step("changed the hub after the backup (a new upload, a renamed room, a deleted room)".into(), self);
        let r = self.restore_backup(&restored, &set.backup_id, Some(format!("{restored}.example.org")), None, false)?;
        let passed = r.hubs_check.as_ref().and_then(|c| c.get("passed")).and_then(|v| v.as_bool()).unwrap_or(false);
        step(format!("restored the backup into a new stack {restored}; Hubs check {}", if passed { "passed" } else { "FAILED" }), self);
        let rstack = self.stack(&restored)?;
        let rurl = crate::restore::conn_url(&self.admin_conn(&rstack)?);
        let after = hubkeep_hubs::check_hub(&rurl, &rstack.outputs.as_ref().expect("restored").storage_path, &phoenix, true, 0).map_err(hubs_err)?;
        let equal = checked_count(&before) == checked_count(&after) && after.passed;
        step(format!(
            "the restored hub has the {} owned files of backup time, every one decrypting with the restored phoenix-key; the source's later changes are not in it",
            checked_count(&after)
        ), self);
        Ok(DemoReport {
            source_stack: source,
            restored_stack: restored,
            backup_id: set.backup_id,
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
