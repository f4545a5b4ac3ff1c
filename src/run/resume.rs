//! Work that is already done: `--resume` continues the last failed or interrupted
//! run of the same targets (tasks it finished are not run again, their produced
//! values are restored, unless their definition changed since), and `--plan FILE`
//! skips the tasks whose saved diff said "no change".

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use super::SelectError;
use super::journal::{self, Record, RunEnd, RunState};
use crate::report::{Mode, Status};
use crate::task::TaskSet;

/// Tasks the run being resumed finished that run again, and why.
#[derive(Debug, Default)]
pub(crate) struct Again {
    /// Their definition changed since.
    pub(crate) changed: Vec<String>,
    /// Their values held a secret, which the journal does not keep.
    pub(crate) secret: Vec<String>,
}

/// What the run being resumed already did.
#[derive(Clone, Debug, Default)]
pub(crate) struct Resume {
    /// Where the work was done: `run ID` or `plan FILE`.
    pub origin: String,
    /// From a saved plan: the tasks are skipped as "no change", not "done earlier".
    pub planned: bool,
    /// Task name → (fingerprint, produced values).
    done: HashMap<String, (String, BTreeMap<String, String>)>,
    /// Values known before the run starts, by task: with `--only`, those a saved
    /// plan holds of the tasks other parts of it apply.
    given: HashMap<String, BTreeMap<String, String>>,
}

impl Resume {
    /// Find the newest unfinished apply run of exactly these targets. Tasks a crashed
    /// run left running are refused, or with `kill_orphans` stopped first.
    pub(crate) fn find(
        root: &Path,
        set: &TaskSet,
        targets: &[String],
        kill_orphans: bool,
    ) -> Result<(Self, Again), SelectError> {
        let mut wanted: Vec<&String> = targets.iter().collect();
        wanted.sort();
        wanted.dedup();
        let log = journal::list(root)
            .into_iter()
            .find(|log| {
                let (_, logged, mode, ..) = log.run();
                let mut logged: Vec<&String> = logged.iter().collect();
                logged.sort();
                logged.dedup();
                mode == Mode::Apply && logged == wanted
            })
            .filter(|log| log.status() != RunState::Ended(RunEnd::Ok))
            .ok_or_else(|| SelectError::NothingToResume {
                targets: targets.join(" "),
            })?;
        let orphans = log.orphans();
        if !orphans.is_empty() {
            if !kill_orphans {
                return Err(SelectError::Orphans {
                    run: log.id.clone(),
                    groups: orphans
                        .iter()
                        .map(|(task, pgid)| format!("`{task}` (process group {pgid})"))
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
            for (_, pgid) in &orphans {
                kill_group(*pgid);
            }
        }
        let mut done = HashMap::new();
        let mut again = Again::default();
        for (name, record) in log.tasks() {
            let Record::Task {
                status,
                fingerprint,
                outputs,
                redacted,
                ..
            } = record
            else {
                continue;
            };
            if !matches!(status, Status::Ok | Status::UpToDate | Status::Resumed) {
                continue;
            }
            match set.find(name).map(|id| set.get(id).fingerprint()) {
                Some(now) if now != fingerprint => again.changed.push(name.to_owned()),
                Some(_) if !redacted.is_empty() => again.secret.push(name.to_owned()),
                Some(_) => {
                    done.insert(name.to_owned(), (fingerprint.clone(), outputs.clone()));
                }
                None => {}
            }
        }
        Ok((
            Self {
                origin: format!("run {}", log.id),
                planned: false,
                done,
                given: HashMap::new(),
            },
            again,
        ))
    }

    /// Tasks a saved plan found nothing to change in.
    pub(crate) fn planned(origin: String, done: HashMap<String, (String, BTreeMap<String, String>)>) -> Self {
        Self {
            origin,
            planned: true,
            done,
            given: HashMap::new(),
        }
    }

    /// With `values`: known before the run starts (see [`Resume::given`]).
    pub(crate) fn with_given(self, values: HashMap<String, BTreeMap<String, String>>) -> Self {
        Self {
            given: values,
            ..self
        }
    }

    /// The values known before the run starts, by task.
    pub(crate) fn given(&self) -> impl Iterator<Item = (&str, &BTreeMap<String, String>)> {
        self.given.iter().map(|(task, values)| (task.as_str(), values))
    }

    /// The values a task produced, if it is done and unchanged.
    pub(crate) fn done(&self, task: &str, fingerprint: &str) -> Option<&BTreeMap<String, String>> {
        self.done
            .get(task)
            .filter(|(f, _)| f == fingerprint)
            .map(|(_, outputs)| outputs)
    }
}

/// SIGKILL to a process group left by a crashed run, then wait (5 s at most) until it
/// is gone.
fn kill_group(pgid: i32) {
    let _ = nix::sys::signal::killpg(
        nix::unistd::Pid::from_raw(pgid),
        nix::sys::signal::Signal::SIGKILL,
    );
    let start = std::time::Instant::now();
    while journal::group_alive(pgid) && start.elapsed() < std::time::Duration::from_secs(5) {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
