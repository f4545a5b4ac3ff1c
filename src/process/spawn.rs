//! Starting a child with `posix_spawn` and waiting for it through a pidfd: the only
//! code of `ops` that calls the C library directly.
//!
//! std's `Command` was the cost of a task that does nothing: once a variable is set
//! for a child, it copies the whole environment of `ops` into a new map at every
//! spawn (75,000 instructions), and it opens `/dev/null` for each stdin. Here the environment is turned into C strings once per
//! process, `/dev/null` is opened once, and a spawn builds only the array of
//! pointers that `execve` takes. What the child gets is what std gives it: the
//! environment of `ops` with the spec's variables over it (the last of a name
//! wins), the working directory (changed to before `execve`, so a program given
//! with a `/` is relative to it), an empty signal mask, SIGPIPE at its default
//! (Rust ignores it, and an ignored signal survives `execve`), and, unless it is
//! given the terminal, its own process group and stdin on `/dev/null`.
//!
//! A dropped [`Child`] that was not waited for is killed and reaped: at once if it
//! is already gone, otherwise at a later spawn, so no zombie piles up in a long run.
#![allow(unsafe_code)]

use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd, RawFd};
use std::os::unix::ffi::{OsStrExt as _, OsStringExt as _};
use std::os::unix::process::ExitStatusExt as _;
use std::path::Path;
use std::process::ExitStatus;
use std::sync::{Mutex, OnceLock};

use nix::fcntl::{FcntlArg, OFlag, fcntl};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::net::unix::pipe;

/// What to start.
pub(super) struct Launch<'a> {
    /// A path to the program: absolute, or with a `/` and relative to `dir`.
    pub path: &'a OsStr,
    /// `argv[0]`: the program as the task wrote it.
    pub name: &'a str,
    pub args: &'a [String],
    pub dir: &'a Path,
    /// Set over the environment of `ops`; the last of a name wins.
    pub env: &'a [(&'a str, &'a OsStr)],
    /// Stdin on `/dev/null`, stdout and stderr on pipes, its own process group.
    /// Otherwise the child inherits all three and the process group of `ops`.
    pub piped: bool,
}

/// The read ends of a child's stdout and stderr.
pub(super) struct Pipes {
    pub stdout: pipe::Receiver,
    pub stderr: pipe::Receiver,
}

/// A started child, reaped by [`Child::wait`] (or, dropped, killed and reaped).
pub(super) struct Child {
    pid: libc::pid_t,
    /// Readable once the child has exited; `None` where the kernel has no pidfds
    /// (before Linux 5.3, or a sandbox that forbids them): SIGCHLD is waited for.
    pidfd: Option<AsyncFd<OwnedFd>>,
    reaped: bool,
}

impl Child {
    pub(super) fn id(&self) -> i32 {
        self.pid
    }

    /// Wait for the child to exit, and reap it.
    pub(super) async fn wait(&mut self) -> io::Result<ExitStatus> {
        if self.pidfd.is_none() {
            return self.wait_for_sigchld().await;
        }
        loop {
            if let Some(status) = self.try_wait()? {
                return Ok(status);
            }
            if let Some(pidfd) = &self.pidfd {
                pidfd.readable().await?.clear_ready();
            }
        }
    }

    async fn wait_for_sigchld(&mut self) -> io::Result<ExitStatus> {
        // Listening before looking: a SIGCHLD after the look is not missed.
        let mut sigchld = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::child())?;
        loop {
            if let Some(status) = self.try_wait()? {
                return Ok(status);
            }
            sigchld.recv().await;
        }
    }

    /// The child's status if it has exited (and it is reaped), without blocking.
    fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        if self.reaped {
            return Err(io::Error::other("the child was already reaped"));
        }
        let status = reap(self.pid)?;
        self.reaped = status.is_some();
        Ok(status)
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if self.reaped {
            return;
        }
        // SAFETY: `kill` takes no pointers; the pid is unreaped, so still ours.
        unsafe { libc::kill(self.pid, libc::SIGKILL) };
        if !matches!(reap(self.pid), Ok(Some(_))) {
            orphans().push(self.pid);
        }
    }
}

