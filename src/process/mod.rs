//! The one place that spawns processes.
//!
//! Every child runs in its own process group, so a timeout, Ctrl-C or a failed
//! sibling stops the child *and* everything it started. Its stdin is `/dev/null`.
//! Output is read line by line (long lines are split, invalid UTF-8 replaced) and
//! handed to a sink; the tail of each stream is kept for error messages and
//! produced values.
//!
//! The exception is a child given the terminal ([`Spec::terminal`], an interactive
//! task): it inherits the stdin, stdout and stderr of `ops`, its output is neither
//! read nor kept, and it stays in the process group of `ops` (see [`run`] for why).

use std::os::unix::process::ExitStatusExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::Signal;
use nix::unistd::Pid;
use thiserror::Error;

use crate::redact::Redactor;
use stop::{GroupGuard, Target, terminate};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio_util::sync::CancellationToken;

mod spawn;
mod stop;

/// Longest line handed to the sink; longer output is split.
const MAX_LINE: usize = 64 * 1024;
/// How much of each stream is kept by default.
pub(crate) const TAIL: usize = 64 * 1024;
/// How long to keep reading after the child exited (a background grandchild may hold the pipe).
const DRAIN_GRACE: Duration = Duration::from_millis(500);

/// How long a child's streams may stay open before it is watched through a pidfd
/// rather than reaped when they end ([`Readers::exited`]).
const WATCH_AFTER: Duration = Duration::from_millis(20);

/// Which output stream a line came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Stream {
    Stdout,
    Stderr,
}

/// Receives every line a child prints.
pub(crate) type LineSink = Arc<dyn Fn(Stream, String) + Send + Sync>;

/// What to run.
#[derive(Clone, Debug)]
pub(crate) struct Spec {
    pub program: String,
    pub args: Vec<String>,
    pub dir: PathBuf,
    pub env: Vec<(String, String)>,
    pub timeout: Option<Duration>,
    /// How much of stdout to keep in [`Output::stdout_tail`] (the end of it).
    pub capture: usize,
    /// Send stdout lines to the sink (stderr always goes there). Off for commands
    /// whose output the step parses and reports in its own words.
    pub echo_stdout: bool,
    /// The run's secrets: a line too long to keep whole is never cut inside one.
    pub secrets: Option<Arc<Redactor>>,
    /// Told the process group of the child once it started (for the run journal).
    pub on_spawn: Option<SpawnHook>,
    /// Hand the child the terminal: the stdin, stdout and stderr of `ops`, not
    /// captured, in the process group of `ops`.
    pub terminal: bool,
}

/// Called with the process group id of each child started.
#[derive(Clone)]
pub(crate) struct SpawnHook(pub(crate) Arc<dyn Fn(i32) + Send + Sync>);

impl std::fmt::Debug for SpawnHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SpawnHook")
    }
}

impl Spec {
    pub(crate) fn new(program: impl Into<String>, args: Vec<String>, dir: PathBuf) -> Self {
        Self {
            program: program.into(),
            args,
            dir,
            env: Vec::new(),
            timeout: None,
            capture: TAIL,
            echo_stdout: true,
            secrets: None,
            on_spawn: None,
            terminal: false,
        }
    }

    /// Capture stdout without showing it.
    #[must_use]
    pub(crate) fn quiet(mut self) -> Self {
        self.echo_stdout = false;
        self
    }

    /// Keep up to `bytes` of stdout (for commands whose whole output is needed).
    #[must_use]
    pub(crate) fn capture(mut self, bytes: usize) -> Self {
        self.capture = bytes;
        self
    }

    /// Give the child the terminal (see [`Spec::terminal`]).
    #[must_use]
    pub(crate) fn on_terminal(mut self) -> Self {
        self.terminal = true;
        self
    }
}

/// A child that ran to the end (with any exit status).
#[derive(Debug)]
pub(crate) struct Output {
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub stdout_tail: String,
    pub stderr_tail: String,
    /// Stdout was longer than the spec's `capture`: `stdout_tail` is only its end.
    pub stdout_cut: bool,
}

impl Output {
    pub(crate) fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// `Ok` for exit code 0, an error naming the code or signal otherwise.
    pub(crate) fn check(self, program: &str) -> Result<Self, ProcessError> {
        if self.success() {
            return Ok(self);
        }
        let stderr_tail = last_lines(&self.stderr_tail, 20);
        Err(match self.signal {
            Some(signal) => ProcessError::Signal {
                program: program.to_owned(),
                signal: signal_name(signal),
                stderr_tail,
            },
            None => ProcessError::Exit {
                program: program.to_owned(),
                code: self.code.unwrap_or(-1),
                stderr_tail,
            },
        })
    }
}

