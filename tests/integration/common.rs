//! A small builder for running `ops` in a temporary repository.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::rc::Rc;

use tempfile::TempDir;

pub(crate) struct Test {
    dir: Rc<TempDir>,
    args: Vec<String>,
    env: Vec<(String, String)>,
}

pub(crate) struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub root: PathBuf,
    /// Keeps the directory alive as long as the result is looked at.
    _dir: Rc<TempDir>,
}

pub(crate) fn ops_bin() -> &'static str {
    env!("CARGO_BIN_EXE_ops")
}

impl Test {
    pub(crate) fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("ops-test")
            .tempdir()
            .expect("temp dir");
        std::fs::create_dir(dir.path().join("tasks")).expect("tasks dir");
        Self {
            dir: Rc::new(dir),
            args: Vec::new(),
            env: Vec::new(),
        }
    }

    /// Write `tasks/main.toml`.
    pub(crate) fn tasks(self, toml: &str) -> Self {
        self.file("tasks/main.toml", toml)
    }

    pub(crate) fn file(self, path: &str, contents: &str) -> Self {
        let full = self.dir.path().join(path);
        std::fs::create_dir_all(full.parent().expect("a parent")).expect("mkdir");
        std::fs::write(full, contents).expect("write");
        self
    }

    pub(crate) fn args(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(|a| (*a).to_owned()));
        self
    }

    pub(crate) fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    pub(crate) fn root(&self) -> &Path {
        self.dir.path()
    }

    pub(crate) fn command(&self) -> Command {
        self.command_with(&self.args.iter().map(String::as_str).collect::<Vec<_>>())
    }

    pub(crate) fn command_with(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(ops_bin());
        cmd.args(args)
            .current_dir(self.dir.path())
            .env("NO_COLOR", "1")
            .env_remove("CI")
            .env_remove("GITHUB_ACTIONS")
            .env_remove("FORGEJO_ACTIONS")
            .stdin(std::process::Stdio::null());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    pub(crate) fn run(&self) -> Ran {
        self.output(self.command())
    }

    /// Run with these arguments instead of the builder's.
    pub(crate) fn run_with(&self, args: &[&str]) -> Ran {
        self.output(self.command_with(args))
    }

    fn output(&self, mut cmd: Command) -> Ran {
        let Output {
            status,
            stdout,
            stderr,
        } = cmd.output().expect("run ops");
        Ran {
            code: status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
            root: self.dir.path().to_path_buf(),
            _dir: Rc::clone(&self.dir),
        }
    }
}

impl Ran {
    pub(crate) fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.root.join(path)).unwrap_or_default()
    }

    pub(crate) fn exists(&self, path: &str) -> bool {
        self.root.join(path).exists()
    }

    /// stdout parsed as JSON lines.
    pub(crate) fn events(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
            .collect()
    }

    /// stdout contains `needle` (the whole stdout is shown when it does not).
    #[track_caller]
    pub(crate) fn assert_stdout(&self, needle: &str) -> &Self {
        assert!(
            self.stdout.contains(needle),
            "stdout lacks {needle:?}:\n{}",
            self.stdout
        );
        self
    }

    #[track_caller]
    pub(crate) fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

/// Snapshot settings: durations and temp paths replaced by placeholders.
pub(crate) fn snapshot_settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"\(\d+\.\ds\)", "([T])");
    settings.add_filter(r" +(\d+m \d\ds|\d+\.\ds)\b", " [T]");
    settings.add_filter(r"/tmp/ops-test[^/\s]*", "[ROOT]");
    settings.set_prepend_module_to_snapshot(false);
    settings
}

/// Whether `tool` is on PATH. Outside CI a missing tool skips the test (saying so);
/// with `CI=true` it fails it, so CI never passes by skipping.
pub(crate) fn require_tool(tool: &str) -> bool {
    // On PATH, and it starts: a broken link or a binary for another machine does not count.
    let found = std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| {
            let file = dir.join(tool);
            file.is_file()
                && std::process::Command::new(&file)
                    .arg("--version")
                    .stdin(std::process::Stdio::null())
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .status()
                    .is_ok()
        })
    });
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "`{tool}` is required under CI=true; scripts/install-test-deps.sh installs it"
        );
        eprintln!("skipped: `{tool}` is not installed (scripts/install-test-deps.sh installs it)");
    }
    found
}

/// Copy the example, leaving out what runs leave behind.
pub(crate) fn copy_example(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        let name = name.to_str().unwrap();
        if name == ".ops" || name.starts_with("result") {
            continue;
        }
        let target = to.join(name);
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_example(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The repository this test binary was built from.
pub(crate) fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Running (a zombie waiting to be reaped by init does not count).
pub(crate) fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
    })
}

