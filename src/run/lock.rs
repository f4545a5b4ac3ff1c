//! One `ops run` (apply) at a time per repository root: an exclusive `flock` on the
//! root directory itself (a file could be unlinked while held, letting a second run
//! lock a new one), and `.ops/lock`, which records who holds it. The kernel drops
//! the lock when its holder dies, however it dies, so a stale lock is simply taken
//! over.

use std::fs::File;
use std::io::{Read as _, Seek as _, Write as _};
use std::path::Path;

use miette::Diagnostic;
use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Who holds the lock.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Holder {
    pub pid: u32,
    pub tasks: Vec<String>,
    pub started_at: String,
}

#[derive(Debug, Error, Diagnostic)]
pub(crate) enum LockError {
    #[error("another `ops run` holds {path}: pid {} running {}, started {}", .holder.pid, .holder.tasks.join(", "), .holder.started_at)]
    #[diagnostic(
        code(ops::run::locked),
        help("wait for it to finish, or pass `--wait-lock` to wait; nothing was run")
    )]
    Held { path: String, holder: Holder },

    #[error("cannot lock {path}")]
    #[diagnostic(code(ops::run::lock))]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// The held lock; released when dropped (or when the process dies).
#[derive(Debug)]
pub(super) struct RunLock {
    _root: Flock<File>,
    file: File,
    /// The previous holder, when it died without releasing (shown to the user).
    pub took_over: Option<Holder>,
}

/// Take the lock of `root`, failing at once (or waiting, with `wait`) if held.
pub(super) fn acquire(root: &Path, holder: &Holder, wait: bool) -> Result<RunLock, LockError> {
    let dir = root.join(".ops");
    let path = dir.join("lock");
    let shown = path.display().to_string();
    let io = |source| LockError::Io {
        path: shown.clone(),
        source,
    };
    std::fs::create_dir_all(&dir).map_err(io)?;
    let open_record = || {
        File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
    };
    let arg = if wait {
        FlockArg::LockExclusive
    } else {
        FlockArg::LockExclusiveNonblock
    };
    let root_dir = File::open(root).map_err(io)?;
    let root_lock = match Flock::lock(root_dir, arg) {
        Ok(locked) => locked,
        Err((_, Errno::EWOULDBLOCK)) => {
            let holder = open_record()
                .ok()
                .and_then(|mut f| read_holder(&mut f))
                .unwrap_or_default();
            return Err(LockError::Held { path: shown, holder });
        }
        Err((_, errno)) => return Err(io(std::io::Error::from(errno))),
    };
    let mut locked = open_record().map_err(io)?;
    let previous = read_holder(&mut locked).filter(|h| h.pid != 0);
    locked.set_len(0).map_err(io)?;
    locked.rewind().map_err(io)?;
    // Not synced to disk: the record names a holder for the runs that find the lock
    // taken, and a machine that lost power holds no lock when it starts again (the
    // sync was 0.4 ms of the 4.9 ms a one-task run takes).
    let json = serde_json::to_vec(holder).unwrap_or_default();
    locked.write_all(&json).map_err(io)?;
    Ok(RunLock {
        _root: root_lock,
        file: locked,
        took_over: previous,
    })
}

fn read_holder(file: &mut File) -> Option<Holder> {
    let mut text = String::new();
    file.rewind().ok()?;
    file.read_to_string(&mut text).ok()?;
    serde_json::from_str(&text).ok()
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // Clear the holder so the next run does not report a take-over.
        let _ = self.file.set_len(0);
    }
}