#[derive(Debug, Error)]
pub(crate) enum ProcessError {
    #[error("`{program}` not found on PATH")]
    NotFound { program: String },
    #[error("cannot run `{program}`: its working directory {} does not exist", dir.display())]
    NoDirectory { program: String, dir: PathBuf },
    #[error("cannot start `{program}`: {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{program}` exited with code {code}")]
    Exit {
        program: String,
        code: i32,
        stderr_tail: String,
    },
    #[error("`{program}` was killed by {signal}")]
    Signal {
        program: String,
        signal: String,
        stderr_tail: String,
    },
    #[error("timed out after {}", humantime::format_duration(*.after))]
    Timeout { after: Duration },
    #[error("interrupted")]
    Cancelled,
}

impl ProcessError {
    /// The last lines of the child's stderr, when it ran.
    pub(crate) fn stderr_tail(&self) -> Option<&str> {
        match self {
            Self::Exit { stderr_tail, .. } | Self::Signal { stderr_tail, .. } if !stderr_tail.is_empty() => {
                Some(stderr_tail)
            }
            _ => None,
        }
    }

    /// Whether trying again could help.
    pub(crate) fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Exit { .. } | Self::Signal { .. } | Self::Timeout { .. }
        )
    }
}

/// The program to start: one given with a `/` as it is, any other the first found
/// on `PATH` (the spec's own, when it sets one, as the child would search it), or
/// `None`. Found programs are remembered (see [`find_on_path`]), so a thousand
/// tasks running `true` search for it once, and the child never searches.
fn resolve(spec: &Spec) -> Option<std::borrow::Cow<'_, std::ffi::OsStr>> {
    if spec.program.contains('/') {
        return Some(std::borrow::Cow::Borrowed(std::ffi::OsStr::new(&spec.program)));
    }
    let found = match spec.env.iter().rev().find(|(k, _)| k == "PATH") {
        Some((_, path)) => find_on_path(&spec.program, std::ffi::OsStr::new(path)),
        None => find_on_path(&spec.program, own_path()),
    };
    found.map(|p| std::borrow::Cow::Owned(p.into_os_string()))
}

/// The `PATH` of `ops`, read once (`ops` never changes its own environment).
pub(crate) fn own_path() -> &'static std::ffi::OsStr {
    static PATH: std::sync::OnceLock<std::ffi::OsString> = std::sync::OnceLock::new();
    PATH.get_or_init(|| std::env::var_os("PATH").unwrap_or_default())
}

/// The first executable file named `program` in the directories of `path` (a
/// `PATH` value), as a spawn would find it. What is found is remembered for the
/// process (`ops doctor` and the checks before a run ask once per task, and a
/// thousand tasks may run the same program); what is not is looked for again (an
/// earlier task may install it).
pub(crate) fn find_on_path(program: &str, path: &std::ffi::OsStr) -> Option<PathBuf> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    // By `PATH`, then by program: looked up without making a key (with foldhash:
    // SipHash of a long `PATH` cost more than the rest of the look-up).
    type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;
    type Found = Map<std::ffi::OsString, Map<String, PathBuf>>;
    static FOUND: OnceLock<Mutex<Found>> = OnceLock::new();
    let cache = FOUND.get_or_init(Mutex::default);
    if let Some(found) = cache.lock().ok().and_then(|c| c.get(path)?.get(program).cloned()) {
        return Some(found);
    }
    let found = std::env::split_paths(path)
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))?;
    if let Ok(mut c) = cache.lock() {
        c.entry(path.to_owned())
            .or_default()
            .insert(program.to_owned(), found.clone());
    }
    Some(found)
}

/// A file with an execute bit in its mode (what a spawn by path needs).
pub(crate) fn is_executable(file: &std::path::Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(file).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The path of the running `ops`, looked up once.
fn own_executable() -> Option<&'static std::path::Path> {
    static EXE: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    EXE.get_or_init(|| std::env::current_exe().ok()).as_deref()
}

