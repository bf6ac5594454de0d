//! The stories the daemon will drive, told against the service layer's API
//! (not the binary): back up a hub offline, restore it into a new stack,
//! the refusals that must change nothing, and a vault attached on a fresh
//! home. Real embedded PostgreSQL clusters and real files throughout.

use hubkeep_core::ops::regions::RegionAdd;
use hubkeep_core::ops::stacks::{RestoreArgs, StackCreate};
use hubkeep_core::records::Profile;
use hubkeep_core::states::StackStatus;
use hubkeep_core::{BackupRequest, ErrorKind, Hubkeep};
use hubkeep_testkit::{table_checksums_at as table_checksums, tree};
use std::path::PathBuf;

/// A throwaway home whose embedded clusters are stopped when it goes.
struct TestHome {
    dir: tempfile::TempDir,
}

impl TestHome {
    fn new() -> TestHome {
        let dir = hubkeep_testkit::throwaway_dir("hubkeep-core-test-");
        TestHome { dir }
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// The service handle a front door would make: opened, recovered.
    fn open(&self) -> Hubkeep {
        let mut hk = Hubkeep::open_or_init(&self.path()).unwrap();
        hk.notes = std::sync::Arc::new(|_| {});
        hk.recover().unwrap();
        hk
    }
}

impl Drop for TestHome {
    fn drop(&mut self) {
        hubkeep_testkit::stop_clusters(&self.path());
    }
}

/// The app's URL (with its password) from the stack's database secret.
fn app_url(hk: &Hubkeep, stack: &str) -> String {
    let arn = hk
        .stack(stack)
        .unwrap()
        .outputs
        .unwrap()
        .database_secret_arn;
    hubkeep_testkit::secret_value_url(&hk.secret_get(&arn).unwrap().value)
}

/// The embedded cluster's superuser URL: the demo schema creates roles.
fn superuser_url(hk: &Hubkeep, stack: &str) -> String {
    let pw = hk
        .param_get(&format!("/hubkeep/cluster/{stack}/superuser-password"))
        .unwrap()
        .value;
    let url = app_url(hk, stack);
    let (hostport, db) = url.split('@').nth(1).unwrap().split_once('/').unwrap();
    format!("postgresql://postgres:{pw}@{hostport}/{db}")
}

/// A Hubs stack filled with Reticulum-format data (encrypted blobs).
fn hub(hk: &Hubkeep, name: &str) -> usize {
    hk.stack_create(StackCreate {
        name: name.parse().unwrap(),
        domain: Some(format!("{name}.example.org")),
        region: None,
        app_version: None,
        profile: Profile::Hubs,
        restore: RestoreArgs::default(),
        force_version: false,
        keep_urls: false,
    })
    .unwrap();
    let url = superuser_url(hk, name);
    let user = hk
        .secret_get(&hk.stack(name).unwrap().outputs.unwrap().database_secret_arn)
        .unwrap()
        .value["username"]
        .as_str()
        .unwrap()
        .to_string();
    let phoenix = hk
        .param_get(&format!("/keymaster/{name}/phoenix-key"))
        .unwrap()
        .value;
    let storage = hk.stack(name).unwrap().outputs.unwrap().storage_path;
    hubkeep_hubs::create_demo_schema(&url, &user).unwrap();
    hubkeep_hubs::populate_demo(&url, &storage, &phoenix, 1)
        .unwrap()
        .owned_files
}

#[test]
fn a_hub_backed_up_offline_comes_back_as_it_was_in_a_new_stack() {
    if !hubkeep_testkit::can_run_clusters() {
        return;
    }
    let home = TestHome::new();
    let hk = home.open();
    let owned_files = hub(&hk, "src");
    let set = hk
        .backup(&BackupRequest {
            stack: "src",
            offline: true,
            vault: None,
            strict: true,
            automated: false,
            job_id: None,
        })
        .unwrap();
    assert!(set.consistent, "an offline backup is from one instant");
    let source = hk.stack("src").unwrap();
    assert_eq!(
        source.status,
        StackStatus::Online,
        "the hub is back online after the backup"
    );
    assert!(source.offline.is_none());

    let restored = hk
        .restore_backup("copy", &set.backup_id, None, None, false)
        .unwrap();
    assert_eq!(restored.stack.status, StackStatus::Online);
    let from = restored.stack.restored_from.clone().unwrap();
    assert_eq!(
        (
            from.db_snapshot_id.as_str(),
            from.recovery_point_arn.as_str()
        ),
        (set.db_snapshot_id.as_str(), set.recovery_point_arn.as_str())
    );
    let check = restored.hubs_check.unwrap();
    assert!(
        check.passed,
        "every blob decrypts with the restored keys: {check:?}"
    );
    assert_eq!(
        table_checksums(&app_url(&hk, "copy")),
        table_checksums(&app_url(&hk, "src"))
    );
    let copy_files = tree(&restored.stack.outputs.unwrap().storage_path);
    assert_eq!(copy_files, tree(&source.outputs.unwrap().storage_path));
    assert!(copy_files.keys().filter(|p| p.ends_with(".blob")).count() >= owned_files);
}

#[test]
fn refused_restores_write_nothing_and_say_why() {
    if !hubkeep_testkit::can_run_clusters() {
        return;
    }
    let home = TestHome::new();
    let hk = home.open();
    hub(&hk, "live");
    let set = hk
        .backup(&BackupRequest {
            stack: "live",
            offline: false,
            vault: None,
            strict: false,
            automated: false,
            job_id: None,
        })
        .unwrap();
    let secrets_before = hk.secret_list().unwrap().len() + hk.param_list("/").unwrap().len();

    let e = hk
        .restore_backup("live", &set.backup_id, None, None, false)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::StackExists, "{e}");

