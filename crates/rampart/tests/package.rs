//! The Debian package as an operator meets it: built by cargo-deb around
//! this test's own `rampart` binary, installed on this machine with dpkg,
//! its systemd unit checked by systemd-analyze, the installed binary run as
//! the `rampart` user with the installed configuration, an upgrade that
//! keeps the operator's edits, and a purge that leaves nothing behind.
//!
//! The binary is the test build, not a release build: cargo-deb refuses the
//! dev profile, so the test stages it where `--no-build` looks. What is under
//! test is the package around the binary (its files, unit, config,
//! maintainer scripts), and a release build would add ten minutes to every
//! run for no check the package makes.
//!
//! Needs root (dpkg) and cargo-deb, which scripts/test installs.

#![allow(clippy::unwrap_used)]

mod util;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use util::{Reaped, bin, client, eventually, spawn_listening};

fn cargo_deb() -> PathBuf {
    util::cached_tool("CARGO_DEB_BIN", "cargo-deb/bin/cargo-deb", "cargo install cargo-deb")
}

fn run(command: &mut Command) -> Output {
    let output = command.output().unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn stdout(command: &mut Command) -> String {
    String::from_utf8(run(command).stdout).unwrap()
}

fn installed() -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f", "${Status}", "rampart"])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("ok installed"))
}

/// Purges the package when the test ends, passed or failed.
struct Purge;

impl Drop for Purge {
    fn drop(&mut self) {
        let _ = Command::new("dpkg").args(["--purge", "rampart"]).output();
    }
}

/// cargo-deb's package of the test binary, written to `dir`.
fn build_package(dir: &Path) -> PathBuf {
    let staged = dir.join("target/release");
    std::fs::create_dir_all(&staged).unwrap();
    std::fs::copy(bin(), staged.join("rampart")).unwrap();
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let deb = dir.join("rampart.deb");
    run(Command::new(cargo_deb())
        .args(["--manifest-path", manifest.to_str().unwrap(), "--no-build", "--no-strip", "--fast"])
        .args(["--output", deb.to_str().unwrap()])
        .env("CARGO_TARGET_DIR", dir.join("target")));
    deb
}