/// Run `spec` to completion, or until its timeout or `cancel`, streaming lines to `sink`.
///
/// A child given the terminal stays in the process group of `ops` rather than in
/// one of its own: only the terminal's foreground process group may read from it
/// (any other gets SIGTTIN and stops), and `ops` is that group when run from a
/// shell. The alternative, making the child's group the foreground one with
/// `tcsetpgrp` and taking the terminal back afterwards, would also need `ops` to
/// handle SIGTTOU, a child stopped by Ctrl-Z and a crash that leaves the terminal
/// to the child. In the shared group, Ctrl-C reaches the child straight from the
/// terminal (and `ops`, which cancels the run); a timeout or a cancellation signals
/// the child and the processes below it one by one (as `/proc` lists them), never
/// the group, which would stop `ops` itself.
pub(crate) async fn run(
    spec: &Spec,
    sink: &LineSink,
    cancel: &CancellationToken,
) -> Result<Output, ProcessError> {
    let mut env: Vec<(&str, &std::ffi::OsStr)> = Vec::with_capacity(spec.env.len() + 1);
    if let Some(exe) = own_executable() {
        // Like make's $(MAKE): a task can call the ops that runs it (`"$OPS" lint`).
        env.push(("OPS", exe.as_os_str()));
    }
    env.extend(
        spec.env
            .iter()
            .map(|(k, v)| (k.as_str(), std::ffi::OsStr::new(v))),
    );
    let Some(path) = resolve(spec) else {
        return Err(if spec.dir.is_dir() {
            ProcessError::NotFound {
                program: spec.program.clone(),
            }
        } else {
            ProcessError::NoDirectory {
                program: spec.program.clone(),
                dir: spec.dir.clone(),
            }
        });
    };
    let launch = spawn::Launch {
        path: &path,
        name: &spec.program,
        args: &spec.args,
        dir: &spec.dir,
        env: &env,
        piped: !spec.terminal,
    };
    let (mut child, pipes) = spawn::spawn(&launch).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound && !spec.dir.is_dir() {
            ProcessError::NoDirectory {
                program: spec.program.clone(),
                dir: spec.dir.clone(),
            }
        } else if source.kind() == std::io::ErrorKind::NotFound {
            ProcessError::NotFound {
                program: spec.program.clone(),
            }
        } else {
            ProcessError::Spawn {
                program: spec.program.clone(),
                source,
            }
        }
    })?;
    let pid = Pid::from_raw(child.id());
    let target = Some(if spec.terminal {
        Target::Process(pid)
    } else {
        Target::Group(pid)
    });
    // Should this future be dropped before the child is done with (the runner gave up
    // on the step), the whole group is killed, not only the direct child (a child on
    // the terminal: it and what it started).
    let mut guard = GroupGuard(target);
    // The journal records process groups to stop after a crash; a child on the
    // terminal has none of its own (its group is that of `ops`, or of the shell).
    if let (Some(hook), Some(Target::Group(pgid))) = (&spec.on_spawn, target) {
        (hook.0)(pgid.as_raw());
    }
    let (stdout, stderr) = match pipes {
        Some(spawn::Pipes { stdout, stderr }) => (Some(stdout), Some(stderr)),
        None => (None, None),
    };
    // Both streams are read in this future, beside the wait: a task of their own
    // each cost more than the reading of a quiet child.
    let stdout_sink: LineSink = if spec.echo_stdout {
        Arc::clone(sink)
    } else {
        Arc::new(|_, _| {})
    };
    let stdout = std::pin::pin!(read_stream(
        stdout,
        Stream::Stdout,
        stdout_sink,
        spec.capture,
        spec.secrets.clone(),
    ));
    let stderr = std::pin::pin!(read_stream(
        stderr,
        Stream::Stderr,
        Arc::clone(sink),
        TAIL,
        spec.secrets.clone(),
    ));
    let mut readers = Readers {
        stdout,
        stderr,
        stdout_kept: None,
        stderr_kept: None,
    };

    let stopped = tokio::select! {
        status = readers.exited(&mut child) => Ok(status),
        () = deadline(spec.timeout) => Err(ProcessError::Timeout { after: spec.timeout.unwrap_or_default() }),
        () = cancel.cancelled() => Err(ProcessError::Cancelled),
    };
    let status = match stopped {
        Ok(status) => status.map_err(|source| ProcessError::Spawn {
            program: spec.program.clone(),
            source,
        })?,
        Err(reason) => {
            // What the child prints while it stops still reaches the sink.
            readers.alongside(terminate(&mut child, target)).await;
            guard.0 = None;
            return Err(reason);
        }
    };
    guard.0 = None;
    if spec.terminal && status.signal() == Some(Signal::SIGINT as i32) {
        // Ctrl-C at the terminal reached the child, and `ops` too, which may not
        // have seen it yet: the run is interrupted, the child did not fail.
        return Err(ProcessError::Cancelled);
    }
    let ((stdout_tail, stdout_cut), (stderr_tail, _)) = readers.finish().await;
    Ok(Output {
        code: status.code(),
        signal: status.signal(),
        stdout_tail,
        stderr_tail,
        stdout_cut,
    })
}