    let mut args = RestoreArgs {
        stack_name: Some("live".into()),
        db_snapshot: Some(set.db_snapshot_id.clone()),
        db_secret_arn: Some(
            "hrn:hubkeep:secrets:local:secret:nobody-database-secret-000000".into(),
        ),
        vault: Some(set.vault.clone()),
        recovery_point: Some(set.recovery_point_arn.to_string()),
    };
    let create = |args: RestoreArgs| {
        hk.stack_create(StackCreate {
            name: "other".parse().unwrap(),
            domain: None,
            region: None,
            app_version: None,
            profile: Profile::Hubs,
            restore: args,
            force_version: false,
            keep_urls: false,
        })
    };
    let e = create(args.clone()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::SecretNotFound, "{e}");

    args.recovery_point = None;
    let e = create(args).unwrap_err();
    assert!(
        e.message().contains("missing --restore-recovery-point"),
        "{e}"
    );

    hk.region_add(&RegionAdd {
        name: "far".into(),
        pg_url: "embedded".into(),
        password_file: None,
        storage_root: home.dir.path().join("far-storage"),
        vault_root: format!("file://{}", home.dir.path().join("far-vaults").display()),
    })
    .unwrap();
    let e = hk
        .restore_backup("elsewhere", &set.backup_id, None, Some("far".into()), false)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::WrongRegion, "{e}");

    let names: Vec<String> = hk.stacks().unwrap().into_iter().map(|s| s.name.into()).collect();
    assert_eq!(names, ["live"], "no refused restore left a stack record");
    assert_eq!(
        hk.secret_list().unwrap().len() + hk.param_list("/").unwrap().len(),
        secrets_before,
        "no refused restore wrote a secret"
    );
}

#[test]
fn a_vault_attached_on_a_fresh_home_restores_the_hub_with_its_keys() {
    if !hubkeep_testkit::can_run_clusters() {
        return;
    }
    let old_home = TestHome::new();
    let old = old_home.open();
    hub(&old, "hub");
    let set = old
        .backup(&BackupRequest {
            stack: "hub",
            offline: true,
            vault: None,
            strict: false,
            automated: false,
            job_id: None,
        })
        .unwrap();
    let kit = old.recovery_kit(&set.vault).unwrap();

    let new_home = TestHome::new();
    let new = new_home.open();
    new.attach_vault(&kit.name, &kit.location, &kit.recovery_key, None)
        .unwrap();
    let sets: Vec<hubkeep_core::ids::BackupSetId> = new
        .backup_sets()
        .unwrap()
        .into_iter()
        .map(|s| s.backup_id)
        .collect();
    assert_eq!(sets, std::slice::from_ref(&set.backup_id));

    // A refused restore reads the key bundle but writes none of it.
    new.region_add(&RegionAdd {
        name: "far".into(),
        pg_url: "embedded".into(),
        password_file: None,
        storage_root: new_home.dir.path().join("far-storage"),
        vault_root: format!(
            "file://{}",
            new_home.dir.path().join("far-vaults").display()
        ),
    })
    .unwrap();
    let e = new
        .restore_backup("hub", &set.backup_id, None, Some("far".into()), false)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::WrongRegion, "{e}");
    assert!(
        new.secret_list().unwrap().is_empty(),
        "no database secret was written by the refused restore"
    );
    assert!(
        new.param_list("/keymaster/").unwrap().is_empty(),
        "no key was written by the refused restore"
    );

    let restored = new
        .restore_backup("hub", &set.backup_id, None, None, false)
        .unwrap();
    assert!(
        restored.hubs_check.unwrap().passed,
        "the key bundle brought the phoenix-key along"
    );
    assert_eq!(
        table_checksums(&app_url(&new, "hub")),
        table_checksums(&app_url(&old, "hub"))
    );
}