/// Children killed when dropped that were not gone yet, reaped at later spawns.
fn orphans() -> std::sync::MutexGuard<'static, Vec<libc::pid_t>> {
    static ORPHANS: Mutex<Vec<libc::pid_t>> = Mutex::new(Vec::new());
    ORPHANS.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// `waitpid(pid, WNOHANG)`: the status of a child that has exited, `None` for one
/// still running.
fn reap(pid: libc::pid_t) -> io::Result<Option<ExitStatus>> {
    let mut status = 0;
    loop {
        // SAFETY: `status` is a valid place for the status for the whole call.
        let got = unsafe { libc::waitpid(pid, &raw mut status, libc::WNOHANG) };
        match got {
            0 => return Ok(None),
            -1 if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted => {}
            -1 => return Err(io::Error::last_os_error()),
            _ => return Ok(Some(ExitStatus::from_raw(status))),
        }
    }
}

/// Start `launch`.
pub(super) fn spawn(launch: &Launch<'_>) -> io::Result<(Child, Option<Pipes>)> {
    orphans().retain(|&pid| !matches!(reap(pid), Ok(Some(_)) | Err(_)));
    let path = c_string(launch.path.as_bytes())?;
    let dir = c_string(launch.dir.as_os_str().as_bytes())?;
    let args = std::iter::once(launch.name)
        .chain(launch.args.iter().map(String::as_str))
        .map(|a| c_string(a.as_bytes()))
        .collect::<io::Result<Vec<_>>>()?;
    let overrides = overrides(launch.env)?;
    let argv = pointers(args.iter().map(CString::as_c_str));
    let envp = pointers(
        base_environment()
            .iter()
            .filter(|(name, _)| !overrides.iter().any(|(n, _)| *n == name.as_bytes()))
            .map(|(_, entry)| entry.as_c_str())
            .chain(overrides.iter().map(|(_, entry)| entry.as_c_str())),
    );
    let pipes = if launch.piped {
        Some((pipe_pair()?, pipe_pair()?))
    } else {
        None
    };

    let mut actions = FileActions::new()?;
    let mut attr = Attributes::new()?;
    let mut flags = libc::POSIX_SPAWN_SETSIGMASK | libc::POSIX_SPAWN_SETSIGDEF;
    if let Some(((_, out), (_, err))) = &pipes {
        actions.dup2(dev_null()?, 0)?;
        actions.dup2(out.as_raw_fd(), 1)?;
        actions.dup2(err.as_raw_fd(), 2)?;
        flags |= libc::POSIX_SPAWN_SETPGROUP;
    }
    actions.chdir(&dir)?;
    attr.set(flags)?;

    let mut pid: libc::pid_t = 0;
    // SAFETY: every pointer is valid until the call returns: `path`, `argv` and
    // `envp` (NUL-terminated arrays of C strings that `args`, `overrides` and the
    // base environment own), the file actions and attributes (initialised, destroyed
    // only when dropped after this).
    let code = unsafe {
        libc::posix_spawn(
            &raw mut pid,
            path.as_ptr(),
            &raw const actions.0,
            &raw const attr.0,
            argv.as_ptr(),
            envp.as_ptr(),
        )
    };
    if code != 0 {
        return Err(io::Error::from_raw_os_error(code));
    }
    // From here on, an error drops the child: it is killed and reaped.
    let mut child = Child {
        pid,
        pidfd: None,
        reaped: false,
    };
    child.pidfd = match pidfd_open(pid) {
        // SAFETY: an `OwnedFd` is open and stays the same descriptor while owned.
        Ok(fd) => Some(unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }?),
        Err(_) => None,
    };
    // The write ends are the child's now; the parent must not hold them open, or
    // the pipes never reach their end.
    let pipes = match pipes {
        Some(((stdout, _), (stderr, _))) => Some(Pipes {
            stdout: pipe::Receiver::from_owned_fd_unchecked(stdout)?,
            stderr: pipe::Receiver::from_owned_fd_unchecked(stderr)?,
        }),
        None => None,
    };
    Ok((child, pipes))
}

