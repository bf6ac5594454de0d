//! Records the git commit hubkeep is built from, so `hubkeep --version`
//! (and benchmark reports) name the exact build; and renders the man pages
//! from the command definition itself (src/cli.rs): `hubkeep.1` and one
//! page per subcommand (`hubkeep-stack-create.1`, …) in `$OUT_DIR/man`,
//! which `scripts/setup.sh install` copies into the system's man path.

#[allow(dead_code)]
#[path = "src/cli.rs"]
mod cli;

use clap::CommandFactory;

fn main() -> std::io::Result<()> {
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=HUBKEEP_COMMIT={commit}");
    println!("cargo:rerun-if-changed=../../.git/HEAD");
    println!("cargo:rerun-if-changed=../../.git/refs/heads");
    println!("cargo:rerun-if-changed=src/cli.rs");

    let man = std::path::PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("man");
    std::fs::create_dir_all(&man)?;
    // clap takes a 'static version; this short-lived build script can lend it one.
    let version: &'static str = format!("{} ({commit})", env!("CARGO_PKG_VERSION")).leak();
    clap_mangen::generate_to(cli::Cli::command().version(version), &man)
}
