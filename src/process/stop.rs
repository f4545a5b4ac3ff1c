//! Stopping a child: its whole process group, or, for a child that shares the
//! process group of `ops` (one on the terminal), the child and what it started.

use std::time::Duration;

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;

/// How long a child has between SIGTERM and SIGKILL. Shorter than the runner's
/// grace for a step to stop (2 s), so the group is killed and reaped by the time the
/// runner gives up on the step.
const KILL_GRACE: Duration = Duration::from_millis(1500);

/// What is signalled to stop a child.
#[derive(Clone, Copy, Debug)]
pub(super) enum Target {
    /// Its own process group: the child and everything it started.
    Group(Pid),
    /// The child and its descendants, one by one: signalling its group would stop
    /// `ops` too.
    Process(Pid),
}

impl Target {
    fn signal(self, signal: Signal) {
        match self {
            Self::Group(pgid) => {
                let _ = killpg(pgid, signal);
            }
            Self::Process(pid) => {
                // Children first, so that none is left behind by a parent that exits.
                for descendant in descendants(pid).into_iter().rev() {
                    let _ = kill(descendant, signal);
                }
                let _ = kill(pid, signal);
            }
        }
    }
}

/// Kills a child's process group (or the child and its descendants) when dropped,
/// unless disarmed (`.0 = None`).
pub(super) struct GroupGuard(pub(super) Option<Target>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(target) = self.0 {
            target.signal(Signal::SIGKILL);
        }
    }
}

/// SIGTERM, SIGKILL after a grace period, then (a group) SIGKILL to any stragglers
/// of the group.
pub(super) async fn terminate(child: &mut super::spawn::Child, target: Option<Target>) {
    let Some(target) = target else { return };
    target.signal(Signal::SIGTERM);
    if tokio::time::timeout(KILL_GRACE, child.wait()).await.is_err() {
        target.signal(Signal::SIGKILL);
        let _ = child.wait().await;
    }
    // The child is reaped, so its pid may be another process's by now; a group
    // lives on while any of its members does.
    if let Target::Group(_) = target {
        target.signal(Signal::SIGKILL);
    }
}

/// Every process below `pid`, parents before their children, as `/proc` shows them
/// (none where there is no `/proc`). Read while `pid` is alive and unreaped, so each
/// is still below it.
fn descendants(pid: Pid) -> Vec<Pid> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let parents: Vec<(i32, i32)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|p| Some((p, parent(p)?)))
        .collect();
    let mut found = vec![pid.as_raw()];
    let mut next = 0;
    while next < found.len() {
        let of = found[next];
        found.extend(parents.iter().filter(|(_, pp)| *pp == of).map(|(p, _)| *p));
        next += 1;
    }
    found.into_iter().skip(1).map(Pid::from_raw).collect()
}

/// The parent of a process, from `/proc/PID/stat` (`pid (comm) state ppid …`; the
/// command name may hold spaces and parentheses, so it is read from the last `)`).
fn parent(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(1)?.parse().ok()
}
