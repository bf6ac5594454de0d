//! Bad input is refused up front: file stores that would back up the home,
//! a vault or the system, names too long for what hubkeep derives from
//! them, read commands on a home that is not there; and database passwords
//! given without putting them on the command line.

mod common;
use common::*;
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// A URL nothing listens on: the store check comes before any connection.
const NOWHERE: &str = "postgres://app@127.0.0.1:1/hubs";

/// What a refusal must leave as it was: every list of the home.
fn everything(home: &Home) -> Vec<Value> {
    [&["stack", "list"][..], &["vault", "list"], &["secret", "list"], &["param", "list", "/"], &["job", "list"], &["region", "list"]]
        .iter()
        .map(|args| home.json(args))
        .collect()
}

fn adopt_refused(home: &Home, storage: &Path) -> (String, String) {
    let (code, message, _) = home.fails(&["stack", "adopt", "hub", "--profile", "generic", "--database-url", NOWHERE, "--storage", storage.to_str().unwrap()]);
    (code, message)
}

#[test]
fn file_stores_that_would_back_up_the_system_the_home_or_a_vault_are_refused() {
    let home = Home::new();
    home.json(&["init"]);
    home.json(&["vault", "create", "archive"]);
    let outside_vaults = home.scratch("other-vaults");
    home.json(&[
        "region",
        "add",
        "far",
        "--pg-url",
        "embedded",
        "--storage-root",
        home.scratch("far-storage").to_str().unwrap(),
        "--vault-root",
        &format!("file://{}", outside_vaults.display()),
    ]);
    std::os::unix::fs::symlink(home.path(), home.dir.path().join("link-to-home")).unwrap();
    std::fs::create_dir_all(outside_vaults.join("inside")).unwrap();
    let before = everything(&home);

    let h = home.path();
    let cases: Vec<(std::path::PathBuf, &str)> = vec![
        ("/".into(), "root directory"),
        ("/proc".into(), "system directory"),
        ("/proc/1".into(), "system directory"),
        ("/sys".into(), "system directory"),
        ("/dev".into(), "system directory"),
        ("/run".into(), "system directory"),
        (h.clone(), "the hubkeep home itself"),
        (h.join("keys"), "inside the hubkeep home"),
        (h.join("vaults"), "inside the hubkeep home"),
        (h.join("storage"), "inside the hubkeep home"),
        (home.dir.path().join("link-to-home"), "the hubkeep home itself"),
        (home.dir.path().to_path_buf(), "contains the hubkeep home"),
        (outside_vaults.clone(), "vault root of region far"),
        (outside_vaults.join("inside"), "vault root of region far"),
    ];
    for (path, why) in cases {
        let (code, message) = adopt_refused(&home, &path);
        assert_eq!(code, "invalid_storage", "{}: {message}", path.display());
        let shown = std::fs::canonicalize(&path).unwrap();
        assert!(message.contains(&format!("the file store {} is refused", shown.display())), "names the path: {message}");
        assert!(message.contains(why), "{}: says why ({why}): {message}", path.display());
        assert!(message.contains("give the hub's own file store"), "says what to do: {message}");
    }
    assert_eq!(everything(&home), before, "a refused store leaves no record");

    let (code, message, _) = home.fails(&["region", "add", "bad", "--pg-url", "embedded", "--storage-root", "/proc/sys", "--vault-root", "file:///tmp/x"]);
    assert_eq!(code, "invalid_storage", "{message}");
    let (code, message, _) =
        home.fails(&["region", "add", "bad", "--pg-url", "embedded", "--storage-root", h.join("keys").to_str().unwrap(), "--vault-root", "file:///tmp/x"]);
    assert_eq!(code, "invalid_storage", "a region's storage root inside the home: {message}");
    assert_eq!(everything(&home), before);
}

#[test]
fn a_stack_name_too_long_for_its_derived_names_is_refused_with_no_record() {
    let home = Home::new();
    home.json(&["init"]);
    let before = everything(&home);
    let catalog_before = std::fs::read(home.path().join("catalog.db")).unwrap();
    let name = "a".repeat(63);
    let attempts: [Vec<&str>; 3] = [
        vec!["stack", "create", &name, "--profile", "generic"],
        vec!["stack", "adopt", &name, "--profile", "generic", "--database-url", NOWHERE, "--storage", "/srv"],
        vec!["restore", &name, "--backup", "hrn:hubkeep:backup:local:v:backup-set:x"],
    ];
    for args in attempts {
        let (code, message, _) = home.fails(&args);
        assert_eq!(code, "invalid_argument", "{message}");
        assert!(message.contains(&format!("`{name}` is not a valid stack name")) && message.contains(&format!("{name}-daily")), "{message}");
        assert!(message.contains("use 1-57 letters"), "says what to do: {message}");
    }
    assert_eq!(everything(&home), before, "no stack, vault, secret or job was recorded");
    assert_eq!(std::fs::read(home.path().join("catalog.db")).unwrap(), catalog_before, "the catalog is unchanged");
}

