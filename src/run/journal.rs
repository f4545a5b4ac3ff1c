//! The run journal: `.ops/runs/<id>.jsonl`, one JSON record per line, each written
//! with a single append as its task finishes, so that a crash (or `kill -9`) of ops
//! loses at most the tasks in flight. A `process` record (a task's process group,
//! for `--resume` to stop after a crash) rides with the next record written, or
//! goes alone [`PROCESS_WITHIN`] after its task started: one write a task rather
//! than two. The file is synced to disk at most once a
//! second and at the end of the run (what a power cut could lose). A torn last
//! line is ignored when reading.
//!
//! Records: `run` (id, graph hash, targets, mode, pid, start), `task` (status,
//! times, exit code, fingerprint, produced values, reason, and for a task run as a
//! handler the trigger), `end` (status, exit code).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::report::{Mode, Status, TaskResult, Trigger};
use crate::task::{TaskId, TaskSet};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(tag = "record", rename_all = "snake_case")]
#[schemars(deny_unknown_fields)]
pub(crate) enum Record {
    Run {
        id: String,
        graph: String,
        targets: Vec<String>,
        mode: Mode,
        pid: u32,
        started_at: String,
    },
    Task {
        task: String,
        status: Status,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duration_ms: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exit_code: Option<i32>,
        fingerprint: String,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        outputs: BTreeMap<String, String>,
        /// Keys of `outputs` whose values held a secret: stored as `***`, so they
        /// cannot be restored.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        redacted: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        /// It ran as a handler (`on-failure`, `finally`) or for one: which, and the
        /// failure that set it off.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        handler: Option<Trigger>,
        finished_at: String,
    },
    /// A task started a process group (found again by `--resume` after a crash).
    Process { task: String, pgid: i32 },
    End {
        status: RunEnd,
        exit_code: u8,
        finished_at: String,
    },
}

/// How a run ended, as its `end` record says.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RunEnd {
    /// Everything ran (or, in `--diff`, was checked).
    Ok,
    Failed,
    Interrupted,
}

impl RunEnd {
    /// From the run's exit code (0 and 3, changes pending, are both a completed run).
    pub(crate) fn from_exit_code(code: u8) -> Self {
        match code {
            0 | 3 => Self::Ok,
            130 => Self::Interrupted,
            _ => Self::Failed,
        }
    }
}

/// What `ops runs` says of a recorded run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RunState {
    Ended(RunEnd),
    /// No end record, and the process is alive.
    Running,
    /// No end record, and the process is gone.
    Crashed,
}

impl RunState {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Ended(RunEnd::Ok) => "ok",
            Self::Ended(RunEnd::Failed) => "failed",
            Self::Ended(RunEnd::Interrupted) => "interrupted",
            Self::Running => "running",
            Self::Crashed => "crashed",
        }
    }
}

/// A journal being written.
pub(crate) struct Journal {
    file: File,
    path: PathBuf,
    /// `process` records not yet written, and since when the oldest waits.
    later: Vec<u8>,
    later_since: Option<std::time::Instant>,
    last_sync: std::time::Instant,
    /// The first write error, reported once; later records are not attempted.
    failed: Option<String>,
}

/// How long a `process` record may wait for a record to ride with.
pub(crate) const PROCESS_WITHIN: std::time::Duration = std::time::Duration::from_millis(10);

pub(crate) fn runs_dir(root: &Path) -> PathBuf {
    root.join(".ops").join("runs")
}

pub(crate) fn now() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

/// An id that sorts by start time: `20261122T183012.345-4f2a`.
pub(crate) fn new_id() -> String {
    let stamp = humantime::format_rfc3339_millis(SystemTime::now())
        .to_string()
        .replace(['-', ':'], "")
        .trim_end_matches('Z')
        .to_owned();
    let salt = blake3::hash(format!("{:?}{}", SystemTime::now(), std::process::id()).as_bytes()).to_hex();
    format!("{stamp}-{}", &salt[..4])
}

