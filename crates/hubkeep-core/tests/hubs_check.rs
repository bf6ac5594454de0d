//! One Hubs check for a live hub and for its backup: a demo hub on an
//! embedded cluster, backed up through core's API, judged by
//! `hubkeep-hubs`' check once live and once inside the backup (database
//! snapshot rows, recovery point files, key bundle). Both must agree, and
//! damage that a backup carries must fail the backup's check, named.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hubkeep_core::records::Profile;
use hubkeep_core::{BackupRequest, CreateRequest, Hubkeep};
use hubkeep_hubs::{CheckReport, Meta, CACHED_DECRYPT, OWNED_BLOB, OWNED_DECRYPT, OWNED_META};
use hubkeep_pg::cluster::EmbeddedCluster;
use hubkeep_pg::ConnInfo;

/// A home with one populated demo hub; its cluster stops when dropped.
struct DemoHome {
    hk: Hubkeep,
    stack: String,
    admin_url: String,
    storage: PathBuf,
    phoenix: String,
    _dir: tempfile::TempDir,
}

impl DemoHome {
    fn new(stack: &str) -> DemoHome {
        assert!(
            unsafe { libc::geteuid() } == 0,
            "these tests run PostgreSQL as the postgres OS user: run them as root"
        );
        let dir = hubkeep_testkit::throwaway_dir("hubkeep-core-test-");
        let mut hk = Hubkeep::open_or_init(&dir.path().join("home")).unwrap();
        hk.notes = Arc::new(|_| {});
        hk.create_stack(&CreateRequest {
            name: stack.parse().unwrap(),
            domain: Some(format!("{stack}.example.org")),
            region: None,
            app_version: None,
            profile: Profile::Hubs,
        })
        .unwrap();
        let outputs = hk.stack(stack).unwrap().outputs.unwrap();
        let secret = |name: String| hk.home.secrets().value(&name).unwrap().unwrap();
        let app = ConnInfo::parse_url(&outputs.database_url).unwrap();
        let mut admin = app.clone();
        admin.user = "postgres".into();
        admin.password = Some(secret(format!(
            "/hubkeep/cluster/{stack}/superuser-password"
        )));
        let admin_url = admin.url_with_password();
        let phoenix = secret(format!("/keymaster/{stack}/phoenix-key"));
        hubkeep_hubs::create_demo_schema(&admin_url, &app.user).unwrap();
        hubkeep_hubs::populate_demo(&admin_url, &outputs.storage_path, &phoenix, 1).unwrap();
        DemoHome {
            stack: stack.into(),
            admin_url,
            storage: outputs.storage_path,
            phoenix,
            hk,
            _dir: dir,
        }
    }

    fn check_live(&self) -> CheckReport {
        hubkeep_hubs::check_hub(&self.admin_url, &self.storage, &self.phoenix, true, 0).unwrap()
    }

    fn back_up_and_check(&self) -> CheckReport {
        let set = self
            .hk
            .backup(&BackupRequest {
                stack: &self.stack,
                offline: true,
                vault: None,
                strict: false,
                automated: false,
                job_id: None,
            })
            .unwrap();
        self.hk.hubs_check_backup(&set, true).unwrap()
    }
}

impl Drop for DemoHome {
    fn drop(&mut self) {
        if let Ok(cluster) = EmbeddedCluster::open(&self.hk.home.cluster_dir(&self.stack)) {
            let _ = cluster.stop();
        }
    }
}

/// What a verdict is made of: per category, its name, counts and whether
/// it fails the check; and the overall result.
type TableVerdict = (String, usize, usize, bool);

fn verdict(report: &CheckReport) -> (bool, usize, Vec<TableVerdict>) {
    let categories = report
        .categories
        .iter()
        .map(|c| (c.name.clone(), c.checked, c.ok, c.required))
        .collect();
    (report.passed, report.sampled, categories)
}

/// Every `<uuid>.blob` under `storage/area`, with its meta file's length.
fn blobs(storage: &Path, area: &str) -> Vec<(String, PathBuf, u64)> {
    let mut found = Vec::new();
    let mut dirs = vec![storage.join(area)];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if let Some(uuid) = path
                .file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .strip_suffix(".blob")
            {
                let meta = Meta::read(&path.with_file_name(format!("{uuid}.meta.json"))).unwrap();
                found.push((uuid.to_string(), path.clone(), meta.content_length));
            }
        }
    }
    found.sort();
    found
}

fn problems_of<'a>(report: &'a CheckReport, category: &str) -> &'a [String] {
    &report.category(category).unwrap().problems
}

#[test]
fn a_good_hub_and_its_backup_pass_the_same_check_with_the_same_counts() {
    let home = DemoHome::new("hub");
    let live = home.check_live();
    assert!(live.passed, "{live:#?}");
    let backup = home.back_up_and_check();
    assert!(backup.passed, "{backup:#?}");
    assert_eq!(verdict(&backup), verdict(&live));
    assert_eq!(
        backup.categories.len(),
        6,
        "owned and cached files are both checked: {backup:#?}"
    );
    assert!(
        backup.sampled >= 10,
        "every blob of the backup is decrypted: {backup:#?}"
    );
    let json = serde_json::to_string(&backup).unwrap();
    assert!(
        !json.contains(&home.phoenix),
        "the report never shows the phoenix-key"
    );
}

#[test]
fn a_backup_with_a_truncated_blob_a_lost_file_and_a_corrupt_cached_file_fails_naming_each() {
    let home = DemoHome::new("damaged");
    let owned = blobs(&home.storage, "owned");
    let (truncated, truncated_path, length) = owned
        .iter()
        .max_by_key(|(_, _, length)| *length)
        .cloned()
        .unwrap();
    assert!(length > 100, "the demo hub has a large file");
    let blob = fs::read(&truncated_path).unwrap();
    fs::write(&truncated_path, &blob[..12 + 100]).unwrap();
    let (lost, lost_path, _) = owned
        .iter()
        .find(|(uuid, _, _)| *uuid != truncated)
        .cloned()
        .unwrap();
    fs::remove_file(&lost_path).unwrap();
    let (corrupt, corrupt_path, _) = blobs(&home.storage, "cached").into_iter().next().unwrap();
    let mut blob = fs::read(&corrupt_path).unwrap();
    blob[..12].fill(0);
    fs::write(&corrupt_path, blob).unwrap();

    let live = home.check_live();
    let backup = home.back_up_and_check();
    assert!(!backup.passed, "{backup:#?}");
    assert_eq!(
        verdict(&backup),
        verdict(&live),
        "live: {live:#?}\nbackup: {backup:#?}"
    );

    let missing_or_short = problems_of(&backup, OWNED_BLOB);
    assert_eq!(missing_or_short.len(), 2, "{missing_or_short:?}");
    assert!(
        missing_or_short.iter().any(|p| p.contains(&truncated)
            && p.contains("truncated")
            && p.contains("in recovery point")),
        "{missing_or_short:?}"
    );
    assert!(
        missing_or_short
            .iter()
            .any(|p| p.contains(&lost) && p.contains("blob missing")),
        "{missing_or_short:?}"
    );
    assert!(
        problems_of(&backup, OWNED_META).is_empty(),
        "the lost file's meta file is still there"
    );
    assert!(
        problems_of(&backup, OWNED_DECRYPT).is_empty(),
        "the truncated blob's header still decrypts"
    );
    let cached = problems_of(&backup, CACHED_DECRYPT);
    assert!(
        cached.len() == 1 && cached[0].contains(&corrupt) && cached[0].contains("does not decrypt"),
        "{cached:?}"
    );
}