/// Ready when `timeout` has passed; never without one.
async fn deadline(timeout: Option<Duration>) {
    match timeout {
        Some(t) => tokio::time::sleep(t).await,
        None => std::future::pending().await,
    }
}

/// What a reader kept of its stream, and whether it had to drop the beginning.
type Kept = (String, bool);

/// The readers of a child's two streams, polled beside whatever the run waits for.
struct Readers<'a, O: Future<Output = Kept>, E: Future<Output = Kept>> {
    stdout: std::pin::Pin<&'a mut O>,
    stderr: std::pin::Pin<&'a mut E>,
    stdout_kept: Option<Kept>,
    stderr_kept: Option<Kept>,
}

impl<O: Future<Output = Kept>, E: Future<Output = Kept>> Readers<'_, O, E> {
    /// Run `until` to its end, reading both streams meanwhile.
    async fn alongside<T>(&mut self, until: impl Future<Output = T>) -> T {
        let mut until = std::pin::pin!(until);
        loop {
            tokio::select! {
                biased;
                kept = &mut self.stdout, if self.stdout_kept.is_none() => self.stdout_kept = Some(kept),
                kept = &mut self.stderr, if self.stderr_kept.is_none() => self.stderr_kept = Some(kept),
                value = &mut until => return value,
            }
        }
    }

    /// Read both streams until the child has exited, and reap it. A child whose
    /// streams have both ended has nearly always exited too, and is reaped then
    /// without a pidfd (none made, registered and closed for it: four system
    /// calls fewer per task). One whose streams stay open, because it runs on or
    /// a background grandchild holds them, is watched through its pidfd after
    /// [`WATCH_AFTER`].
    async fn exited(&mut self, child: &mut spawn::Child) -> std::io::Result<std::process::ExitStatus> {
        let at = crate::coarse::coarse(std::time::Instant::now() + WATCH_AFTER);
        let mut watch = std::pin::pin!(tokio::time::sleep_until(at.into()));
        loop {
            if self.stdout_kept.is_some() && self.stderr_kept.is_some() {
                if let Some(status) = child.try_wait()? {
                    return Ok(status);
                }
                break;
            }
            tokio::select! {
                biased;
                kept = &mut self.stdout, if self.stdout_kept.is_none() => self.stdout_kept = Some(kept),
                kept = &mut self.stderr, if self.stderr_kept.is_none() => self.stderr_kept = Some(kept),
                () = &mut watch => break,
            }
        }
        self.alongside(child.wait()).await
    }

    /// Both streams to their end, or what they kept after [`DRAIN_GRACE`] (a
    /// background grandchild may hold a pipe open): a stream still open then counts
    /// as empty.
    async fn finish(mut self) -> (Kept, Kept) {
        let mut grace = std::pin::pin!(tokio::time::sleep(DRAIN_GRACE));
        while self.stdout_kept.is_none() || self.stderr_kept.is_none() {
            tokio::select! {
                biased;
                kept = &mut self.stdout, if self.stdout_kept.is_none() => self.stdout_kept = Some(kept),
                kept = &mut self.stderr, if self.stderr_kept.is_none() => self.stderr_kept = Some(kept),
                () = &mut grace => break,
            }
        }
        (
            self.stdout_kept.unwrap_or_default(),
            self.stderr_kept.unwrap_or_default(),
        )
    }
}

/// [`read_lines`] of a stream the child has (nothing kept for one it has not).
async fn read_stream(
    reader: Option<tokio::net::unix::pipe::Receiver>,
    stream: Stream,
    sink: LineSink,
    keep: usize,
    secrets: Option<Arc<Redactor>>,
) -> Kept {
    match reader {
        Some(reader) => read_lines(reader, stream, sink, keep, secrets).await,
        None => (String::new(), false),
    }
}