/// Hash of what the selected tasks are: names, definitions and dependencies.
pub(crate) fn graph_hash(set: &TaskSet, order: &[TaskId]) -> String {
    let mut hasher = blake3::Hasher::new();
    for &id in order {
        let task = set.get(id);
        hasher.update(task.name.as_bytes());
        hasher.update(task.fingerprint().as_bytes());
        for dep in &task.deps {
            hasher.update(set.get(*dep).name.as_bytes());
        }
        hasher.update(b"\n");
    }
    hasher.finalize().to_hex()[..16].to_owned()
}

impl Journal {
    /// Create the journal and write its `run` record.
    pub(crate) fn create(root: &Path, run: &Record) -> std::io::Result<Self> {
        let Record::Run { id, .. } = run else {
            return Err(std::io::Error::other("a journal starts with a run record"));
        };
        let dir = runs_dir(root);
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(format!("{id}.jsonl"));
        let file = File::options().create_new(true).append(true).open(&path)?;
        let mut journal = Self {
            file,
            path,
            later: Vec::new(),
            later_since: None,
            last_sync: std::time::Instant::now(),
            failed: None,
        };
        journal.append(run);
        match journal.failed.take() {
            Some(e) => Err(std::io::Error::other(e)),
            None => Ok(journal),
        }
    }

    /// Keep a record to write with the next [`Journal::append`], or by
    /// [`Journal::flush`] once [`Journal::due`].
    pub(crate) fn append_later(&mut self, record: &Record) {
        if self.failed.is_none() && serde_json::to_writer(&mut self.later, record).is_ok() {
            self.later.push(b'\n');
            self.later_since.get_or_insert_with(std::time::Instant::now);
        }
    }

    /// When the records kept for later must be written.
    pub(crate) fn due(&self) -> Option<std::time::Instant> {
        self.later_since.map(|since| since + PROCESS_WITHIN)
    }

    /// Write the records kept for later, if any.
    pub(crate) fn flush(&mut self) -> Option<String> {
        if self.later.is_empty() {
            return None;
        }
        self.write(Vec::new(), false)
    }

    /// Append one record as one line (after those kept for later), then sync.
    /// Returns the error text of the first failure (a full disk, say) so the
    /// caller can report it once.
    pub(crate) fn append(&mut self, record: &Record) -> Option<String> {
        let mut line = serde_json::to_vec(record).unwrap_or_default();
        line.push(b'\n');
        self.write(line, matches!(record, Record::End { .. }))
    }

    fn write(&mut self, line: Vec<u8>, end: bool) -> Option<String> {
        if self.failed.is_some() {
            // Nothing more is written: nothing is kept either (nor due).
            self.later.clear();
            self.later_since = None;
            return None;
        }
        let line = if self.later.is_empty() {
            line
        } else {
            self.later_since = None;
            let mut all = std::mem::take(&mut self.later);
            all.extend_from_slice(&line);
            all
        };
        let sync = end || self.last_sync.elapsed().as_secs() >= 1;
        let written = self.file.write_all(&line).and_then(|()| {
            if sync {
                self.last_sync = std::time::Instant::now();
                self.file.sync_data()
            } else {
                Ok(())
            }
        });
        if let Err(e) = written {
            let message = format!("cannot write the run journal {}: {e}", self.path.display());
            self.failed = Some(message.clone());
            return Some(message);
        }
        None
    }
}

/// A `task` record for a finished task (whose secrets the reporter chain redacted).
pub(crate) fn task_record(result: &TaskResult, fingerprint: &str) -> Record {
    Record::Task {
        task: result.task.to_string(),
        status: result.status,
        duration_ms: result
            .duration
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        exit_code: result.exit_code,
        fingerprint: fingerprint.to_owned(),
        outputs: result.outputs.clone(),
        redacted: result.redacted.clone(),
        reason: result.reason.clone(),
        handler: result.handler.clone(),
        finished_at: now(),
    }
}

/// A journal read back: its records in order (a torn last line is skipped).
#[derive(Debug, Clone)]
pub(crate) struct RunLog {
    pub id: String,
    pub records: Vec<Record>,
}

impl RunLog {
    pub(crate) fn read(path: &Path) -> Option<Self> {
        let text = std::fs::read_to_string(path).ok()?;
        let records: Vec<Record> = text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        let id = path.file_stem()?.to_string_lossy().into_owned();
        matches!(records.first(), Some(Record::Run { .. })).then_some(Self { id, records })
    }

