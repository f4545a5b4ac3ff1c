//! `nix-build` on a real remote builder: `sshd` on a loopback port whose Nix
//! store is a directory of its own (a private mount namespace binds it over `/nix`),
//! so that with `max-jobs = 0` the build can only happen there.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{Test, require_tool};

/// A derivation with no inputs whose output differs per test run.
const IMAGE: &str = r#"{ nonce ? "" }:
builtins.derivation {
  name = "remote-image";
  system = builtins.currentSystem;
  builder = "/bin/sh";
  args = [ "-c" "echo built remotely ${nonce} > $out" ];
}
"#;

fn nonce() -> String {
    format!("{:?}", std::time::SystemTime::now()).replace(['{', '}', ' ', ':'], "")
}

/// `sshd` serving a Nix store of its own; stopped on drop.
struct Builder {
    dir: tempfile::TempDir,
    pid_file: PathBuf,
}

impl Builder {
    /// `None` when this machine cannot host one (outside CI only).
    fn start() -> Option<Self> {
        let sshd = Path::new("/usr/sbin/sshd");
        let root = std::process::Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
        if !sshd.exists() || !root || !require_tool("ssh-keygen") || !require_tool("unshare") {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "a Nix remote builder needs root and /usr/sbin/sshd under CI=true (scripts/install-test-deps.sh installs openssh-server)"
            );
            eprintln!("skipped: no sshd, or not root: no remote builder on this machine");
            return None;
        }
        let dir = tempfile::Builder::new().prefix("ops-builder").tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("nix")).unwrap();
        for key in ["host", "client"] {
            let status = Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(d.join(key))
                .status()
                .unwrap();
            assert!(status.success());
        }
        std::fs::copy(d.join("client.pub"), d.join("authorized_keys")).unwrap();
        let port = free_port();
        let pid_file = d.join("sshd.pid");
        std::fs::write(
            d.join("sshd_config"),
            format!(
                "ListenAddress 127.0.0.1\nPort {port}\nHostKey {host}\nAuthorizedKeysFile {keys}\n\
                 StrictModes no\nUsePAM no\nPermitRootLogin yes\nPidFile {pid}\n",
                host = d.join("host").display(),
                keys = d.join("authorized_keys").display(),
                pid = pid_file.display(),
            ),
        )
        .unwrap();
        std::fs::write(d.join("ssh_config"), ssh_config("builder", port, d)).unwrap();
        std::fs::create_dir_all("/run/sshd").unwrap();
        let status = Command::new("unshare")
            .args(["-m", "--propagation", "private", "sh", "-c"])
            .arg(format!(
                "mount --bind {} /nix && exec /usr/sbin/sshd -f {}",
                d.join("nix").display(),
                d.join("sshd_config").display()
            ))
            .status()
            .unwrap();
        assert!(status.success(), "sshd did not start");
        let builder = Self { dir, pid_file };
        // sshd forks into the background once it listens; its pid file says so.
        for _ in 0..100 {
            if builder.pid().is_some() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        assert!(builder.pid().is_some(), "sshd wrote no pid file");
        Some(builder)
    }

    fn pid(&self) -> Option<i32> {
        std::fs::read_to_string(&self.pid_file).ok()?.trim().parse().ok()
    }

    /// The `ssh -F` file naming `builder` (this sshd) and `deadbuilder` (a port no one listens on).
    fn ssh_options(&self) -> String {
        let config = self.dir.path().join("ssh_config");
        let mut text = std::fs::read_to_string(&config).unwrap();
        text.push_str(&ssh_config("deadbuilder", 1, self.dir.path()));
        std::fs::write(&config, text).unwrap();
        format!("-F {}", config.display())
    }

    /// The builder's own store directory (its `/nix/store`).
    fn store(&self) -> PathBuf {
        self.dir.path().join("nix/store")
    }
}

impl Drop for Builder {
    fn drop(&mut self) {
        if let Some(pid) = self.pid() {
            let _ = Command::new("kill").arg(pid.to_string()).status();
        }
    }
}