fn c_string(bytes: &[u8]) -> io::Result<CString> {
    CString::new(bytes).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "a NUL byte in an argument, a variable or the directory",
        )
    })
}

/// The spec's variables as `NAME=value`, each name once (its last value).
fn overrides<'a>(env: &[(&'a str, &OsStr)]) -> io::Result<Vec<(&'a [u8], CString)>> {
    let mut out: Vec<(&[u8], CString)> = Vec::with_capacity(env.len());
    for (i, (name, value)) in env.iter().enumerate() {
        if env[i + 1..].iter().any(|(later, _)| later == name) {
            continue;
        }
        let mut entry = Vec::with_capacity(name.len() + 1 + value.len());
        entry.extend_from_slice(name.as_bytes());
        entry.push(b'=');
        entry.extend_from_slice(value.as_bytes());
        out.push((name.as_bytes(), c_string(&entry)?));
    }
    Ok(out)
}

/// A NULL-terminated array of pointers to `strings`.
/// (`execve` takes `char *const[]`; nothing writes through them.)
fn pointers<'a>(strings: impl Iterator<Item = &'a std::ffi::CStr>) -> Vec<*mut libc::c_char> {
    strings
        .map(|s| s.as_ptr().cast_mut())
        .chain(std::iter::once(std::ptr::null_mut()))
        .collect()
}

/// The environment of `ops` as `NAME=value` C strings, read at the first spawn
/// (`ops` never changes its own environment).
fn base_environment() -> &'static [(OsString, CString)] {
    static BASE: OnceLock<Vec<(OsString, CString)>> = OnceLock::new();
    BASE.get_or_init(|| {
        std::env::vars_os()
            .filter_map(|(name, value)| {
                let mut entry = name.clone().into_vec();
                entry.push(b'=');
                entry.extend_from_slice(value.as_bytes());
                Some((name, CString::new(entry).ok()?))
            })
            .collect()
    })
}

/// `/dev/null`, opened once for every child's stdin.
fn dev_null() -> io::Result<RawFd> {
    static DEV_NULL: OnceLock<Result<OwnedFd, io::ErrorKind>> = OnceLock::new();
    match DEV_NULL.get_or_init(|| {
        std::fs::File::open("/dev/null")
            .map(OwnedFd::from)
            .map_err(|e| e.kind())
    }) {
        Ok(fd) => Ok(fd.as_raw_fd()),
        Err(kind) => Err(io::Error::new(*kind, "cannot open /dev/null")),
    }
}

/// A pipe whose read end (first) does not block and whose write end does (it is
/// the child's stdout or stderr); both close on `execve` (the child gets copies).
fn pipe_pair() -> io::Result<(OwnedFd, OwnedFd)> {
    let (read, write) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
    // A new pipe's status flags are O_RDONLY alone: no need to read them first.
    fcntl(&read, FcntlArg::F_SETFL(OFlag::O_NONBLOCK))?;
    Ok((read, write))
}

