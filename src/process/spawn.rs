//! Starting a child (`clone` and `execve`, the way `posix_spawn` does it, but
//! cheaper: see [`clone_and_exec`]), reaping it, and waiting for it through a pidfd
//! when it outlives its streams: the only code of `ops` that calls the C library
//! directly.
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
use std::sync::atomic::{AtomicI32, Ordering};
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
    /// Readable once the child has exited: made by the first [`Child::wait`], as
    /// most children are reaped without one ([`Child::try_wait`] once their
    /// streams end).
    pidfd: Option<AsyncFd<OwnedFd>>,
    /// The kernel makes no pidfds (before Linux 5.3, or a sandbox that forbids
    /// them): SIGCHLD is waited for.
    no_pidfd: bool,
    reaped: bool,
}

impl Child {
    pub(super) fn id(&self) -> i32 {
        self.pid
    }

    /// Wait for the child to exit, and reap it.
    pub(super) async fn wait(&mut self) -> io::Result<ExitStatus> {
        if self.pidfd.is_none() && !self.no_pidfd && !self.reaped {
            // The pid is unreaped, so still this child's.
            match pidfd_open(self.pid) {
                // SAFETY: an `OwnedFd` is open and stays the same descriptor while owned.
                Ok(fd) => {
                    self.pidfd = Some(unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }?);
                }
                Err(_) => self.no_pidfd = true,
            }
        }
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
    pub(super) fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
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
    waitpid(pid, libc::WNOHANG)
}