#[test]
fn the_deb_installs_a_sandboxed_service_that_runs_from_its_installed_paths() {
    assert_eq!(rustix::process::geteuid().as_raw(), 0, "dpkg needs root (as on the CI machine)");
    assert!(!installed(), "a rampart package is already installed here; this test would replace it");
    let dir = tempfile::tempdir().unwrap();
    let deb = build_package(dir.path());

    // What the package carries.
    let contents = stdout(Command::new("dpkg-deb").arg("--contents").arg(&deb));
    for path in [
        "./usr/bin/rampart",
        "./etc/rampart/rampart.toml",
        "rampart.service",
        "./usr/share/doc/rampart/INSTALL.md",
        "./usr/share/doc/rampart/copyright",
        "./usr/share/doc/rampart/examples/rampart.toml",
    ] {
        assert!(contents.contains(path), "{path} is not in the package:\n{contents}");
    }
    let depends = stdout(Command::new("dpkg-deb").args(["--field"]).arg(&deb).arg("Depends"));
    for library in ["libsqlite3", "libpcap", "adduser"] {
        assert!(depends.contains(library), "Depends lacks {library}: {depends}");
    }
    let conffiles = stdout(Command::new("dpkg-deb").arg("--info").arg(&deb).arg("conffiles"));
    assert!(conffiles.contains("/etc/rampart/rampart.toml"), "{conffiles}");

    let _purge = Purge;
    run(Command::new("dpkg").arg("--install").arg(&deb));
    assert!(installed());

    // The unit: valid as systemd reads it, and sandboxed.
    let unit = ["/lib/systemd/system/rampart.service", "/usr/lib/systemd/system/rampart.service"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("the unit is installed");
    let verify = Command::new("systemd-analyze").args(["verify", unit]).output().unwrap();
    let verify_err = String::from_utf8_lossy(&verify.stderr);
    assert!(verify.status.success(), "systemd-analyze verify: {verify_err}");
    assert!(!verify_err.contains("rampart.service"), "systemd-analyze verify complains: {verify_err}");
    let security =
        Command::new("systemd-analyze").args(["security", "--offline=yes", "--no-pager", unit]).output().unwrap();
    let report = String::from_utf8_lossy(&security.stdout);
    let exposure: f64 = report
        .lines()
        .find_map(|l| l.split("Overall exposure level for rampart.service: ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in:\n{report}\n{}", String::from_utf8_lossy(&security.stderr)));
    // systemd's scale: 0 safe … 10 unsafe; an unsandboxed service scores 9.6.
    assert!(exposure <= 3.0, "the unit's exposure is {exposure}:\n{report}");

    // The user and its private state directory.
    run(Command::new("getent").args(["passwd", "rampart"]));
    let state = std::fs::metadata("/var/lib/rampart").unwrap();
    assert_eq!(state.permissions().mode() & 0o777, 0o700);
    let uid = stdout(Command::new("id").args(["-u", "rampart"])).trim().parse::<u32>().unwrap();
    assert_eq!(state.uid(), uid, "/var/lib/rampart belongs to rampart");

    // The installed binary with the installed config, as the service's user
    // (the port is the one override: other tests share this machine).
    let as_rampart = |args: &[&str]| {
        let mut command = Command::new("setpriv");
        command.args(["--reuid", "rampart", "--regid", "rampart", "--init-groups", "/usr/bin/rampart"]);
        command.args(["--config", "/etc/rampart/rampart.toml"]).args(args).current_dir("/var/lib/rampart");
        command
    };
    let mut serve = as_rampart(&["--log-format", "json", "serve", "--listen", "127.0.0.1:0"]);
    serve.env_remove("RAMPART_ADMIN_TOKEN");
    let (child, addr, _, stderr) = spawn_listening(serve, "Rampart is listening.");
    let server = Reaped(child);
    eventually(30, "the journal source to start", || {
        stderr.lock().unwrap().iter().any(|l| l.contains("Following the systemd journal.")).then_some(())
    });
    // An operator's first token, made beside the running service (INSTALL.md).
    let token = stdout(&mut as_rampart(&["token", "create", "--name", "operator", "--role", "admin"]));
    let token = token.trim().to_owned();
    let stats = eventually(60, "host metrics in the installed store", || {
        let response = client().get(format!("http://{addr}/api/v1/stats")).bearer_auth(&token).send().ok()?;
        let body: serde_json::Value = response.json().ok()?;
        (body["events"]["by_kind"]["metric"].as_u64()? > 0).then_some(body)
    });
    assert!(stats["events"]["total"].as_u64().unwrap() > 0);
    drop(server);
    for entry in std::fs::read_dir("/var/lib/rampart").unwrap() {
        let meta = entry.unwrap().metadata().unwrap();
        assert_eq!(meta.uid(), uid, "everything in the state directory belongs to rampart");
        if meta.is_file() {
            assert_eq!(meta.permissions().mode() & 0o077, 0, "state files are private");
        }
    }

    // An upgrade (here the same package again) keeps the operator's edits.
    let mut edited = std::fs::read_to_string("/etc/rampart/rampart.toml").unwrap();
    edited.push_str("\n# edited by the operator\n");
    std::fs::write("/etc/rampart/rampart.toml", &edited).unwrap();
    run(Command::new("dpkg").args(["--install", "--force-confold"]).arg(&deb));
    assert_eq!(std::fs::read_to_string("/etc/rampart/rampart.toml").unwrap(), edited);
    assert!(Path::new("/var/lib/rampart/rampart.db").exists(), "an upgrade keeps the store");

    // Purge: the binary, the config and the stored data go.
    run(Command::new("dpkg").args(["--purge", "rampart"]));
    assert!(!installed());
    for gone in ["/usr/bin/rampart", "/etc/rampart/rampart.toml", "/var/lib/rampart", unit] {
        assert!(!Path::new(gone).exists(), "{gone} is left after purge");
    }
}