fn pidfd_open(pid: libc::pid_t) -> io::Result<OwnedFd> {
    // SAFETY: `pidfd_open` takes no pointers.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, libc::O_NONBLOCK) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let fd = RawFd::try_from(fd).map_err(io::Error::other)?;
    // SAFETY: the kernel just returned this descriptor, and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `posix_spawn_file_actions_t`, destroyed when dropped.
struct FileActions(libc::posix_spawn_file_actions_t);

impl FileActions {
    fn new() -> io::Result<Self> {
        // SAFETY: a zeroed value is a valid place for `init` to initialise.
        let mut actions = Self(unsafe { std::mem::zeroed() });
        // SAFETY: `actions.0` is a valid place; on success it is initialised.
        check(unsafe { libc::posix_spawn_file_actions_init(&raw mut actions.0) })?;
        Ok(actions)
    }

    fn dup2(&mut self, fd: RawFd, to: RawFd) -> io::Result<()> {
        // SAFETY: `self.0` is initialised; the call takes no other pointers.
        check(unsafe { libc::posix_spawn_file_actions_adddup2(&raw mut self.0, fd, to) })
    }

    fn chdir(&mut self, dir: &CString) -> io::Result<()> {
        // SAFETY: `self.0` is initialised; glibc copies `dir`.
        check(unsafe { libc::posix_spawn_file_actions_addchdir_np(&raw mut self.0, dir.as_ptr()) })
    }
}

impl Drop for FileActions {
    fn drop(&mut self) {
        // SAFETY: `self.0` was initialised by `new`, and is destroyed once.
        unsafe { libc::posix_spawn_file_actions_destroy(&raw mut self.0) };
    }
}

/// `posix_spawnattr_t` with an empty signal mask and SIGPIPE at its default,
/// destroyed when dropped.
struct Attributes(libc::posix_spawnattr_t);

impl Attributes {
    fn new() -> io::Result<Self> {
        // SAFETY: a zeroed value is a valid place for `init` to initialise.
        let mut attr = Self(unsafe { std::mem::zeroed() });
        // SAFETY: `attr.0` is a valid place; on success it is initialised.
        check(unsafe { libc::posix_spawnattr_init(&raw mut attr.0) })?;
        // SAFETY: zeroed `sigset_t`s are valid places for `sigemptyset`.
        let (mut empty, mut pipe): (libc::sigset_t, libc::sigset_t) = unsafe { std::mem::zeroed() };
        // SAFETY: each call gets initialised values or valid places for them.
        unsafe {
            libc::sigemptyset(&raw mut empty);
            libc::sigemptyset(&raw mut pipe);
            libc::sigaddset(&raw mut pipe, libc::SIGPIPE);
            check(libc::posix_spawnattr_setsigmask(
                &raw mut attr.0,
                &raw const empty,
            ))?;
            check(libc::posix_spawnattr_setsigdefault(
                &raw mut attr.0,
                &raw const pipe,
            ))?;
            check(libc::posix_spawnattr_setpgroup(&raw mut attr.0, 0))?;
        }
        Ok(attr)
    }

    fn set(&mut self, flags: libc::c_int) -> io::Result<()> {
        let flags = libc::c_short::try_from(flags).map_err(io::Error::other)?;
        // SAFETY: `self.0` is initialised.
        check(unsafe { libc::posix_spawnattr_setflags(&raw mut self.0, flags) })
    }
}

impl Drop for Attributes {
    fn drop(&mut self) {
        // SAFETY: `self.0` was initialised by `new`, and is destroyed once.
        unsafe { libc::posix_spawnattr_destroy(&raw mut self.0) };
    }
}

/// The `posix_spawn*` functions return an error number rather than setting `errno`.
fn check(code: libc::c_int) -> io::Result<()> {
    if code == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(code))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt as _;

    fn launch<'a>(args: &'a [String], env: &'a [(&'a str, &'a OsStr)], dir: &'a Path) -> Launch<'a> {
        Launch {
            path: OsStr::new("/bin/sh"),
            name: "sh",
            args,
            dir,
            env,
            piped: true,
        }
    }

    async fn output(args: &[String], env: &[(&str, &OsStr)], dir: &Path) -> (ExitStatus, String, String) {
        let (mut child, pipes) = spawn(&launch(args, env, dir)).unwrap();
        let Pipes {
            mut stdout,
            mut stderr,
        } = pipes.unwrap();
        let (mut out, mut err) = (String::new(), String::new());
        let (o, e) = tokio::join!(stdout.read_to_string(&mut out), stderr.read_to_string(&mut err));
        o.unwrap();
        e.unwrap();
        (child.wait().await.unwrap(), out, err)
    }

    fn script(s: &str) -> Vec<String> {
        vec!["-c".into(), s.into()]
    }

    #[tokio::test]
    async fn the_child_gets_the_environment_with_the_last_value_of_a_name_over_it() {
        let dir = std::env::temp_dir();
        let env = [
            ("OPS_SPAWN_A", OsStr::new("first")),
            ("OPS_SPAWN_A", OsStr::new("last")),
            ("HOME", OsStr::new("/elsewhere")),
        ];
        let (status, out, _) = output(
            &script("printf '%s %s %s' \"$OPS_SPAWN_A\" \"$HOME\" \"${PATH:+path}\""),
            &env,
            &dir,
        )
        .await;
        assert!(status.success());
        assert_eq!(out, "last /elsewhere path");
        let (_, out, _) = output(&script("env | grep -c '^HOME='"), &env, &dir).await;
        assert_eq!(
            out.trim(),
            "1",
            "a variable set over the environment is there once"
        );
    }

    #[tokio::test]
    async fn the_child_starts_in_its_directory_in_its_own_group_with_stdin_empty_and_sigpipe_default() {
        let dir = tempfile::tempdir().unwrap();
        let (status, out, err) = output(
            &script(
                "pwd; [ \"$(ps -o pgid= -p $$ | tr -d ' ')\" = $$ ] && echo own-group; \
                 cat; grep -E '^(SigBlk|SigIgn)' /proc/self/status; echo to-stderr >&2",
            ),
            &[],
            dir.path(),
        )
        .await;
        assert!(status.success(), "{err}");
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], dir.path().canonicalize().unwrap().to_str().unwrap());
        assert!(out.contains("own-group"), "{out}");
        assert!(out.contains("SigBlk:\t0000000000000000"), "{out}");
        // Bit n - 1 of the ignored set is signal n: SIGPIPE is 13.
        let ignored = out.lines().find_map(|l| l.strip_prefix("SigIgn:\t")).unwrap();
        let ignored = u64::from_str_radix(ignored, 16).unwrap();
        assert_eq!(ignored & (1 << 12), 0, "SIGPIPE is not ignored: {ignored:x}");
        assert_eq!(err, "to-stderr\n");
    }

    #[tokio::test]
    async fn exit_codes_and_signals_come_back() {
        let dir = std::env::temp_dir();
        let (status, _, _) = output(&script("exit 7"), &[], &dir).await;
        assert_eq!(status.code(), Some(7));
        let (status, _, _) = output(&script("kill -TERM $$"), &[], &dir).await;
        assert_eq!(status.signal(), Some(libc::SIGTERM));
    }

    #[tokio::test]
    async fn a_missing_program_or_directory_is_an_error_of_the_spawn() {
        let dir = std::env::temp_dir();
        let args = [];
        let mut missing = launch(&args, &[], &dir);
        missing.path = OsStr::new("/nonexistent/ops-no-such-program");
        assert_eq!(spawn(&missing).err().unwrap().kind(), io::ErrorKind::NotFound);
        let gone = dir.join("ops-no-such-directory");
        let in_gone = launch(&args, &[], &gone);
        assert_eq!(spawn(&in_gone).err().unwrap().kind(), io::ErrorKind::NotFound);
        let nul = ["a\0b".to_owned()];
        assert_eq!(
            spawn(&launch(&nul, &[], &dir)).err().unwrap().kind(),
            io::ErrorKind::InvalidInput
        );
    }

    #[tokio::test]
    async fn waiting_without_a_pidfd_listens_for_sigchld() {
        let dir = std::env::temp_dir();
        let args = script("sleep 0.2; exit 3");
        let (mut child, _) = spawn(&launch(&args, &[], &dir)).unwrap();
        child.pidfd = None;
        assert_eq!(child.wait().await.unwrap().code(), Some(3));
    }

    #[tokio::test]
    async fn a_dropped_child_is_killed_and_reaped() {
        let dir = std::env::temp_dir();
        let args = script("exec sleep 30");
        let (child, _) = spawn(&launch(&args, &[], &dir)).unwrap();
        let pid = child.id();
        drop(child);
        // Killed: reaped now, or by the next spawn.
        let args = script("true");
        let (mut next, _) = spawn(&launch(&args, &[], &dir)).unwrap();
        next.wait().await.unwrap();
        std::thread::sleep(std::time::Duration::from_millis(100));
        let _ = spawn(&launch(&args, &[], &dir)).unwrap().0.wait().await;
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "the dropped child {pid} is neither running nor a zombie"
        );
    }
}