async fn read_lines(
    mut reader: impl AsyncRead + Unpin,
    stream: Stream,
    sink: LineSink,
    keep: usize,
    secrets: Option<Arc<Redactor>>,
) -> (String, bool) {
    let mut pending: Vec<u8> = Vec::new();
    let mut tail = String::new();
    let mut cut_front = false;
    // `ended`: the line ended with a newline (not cut because it was too long), so
    // the kept output has one there too.
    let emit = |bytes: &[u8], ended: bool, tail: &mut String, cut_front: &mut bool| {
        let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
        let line = String::from_utf8_lossy(bytes).into_owned();
        tail.push_str(&line);
        if ended {
            tail.push('\n');
        }
        if tail.len() > 2 * keep {
            let cut = tail.len() - keep;
            let cut = (cut..tail.len())
                .find(|&i| tail.is_char_boundary(i))
                .unwrap_or(cut);
            tail.drain(..cut);
            *cut_front = true;
        }
        sink(stream, line);
    };
    loop {
        // Read straight into what is pending, into capacity that is never zeroed: most
        // tasks write a line or nothing, and a zeroed buffer per stream was a tenth of
        // the instructions a no-op task cost.
        pending.reserve(16 * 1024);
        match reader.read_buf(&mut pending).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let mut start = 0;
        while let Some(pos) = pending[start..].iter().position(|&b| b == b'\n') {
            emit(&pending[start..start + pos], true, &mut tail, &mut cut_front);
            start += pos + 1;
        }
        pending.drain(..start);
        // A secret around the cut is kept whole in the first piece: wait until it can
        // be complete (the longest secret past the cut) before cutting.
        let slack = secrets.as_ref().map_or(0, |s| s.longest());
        while pending.len() >= MAX_LINE + slack {
            let cut = secrets
                .as_ref()
                .map_or(MAX_LINE, |s| s.cut_at(&pending, MAX_LINE));
            let rest = pending.split_off(cut);
            emit(&pending, false, &mut tail, &mut cut_front);
            pending = rest;
        }
    }
    if !pending.is_empty() {
        emit(&pending, false, &mut tail, &mut cut_front);
    }
    if tail.len() > keep {
        let cut = tail.len() - keep;
        let cut = (cut..tail.len())
            .find(|&i| tail.is_char_boundary(i))
            .unwrap_or(cut);
        tail.drain(..cut);
        cut_front = true;
    }
    (tail, cut_front)
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn signal_name(signal: i32) -> String {
    Signal::try_from(signal).map_or_else(|_| format!("signal {signal}"), |s| s.as_str().to_owned())
}

/// Run a short command to completion and return its stdout, for commands that are
/// not tasks (`ops lint --hook` asking git what a commit deletes): no streaming, no
/// process group, no timeout.
pub(crate) fn stdout_of(program: &str, args: &[&str], dir: &Path) -> Result<String, ProcessError> {
    let output = std::process::Command::new(program)
        .args(args)
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => ProcessError::NotFound {
                program: program.to_owned(),
            },
            _ => ProcessError::Spawn {
                program: program.to_owned(),
                source,
            },
        })?;
    if !output.status.success() {
        return Err(ProcessError::Exit {
            program: program.to_owned(),
            code: output.status.code().unwrap_or(-1),
            stderr_tail: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn sh(script: &str, timeout: Option<Duration>) -> Result<Output, ProcessError> {
        let mut spec = Spec::new("sh", vec!["-c".into(), script.into()], std::env::temp_dir());
        spec.timeout = timeout;
        let sink: LineSink = Arc::new(|_, _| {});
        run(&spec, &sink, &CancellationToken::new()).await
    }

    #[tokio::test]
    async fn a_child_that_ends_with_its_streams_is_reaped_with_its_status_and_output() {
        let out = sh("echo out; echo err >&2; exit 3", None).await.unwrap();
        assert_eq!(out.code, Some(3));
        assert_eq!(out.stdout_tail, "out\n");
        assert_eq!(out.stderr_tail, "err\n");
    }

    #[tokio::test]
    async fn a_child_that_closes_its_streams_and_runs_on_is_waited_for() {
        // Both streams end long before the child does.
        let out = sh("echo before; exec >/dev/null 2>&1; sleep 0.3; exit 4", None)
            .await
            .unwrap();
        assert_eq!(out.code, Some(4));
        assert_eq!(out.stdout_tail, "before\n");
    }

    #[tokio::test]
    async fn a_child_gone_while_a_grandchild_holds_its_streams_is_reaped() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("grandchild");
        let script = format!("sleep 30 & echo $! > {}; exit 5", pid_file.display());
        let out = sh(&script, None).await.unwrap();
        assert_eq!(out.code, Some(5));
        let grandchild: i32 = std::fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // The run came back while the grandchild still held the streams.
        let alive = nix::sys::signal::kill(Pid::from_raw(grandchild), None).is_ok();
        let _ = nix::sys::signal::kill(Pid::from_raw(grandchild), Signal::SIGKILL);
        assert!(alive, "the grandchild ended first: nothing was tested");
    }

    #[tokio::test]
    async fn a_timeout_stops_a_child_whose_streams_have_ended() {
        let err = sh("exec >/dev/null 2>&1; sleep 30", Some(Duration::from_millis(200)))
            .await
            .unwrap_err();
        assert!(matches!(err, ProcessError::Timeout { .. }), "{err:?}");
    }
}