#[test]
fn read_commands_on_a_missing_home_say_so_and_create_nothing() {
    let home = Home::new();
    let attempts: [&[&str]; 9] = [
        &["stack", "list"],
        &["stack", "show", "hub"],
        &["vault", "list"],
        &["secret", "list"],
        &["job", "list"],
        &["backup-set", "list"],
        &["recovery-point", "list"],
        &["backup", "hub", "--no-wait"],
        &["verify", "snap-1"],
    ];
    for args in attempts {
        let (code, message, _) = home.fails(args);
        assert_eq!(code, "no_home", "{args:?}: {message}");
        assert_eq!(message, format!("no hubkeep home at {}: run hubkeep init (or pass --home)", home.path().display()));
        assert!(!home.path().exists(), "{args:?} created the home");
    }
    home.json(&["init"]);
    assert_eq!(home.json(&["stack", "list"]), serde_json::json!([]), "after init the same command works");
}

#[test]
fn passwords_inside_urls_are_never_shown() {
    let home = Home::new();
    home.json(&["init"]);
    let secret = "Sup3rS3cret-in-url";
    let url = format!("postgres://app:{secret}@127.0.0.1:1/hubs");
    // clap echoes an invalid value; a bad vault root is echoed by hubkeep.
    let runs = [
        home.run(&["--json", "stack", "adopt", "hub", "--profile", &url, "--database-url", &url, "--storage", "/srv"]),
        home.run(&[
            "--json",
            "region",
            "add",
            "r",
            "--pg-url",
            "embedded",
            "--storage-root",
            home.scratch("r").to_str().unwrap(),
            "--vault-root",
            &format!("http://key:{secret}@bucket/x"),
        ]),
    ];
    for out in runs {
        assert!(!out.status.success());
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(stderr.contains(":***@"), "the URL is shown redacted: {stderr}");
        assert!(!stdout.contains(secret) && !stderr.contains(secret), "stdout: {stdout}\nstderr: {stderr}");
        let doc: Value = serde_json::from_str(&stdout).unwrap();
        assert!(doc["error"]["code"].is_string());
    }
}

/// A SCRAM login on a cluster hubkeep runs for a stack "server", with the
/// password known only to the test.
struct Server {
    host_port: String,
    password: String,
}

fn scram_server(home: &Home) -> Server {
    home.json(&["stack", "create", "server", "--profile", "generic"]);
    let url = secret_url(home, "server");
    let host_port = url.split('@').nth(1).unwrap().split('/').next().unwrap().to_string();
    let su = home.json(&["param", "get", "/hubkeep/cluster/server/superuser-password"])["value"].as_str().unwrap().to_string();
    let mut c = postgres::Client::connect(&format!("postgresql://postgres:{su}@{host_port}/postgres"), postgres::NoTls).unwrap();
    let password = "pw-only-in-files-7Q2";
    c.batch_execute(&format!("CREATE ROLE legacy LOGIN PASSWORD '{password}'")).unwrap();
    c.batch_execute("CREATE DATABASE legacydb OWNER legacy").unwrap();
    let method: String = c.query_one("SELECT rolpassword FROM pg_authid WHERE rolname = 'legacy'", &[]).unwrap().get(0);
    assert!(method.starts_with("SCRAM-SHA-256$"), "the login is SCRAM");
    Server { host_port, password: password.to_string() }
}