/// Wait (at most 20 s) for a file to exist with a complete last line; its content.
pub(crate) fn wait_for(path: &Path) -> String {
    let start = std::time::Instant::now();
    loop {
        if let Ok(text) = std::fs::read_to_string(path)
            && text.ends_with('\n')
        {
            return text;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(20),
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// A committer for the tests' git repositories (also given to `ops` when its tasks commit).
pub(crate) const GIT_IDENTITY: [(&str, &str); 4] = [
    ("GIT_AUTHOR_NAME", "ops tests"),
    ("GIT_AUTHOR_EMAIL", "ops@example.net"),
    ("GIT_COMMITTER_NAME", "ops tests"),
    ("GIT_COMMITTER_EMAIL", "ops@example.net"),
];

/// Run git in `dir`; it must succeed. Returns stdout, trimmed.
pub(crate) fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .envs(GIT_IDENTITY)
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// What a command run under a time limit printed, and how it ended.
pub(crate) struct Limited {
    pub(crate) status: std::process::ExitStatus,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// Run `command`, reading both pipes while it runs (a long report cannot fill one);
/// kill it and fail the test if it runs longer than 30 s (`what` names it).
pub(crate) fn run_limited(mut command: Command, what: &str) -> Limited {
    use std::io::Read as _;
    let mut child = command
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let reader = |mut pipe: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let stdout = reader(Box::new(child.stdout.take().unwrap()));
    let stderr = reader(Box::new(child.stderr.take().unwrap()));
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > std::time::Duration::from_secs(30) {
            let _ = child.kill();
            panic!("{what}: still running after 30 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    Limited {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

/// `ops` in a pseudo-terminal of its own (util-linux `script`, which needs
/// [`require_tool`]`("script")`): what is typed reaches its terminal, and the screen
/// is everything the terminal showed (input echoed, lines ending in `\r\n`).
pub(crate) struct Pty {
    child: std::process::Child,
    screen: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Pty {
    /// Start `ops ARGS` in `test`'s repository, with the environment `Test` gives it.
    pub(crate) fn spawn(test: &Test, args: &[&str]) -> Self {
        use std::io::Read as _;
        let ops = test.command_with(args);
        let line: Vec<String> = std::iter::once(ops.get_program())
            .chain(ops.get_args())
            .map(|word| format!("'{}'", word.to_string_lossy().replace('\'', r"'\''")))
            .collect();
        let mut script = Command::new("script");
        script
            .args(["-qec", &line.join(" "), "/dev/null"])
            .current_dir(test.root())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null());
        for (key, value) in ops.get_envs() {
            match value {
                Some(value) => script.env(key, value),
                None => script.env_remove(key),
            };
        }
        let mut child = script.spawn().expect("run script");
        let screen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut stdout = child.stdout.take().expect("piped");
        let reader = {
            let screen = std::sync::Arc::clone(&screen);
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = stdout.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    screen.lock().unwrap().extend_from_slice(&buf[..n]);
                }
            })
        };
        Self {
            child,
            screen,
            reader: Some(reader),
        }
    }

    /// What the terminal showed so far.
    pub(crate) fn screen(&self) -> String {
        String::from_utf8_lossy(&self.screen.lock().unwrap()).into_owned()
    }

    /// Wait (at most 30 s) until the terminal shows `text`.
    #[track_caller]
    pub(crate) fn wait_for(&self, text: &str) {
        let start = std::time::Instant::now();
        while !self.screen().contains(text) {
            assert!(
                start.elapsed() < std::time::Duration::from_secs(30),
                "the terminal never showed {text:?}:\n{}",
                self.screen()
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    /// Type `keys` at the terminal.
    pub(crate) fn send(&mut self, keys: &[u8]) {
        use std::io::Write as _;
        let stdin = self.child.stdin.as_mut().expect("piped");
        stdin.write_all(keys).expect("type at the terminal");
        stdin.flush().expect("type at the terminal");
    }

    /// Stop typing, wait (at most 30 s) for `ops` to end: its exit code and the screen.
    #[track_caller]
    pub(crate) fn finish(mut self) -> (Option<i32>, String) {
        drop(self.child.stdin.take());
        let start = std::time::Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait for script") {
                break status;
            }
            if start.elapsed() > std::time::Duration::from_secs(30) {
                let _ = self.child.kill();
                panic!("still running after 30 s:\n{}", self.screen());
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        (status.code(), self.screen())
    }
}