    pub(crate) fn run(&self) -> (&str, &[String], Mode, u32, &str) {
        match &self.records[0] {
            Record::Run {
                graph,
                targets,
                mode,
                pid,
                started_at,
                ..
            } => (graph, targets, *mode, *pid, started_at),
            _ => unreachable!("RunLog::read checks the first record"),
        }
    }

    pub(crate) fn end(&self) -> Option<(RunEnd, u8)> {
        self.records.iter().rev().find_map(|r| match r {
            Record::End {
                status, exit_code, ..
            } => Some((*status, *exit_code)),
            _ => None,
        })
    }

    /// How the run ended, or that it is still running or crashed.
    pub(crate) fn status(&self) -> RunState {
        if let Some((status, _)) = self.end() {
            return RunState::Ended(status);
        }
        let pid = self.run().3;
        let alive = std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            stat.rsplit_once(')')
                .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
        });
        if alive {
            RunState::Running
        } else {
            RunState::Crashed
        }
    }

    /// The process groups of tasks that have no result after them, still alive: what
    /// a crashed run left running.
    pub(crate) fn orphans(&self) -> Vec<(String, i32)> {
        let mut open: Vec<(String, i32)> = Vec::new();
        for record in &self.records {
            match record {
                Record::Process { task, pgid } => open.push((task.clone(), *pgid)),
                Record::Task { task, .. } => open.retain(|(t, _)| t != task),
                _ => {}
            }
        }
        open.retain(|&(_, pgid)| group_alive(pgid));
        open
    }

    /// The task records, last one per task.
    pub(crate) fn tasks(&self) -> BTreeMap<&str, &Record> {
        let mut tasks = BTreeMap::new();
        for r in &self.records {
            if let Record::Task { task, .. } = r {
                tasks.insert(task.as_str(), r);
            }
        }
        tasks
    }
}

/// Every journal under `root`, newest first.
pub(crate) fn list(root: &Path) -> Vec<RunLog> {
    let Ok(entries) = std::fs::read_dir(runs_dir(root)) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    paths.sort();
    paths.reverse();
    paths.iter().filter_map(|p| RunLog::read(p)).collect()
}

/// Whether a process group has a member left (signal 0 reaches it).
pub(crate) fn group_alive(pgid: i32) -> bool {
    pgid > 0 && nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pgid), None).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(path: &Path) -> Vec<String> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["record"].to_string())
            .collect()
    }

    fn run_record() -> Record {
        Record::Run {
            id: "20261206T000000.000-abcd".into(),
            graph: String::new(),
            targets: vec!["t".into()],
            mode: Mode::Apply,
            pid: 1,
            started_at: now(),
        }
    }

    #[test]
    fn a_process_record_rides_with_the_next_record_or_goes_when_due() {
        let dir = tempfile::tempdir().unwrap();
        let mut journal = Journal::create(dir.path(), &run_record()).unwrap();
        let path = journal.path.clone();
        assert_eq!(journal.due(), None);
        let started = std::time::Instant::now();
        journal.append_later(&Record::Process {
            task: "a".into(),
            pgid: 10,
        });
        journal.append_later(&Record::Process {
            task: "b".into(),
            pgid: 11,
        });
        let due = journal.due().unwrap();
        assert!(due >= started + PROCESS_WITHIN && due <= std::time::Instant::now() + PROCESS_WITHIN);
        assert_eq!(kinds(&path), [r#""run""#], "kept, not written yet");
        let end = Record::End {
            status: RunEnd::Ok,
            exit_code: 0,
            finished_at: now(),
        };
        assert_eq!(journal.append(&end), None);
        assert_eq!(
            kinds(&path),
            [r#""run""#, r#""process""#, r#""process""#, r#""end""#]
        );
        assert_eq!(journal.due(), None, "nothing is kept once written");
        journal.append_later(&Record::Process {
            task: "c".into(),
            pgid: 12,
        });
        assert_eq!(journal.flush(), None);
        assert_eq!(kinds(&path).last().unwrap(), r#""process""#);
        assert_eq!(journal.flush(), None, "a flush with nothing kept writes nothing");
        assert_eq!(kinds(&path).len(), 5);
    }
}