/// `waitpid`, again when a signal interrupted it.
fn waitpid(pid: libc::pid_t, flags: libc::c_int) -> io::Result<Option<ExitStatus>> {
    let mut status = 0;
    loop {
        // SAFETY: `status` is a valid place for the status for the whole call.
        let got = unsafe { libc::waitpid(pid, &raw mut status, flags) };
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
    let envp = environment(&overrides);
    let pipes = if launch.piped {
        Some((pipe_pair()?, pipe_pair()?))
    } else {
        None
    };

    let stdio = match &pipes {
        Some(((_, out), (_, err))) => Some([dev_null()?, out.as_raw_fd(), err.as_raw_fd()]),
        None => None,
    };
    let pid = clone_and_exec(&Plan {
        path: path.as_ptr(),
        argv: argv.as_ptr(),
        envp: envp.as_ptr(),
        dir: dir.as_ptr(),
        stdio,
        reset: reset_signals(),
        error: AtomicI32::new(0),
    })?;
    // From here on, an error drops the child: it is killed and reaped.
    let child = Child {
        pid,
        pidfd: None,
        no_pidfd: false,
        reaped: false,
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
/// `envp`: the environment of `ops` without the names `overrides` sets, then the
/// overrides. Which entries of the environment stay is kept for the names of the
/// last spawn: the tasks of a run set the same few names, so each spawn after
/// the first copies pointers instead of comparing every name with every other.
fn environment(overrides: &[(&[u8], CString)]) -> Vec<*mut libc::c_char> {
    static KEPT: Mutex<(Vec<Vec<u8>>, Vec<usize>)> = Mutex::new((Vec::new(), Vec::new()));
    let base = base_environment();
    let mut kept = KEPT.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let (names, indices) = &mut *kept;
    if !names
        .iter()
        .map(Vec::as_slice)
        .eq(overrides.iter().map(|(n, _)| *n))
    {
        *names = overrides.iter().map(|(n, _)| n.to_vec()).collect();
        *indices = (0..base.len())
            .filter(|&i| !names.iter().any(|n| n.as_slice() == base[i].0.as_bytes()))
            .collect();
    }
    pointers(
        indices
            .iter()
            .map(|&i| base[i].1.as_c_str())
            .chain(overrides.iter().map(|(_, entry)| entry.as_c_str())),
    )
}

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

/// What the child does between `clone` and `execve`, all of it prepared by the
/// parent: the child shares the parent's memory until `execve`, so it only makes
/// system calls (no allocation, no lock, nothing that could unwind).
struct Plan {
    path: *const libc::c_char,
    /// NUL-terminated arrays of C strings.
    argv: *const *mut libc::c_char,
    envp: *const *mut libc::c_char,
    dir: *const libc::c_char,
    /// Descriptors to put at 0, 1 and 2, with the child in a process group of its own.
    stdio: Option<[RawFd; 3]>,
    /// Signals set to their default before the mask is emptied ([`reset_signals`]).
    reset: &'static [libc::c_int],
    /// The `errno` of the step that failed, 0 while none has: written by the
    /// child, read by the parent once `clone` has returned.
    error: AtomicI32,
}

/// Size of the stack the child runs on until `execve` (it uses well under 4 KiB).
const CHILD_STACK: usize = 64 * 1024;

/// Start the child of `plan` and return its pid.
///
/// This is `vfork` as glibc's `posix_spawn` does it (`clone` with `CLONE_VM |
/// CLONE_VFORK`: the parent thread waits until the child has called `execve` or
/// exited), without its costs: the stack is taken from the heap rather than
/// mapped and unmapped at each spawn, no descriptor limit is asked for each file
/// action, and the child resets the dispositions of the few signals that can have
/// a handler in `ops` ([`reset_signals`]) instead of asking after each of the 64
/// and setting it. Per spawn that is 121 `rt_sigaction` in the child down to 9,
/// while the parent waits, and 8 system calls fewer in the parent (`mmap`,
/// `munmap`, six `prlimit64`).
fn clone_and_exec(plan: &Plan) -> io::Result<libc::pid_t> {
    let mut stack: Vec<std::mem::MaybeUninit<u8>> = Vec::with_capacity(CHILD_STACK);
    // The stack grows down from its end, which must be 16-byte aligned.
    let top = stack.as_mut_ptr().wrapping_add(CHILD_STACK);
    let top = top.wrapping_sub(top as usize % 16).cast::<libc::c_void>();
    let arg = std::ptr::from_ref(plan).cast_mut().cast::<libc::c_void>();
    // SAFETY: every signal is blocked while the child shares this memory, so no
    // handler of `ops` runs on its stack; the child (`child_main`) gets a stack of
    // its own that outlives it (`clone` returns only once the child has called
    // `execve` or exited) and a `Plan` that does too.
    let pid = unsafe {
        let (mut all, mut old): (libc::sigset_t, libc::sigset_t) = std::mem::zeroed();
        libc::sigfillset(&raw mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &raw const all, &raw mut old);
        let flags = libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD;
        let pid = libc::clone(child_main, top, flags, arg);
        let error = io::Error::last_os_error();
        libc::pthread_sigmask(libc::SIG_SETMASK, &raw const old, std::ptr::null_mut());
        if pid < 0 {
            return Err(error);
        }
        pid
    };
    match plan.error.load(Ordering::Acquire) {
        0 => Ok(pid),
        errno => {
            // The child exited without `execve`: reap it before reporting why.
            let _ = waitpid(pid, 0);
            Err(io::Error::from_raw_os_error(errno))
        }
    }
}

/// The child, from `clone` to `execve`: signal dispositions, process group and
/// standard descriptors, working directory, an empty signal mask, the program.
/// A failing step leaves its `errno` in the plan and exits with 127.
extern "C" fn child_main(plan: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `plan` is the `Plan` that `clone_and_exec` passed, alive until this
    // process has called `execve` or exited; every call below is a system call
    // on values the plan owns or on local places.
    unsafe {
        let plan = &*plan.cast::<Plan>();
        let mut default: libc::sigaction = std::mem::zeroed();
        default.sa_sigaction = libc::SIG_DFL;
        for &signal in plan.reset {
            libc::sigaction(signal, &raw const default, std::ptr::null_mut());
        }
        let mut ok = true;
        if let Some(stdio) = plan.stdio {
            ok = libc::setpgid(0, 0) == 0;
            for (to, fd) in (0..).zip(stdio) {
                // A descriptor already in place keeps its close-on-exec flag under
                // `dup2`: cleared by hand.
                ok = ok
                    && if fd == to {
                        libc::fcntl(fd, libc::F_SETFD, 0) == 0
                    } else {
                        libc::dup2(fd, to) == to
                    };
            }
        }
        if ok && libc::chdir(plan.dir) == 0 {
            let mut empty: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&raw mut empty);
            libc::sigprocmask(libc::SIG_SETMASK, &raw const empty, std::ptr::null_mut());
            libc::execve(plan.path, plan.argv.cast(), plan.envp.cast());
        }
        plan.error.store(*libc::__errno_location(), Ordering::Release);
        libc::_exit(127)
    }
}

/// The signals a child sets to their default before `execve`: those with a
/// handler in `ops` (Rust's for SIGSEGV and SIGBUS, tokio's for the signals a run
/// listens to) and SIGPIPE, which Rust ignores. `execve` would reset a handled
/// signal by itself; the child does it first because until then it runs on the
/// parent's memory, where a handler must not run. Read at the first spawn, with
/// the signals `ops` may listen to later; a signal ignored by whoever started
/// `ops` (`nohup`, `trap '' QUIT`) is left out, so it stays ignored in its
/// children, as with std's `Command` and make.
fn reset_signals() -> &'static [libc::c_int] {
    static RESET: OnceLock<Vec<libc::c_int>> = OnceLock::new();
    RESET.get_or_init(|| {
        const LATER: [libc::c_int; 8] = [
            libc::SIGINT,
            libc::SIGTERM,
            libc::SIGHUP,
            libc::SIGCHLD,
            libc::SIGXFSZ,
            libc::SIGWINCH,
            libc::SIGSEGV,
            libc::SIGBUS,
        ];
        (1..=libc::SIGRTMAX())
            .filter(|&signal| {
                // SAFETY: with a null new action, `sigaction` only reads the current
                // one into a valid place.
                let current = unsafe {
                    let mut current: libc::sigaction = std::mem::zeroed();
                    (libc::sigaction(signal, std::ptr::null(), &raw mut current) == 0)
                        .then_some(current.sa_sigaction)
                };
                match current {
                    None => false,
                    Some(libc::SIG_IGN) => signal == libc::SIGPIPE,
                    Some(libc::SIG_DFL) => LATER.contains(&signal),
                    Some(_) => true,
                }
            })
            .collect()
    })
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
    async fn each_child_gets_the_environment_with_only_its_own_overrides() {
        let dir = std::env::temp_dir();
        let home = std::env::var("HOME").unwrap_or_default();
        let print = script("printf '%s|%s' \"$HOME\" \"${OPS_SPAWN_B-unset}\"");
        let over_home = [("HOME", OsStr::new("/elsewhere"))];
        let (_, out, _) = output(&print, &over_home, &dir).await;
        assert_eq!(out, "/elsewhere|unset");
        let over_b = [("OPS_SPAWN_B", OsStr::new("b"))];
        let (_, out, _) = output(&print, &over_b, &dir).await;
        assert_eq!(out, format!("{home}|b"), "HOME is back once no override names it");
        let (_, out, _) = output(&print, &[], &dir).await;
        assert_eq!(out, format!("{home}|unset"));
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
    async fn a_program_that_cannot_be_executed_is_an_error_with_its_reason_and_no_child_left() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("not-executable");
        std::fs::write(&plain, "#!/bin/sh\ntrue\n").unwrap();
        let args = [];
        let mut denied = launch(&args, &[], dir.path());
        denied.path = plain.as_os_str();
        assert_eq!(
            spawn(&denied).err().unwrap().kind(),
            io::ErrorKind::PermissionDenied
        );
        let mut noexec = launch(&args, &[], dir.path());
        let no_shebang = dir.path().join("no-shebang");
        std::fs::write(&no_shebang, "true\n").unwrap();
        std::fs::set_permissions(&no_shebang, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        noexec.path = no_shebang.as_os_str();
        assert_eq!(spawn(&noexec).err().unwrap().raw_os_error(), Some(libc::ENOEXEC));
        // The children that failed before `execve` (they still bear the name of
        // this process) were reaped.
        assert_eq!(
            unexecuted_zombies(),
            0,
            "a child that failed to start was left a zombie"
        );
    }

    /// Zombie children of this process that never called `execve`.
    fn unexecuted_zombies() -> usize {
        let stat = |path: std::path::PathBuf| std::fs::read_to_string(path.join("stat")).ok();
        // pid (comm) state ppid …
        let fields = |stat: &str| {
            let (head, rest) = stat.rsplit_once(')')?;
            let comm = head.split_once('(')?.1.to_owned();
            let mut rest = rest.split_whitespace();
            Some((comm, rest.next()?.to_owned(), rest.next()?.to_owned()))
        };
        let me = std::process::id().to_string();
        // A child bears the name of the thread that started it.
        let (own, _, _) = fields(&stat("/proc/thread-self".into()).unwrap()).unwrap();
        std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(|e| fields(&stat(e.ok()?.path())?))
            .filter(|(comm, state, ppid)| *comm == own && state == "Z" && *ppid == me)
            .count()
    }

    #[tokio::test]
    async fn waiting_without_a_pidfd_listens_for_sigchld() {
        let dir = std::env::temp_dir();
        let args = script("sleep 0.2; exit 3");
        let (mut child, _) = spawn(&launch(&args, &[], &dir)).unwrap();
        child.no_pidfd = true;
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