/// The adopted stack logs in with the password from its source, yet the
/// password is nowhere in clear: not in the stack, not in the catalog.
fn assert_adopted_with_hidden_password(home: &Home, stack: &str, server: &Server, out: &std::process::Output) {
    assert!(out.status.success(), "adopting {stack}: {}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("process list"), "no warning when the password is not in argv: {stderr}");
    let shown = home.json(&["stack", "show", stack]);
    assert!(!shown.to_string().contains(&server.password));
    let arn = shown["outputs"]["database_secret_arn"].as_str().unwrap();
    assert_eq!(home.json(&["secret", "get", arn])["value"]["password"], server.password.as_str(), "the database secret holds the password");
    let catalog = std::fs::read(home.path().join("catalog.db")).unwrap();
    assert!(!catalog.windows(server.password.len()).any(|w| w == server.password.as_bytes()), "the catalog holds the password sealed only");
    home.json(&["db-snapshot", "create", stack]);
}

#[test]
fn a_database_password_comes_from_a_file_the_environment_or_a_passfile_never_argv() {
    require_root!();
    let home = Home::new();
    let server = scram_server(&home);
    let url = format!("postgres://legacy@{}/legacydb", server.host_port);
    let adopt = |stack: &str| {
        let storage = home.scratch(&format!("{stack}-files"));
        let mut c = home.cmd(&["--json", "stack", "adopt", stack, "--profile", "generic", "--database-url", &url, "--storage", storage.to_str().unwrap()]);
        c.env_remove("PGPASSWORD").env("PGPASSFILE", home.dir.path().join("no-passfile"));
        c
    };

    let pwfile = home.dir.path().join("db-password");
    std::fs::write(&pwfile, format!("{}\n", server.password)).unwrap();
    let out = adopt("viafile").arg("--database-password-file").arg(&pwfile).output().unwrap();
    assert_adopted_with_hidden_password(&home, "viafile", &server, &out);

    let out = adopt("viaenv").env("PGPASSWORD", &server.password).output().unwrap();
    assert_adopted_with_hidden_password(&home, "viaenv", &server, &out);

    let passfile = home.dir.path().join("pgpass");
    let (host, port) = server.host_port.rsplit_once(':').unwrap();
    std::fs::write(&passfile, format!("# hubs\n{host}:{port}:otherdb:legacy:wrong\n{host}:*:legacydb:legacy:{}\n", server.password)).unwrap();
    std::fs::set_permissions(&passfile, std::fs::Permissions::from_mode(0o644)).unwrap();
    let before = home.json(&["stack", "list"]);
    let out = adopt("viapass").env("PGPASSFILE", &passfile).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.lines().last().unwrap().contains(&format!("run `chmod 0600 {}`", passfile.display())), "{stderr}");
    assert_eq!(home.json(&["stack", "list"]), before, "a refused passfile leaves no record");
    std::fs::set_permissions(&passfile, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = adopt("viapass").env("PGPASSFILE", &passfile).output().unwrap();
    assert_adopted_with_hidden_password(&home, "viapass", &server, &out);

    // The password inside the URL still works, with a warning, and is
    // shown nowhere.
    let with_pw = format!("postgres://legacy:{}@{}/legacydb", server.password, server.host_port);
    let storage = home.scratch("inurl-files");
    let out = home.run(&["--json", "stack", "adopt", "inurl", "--profile", "generic", "--database-url", &with_pw, "--storage", storage.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("warning: the password in --database-url is visible to every user of this machine in the process list"), "{stderr}");
    assert!(!stderr.contains(&server.password) && !String::from_utf8_lossy(&out.stdout).contains(&server.password));

    // A rotated password reaches the secret only once it logs in.
    let wrong = home.dir.path().join("wrong-password");
    std::fs::write(&wrong, "not-it\n").unwrap();
    let (code, message, _) = home.fails(&["stack", "update", "viafile", "--database-password-file", wrong.to_str().unwrap()]);
    assert_eq!(code, "database", "{message}");
    assert!(message.contains("the database secret is unchanged") && !message.contains("not-it"), "{message}");
    home.json(&["stack", "update", "viafile", "--database-password-file", pwfile.to_str().unwrap()]);

    // Another stack's store, or a directory inside or around it, is refused.
    let taken = home.json(&["stack", "show", "viafile"])["outputs"]["storage_path"].as_str().unwrap().to_string();
    std::fs::create_dir_all(format!("{taken}/owned")).unwrap();
    let before = home.json(&["stack", "list"]);
    for overlapping in [taken.clone(), format!("{taken}/owned"), home.dir.path().to_str().unwrap().to_string()] {
        let (code, message, _) = home.fails(&[
            "stack",
            "adopt",
            "overlap",
            "--profile",
            "generic",
            "--database-url",
            &url,
            "--database-password-file",
            pwfile.to_str().unwrap(),
            "--storage",
            &overlapping,
        ]);
        assert_eq!(code, "invalid_storage", "{message}");
    }
    let (_, message, _) = home.fails(&[
        "stack",
        "adopt",
        "overlap",
        "--profile",
        "generic",
        "--database-url",
        &url,
        "--database-password-file",
        pwfile.to_str().unwrap(),
        "--storage",
        &format!("{taken}/owned"),
    ]);
    assert!(message.contains("overlaps the file store") && message.contains("of stack viafile"), "{message}");
    assert_eq!(home.json(&["stack", "list"]), before);
}