fn ssh_config(host: &str, port: u16, dir: &Path) -> String {
    format!(
        "Host {host}\n  HostName 127.0.0.1\n  Port {port}\n  User root\n  IdentityFile {key}\n  \
         StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n  \
         BatchMode yes\n  ConnectTimeout 5\n",
        key = dir.join("client").display()
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn repository(nonce: &str, builder: &str) -> Test {
    Test::new().file("image.nix", IMAGE).tasks(&format!(
        r#"
[tasks.build]
nix-build = {{ file = "image.nix", out-link = "result", args = {{ nonce = "{nonce}" }}, builders = "ssh://{builder} x86_64-linux", max-jobs = 0 }}
"#
    ))
}

#[test]
fn builds_only_on_the_remote_builder_and_copies_the_output_back() {
    if !require_tool("nix-build") {
        return;
    }
    let Some(builder) = Builder::start() else {
        return;
    };
    let test = repository(&nonce(), "builder")
        .env("NIX_SSHOPTS", &builder.ssh_options())
        .env("NIX_CONFIG", "substituters =");

    let plan = test.run_with(&["run", "build", "--dry-run"]);
    plan.assert_code(0);
    assert!(
        plan.stdout.contains("builds on ssh://builder only (max-jobs 0)"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("--builders 'ssh://builder x86_64-linux' --max-jobs 0"),
        "{}",
        plan.stdout
    );

    let diff = test.run_with(&["run", "build", "--diff"]);
    diff.assert_code(0);
    assert!(diff.stdout.contains("will be built"), "{}", diff.stdout);
    assert!(
        diff.stdout.contains("builder ssh://builder: answers"),
        "{}",
        diff.stdout
    );

    let applied = test.run_with(&["run", "build"]);
    applied.assert_code(0);
    assert!(
        applied.stdout.contains("-remote-image.drv on ssh://builder"),
        "{}",
        applied.stdout
    );
    let link = std::fs::read_link(test.root().join("result")).unwrap();
    let name = link.file_name().unwrap();
    // Built there, and copied here.
    let remote = builder.store().join(name);
    assert!(
        remote.exists(),
        "{} is not in the builder's store",
        remote.display()
    );
    assert!(
        std::fs::read_to_string(&link)
            .unwrap()
            .starts_with("built remotely")
    );
}

#[test]
fn a_builder_that_cannot_be_reached_is_named() {
    if !require_tool("nix-build") {
        return;
    }
    let Some(builder) = Builder::start() else {
        return;
    };
    let test = repository(&nonce(), "deadbuilder")
        .env("NIX_SSHOPTS", &builder.ssh_options())
        .env("NIX_CONFIG", "substituters =");

    let diff = test.run_with(&["run", "build", "--diff"]);
    diff.assert_code(1);
    assert!(
        diff.stdout
            .contains("builder ssh://deadbuilder cannot be reached"),
        "{}",
        diff.stdout
    );

    let applied = test.run_with(&["run", "build"]);
    applied.assert_code(1);
    assert!(
        applied
            .stdout
            .contains("builder ssh://deadbuilder cannot be reached"),
        "{}",
        applied.stdout
    );
    assert!(
        applied.stdout.contains("Connection refused"),
        "{}",
        applied.stdout
    );
    assert!(!test.root().join("result").exists());
}

#[test]
fn the_repository_default_applies_and_a_step_overrides_it() {
    let test = Test::new()
        .file("image.nix", IMAGE)
        .file(
            "ops.toml",
            "[settings]\nnix = { builders = \"ssh://far x86_64-linux\", max-jobs = 0 }\n",
        )
        .tasks(
            r#"
[tasks.remote]
nix-build = { file = "image.nix" }

[tasks.here]
nix-build = { file = "image.nix", builders = "", max-jobs = "auto" }
"#,
        );
    let remote = test.run_with(&["run", "remote", "--dry-run"]);
    remote.assert_code(0);
    assert!(
        remote.stdout.contains("builds on ssh://far only (max-jobs 0)"),
        "{}",
        remote.stdout
    );
    let here = test.run_with(&["run", "here", "--dry-run"]);
    here.assert_code(0);
    assert!(!here.stdout.contains("ssh://far"), "{}", here.stdout);
    assert!(here.stdout.contains("--max-jobs auto"), "{}", here.stdout);
}

#[test]
fn a_bad_max_jobs_points_at_the_value() {
    let ran = Test::new()
        .file("image.nix", IMAGE)
        .tasks("[tasks.build]\nnix-build = { file = \"image.nix\", max-jobs = -2 }\n")
        .args(&["run", "build"])
        .run();
    ran.assert_code(2);
    assert!(ran.stderr.contains("tasks/main.toml:2"), "{}", ran.stderr);
    assert!(ran.stderr.contains("give 0 or more"), "{}", ran.stderr);
}
