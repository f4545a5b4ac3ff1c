//! The run journal as a consumer of run events, as a recorder is a reporter: it
//! appends a record for every finished task and one when the run ends, then passes
//! the event on. A journal that cannot be written is reported once, and the run
//! starts no more tasks: what it did could not be resumed.

use std::collections::HashMap;

use super::journal::{self, Journal, Record, RunEnd};
use crate::report::{Event, Reporter};
use crate::task::{TaskId, TaskSet};

pub(super) struct Recorder<'r> {
    journal: Option<Journal>,
    /// Why the journal stopped being written, once it did.
    broken: Option<String>,
    /// Task name → the definition hash recorded with its result.
    fingerprints: HashMap<String, String>,
    inner: &'r mut dyn Reporter,
}

impl<'r> Recorder<'r> {
    /// Start the journal of a run with its `run` record.
    pub(super) fn new(set: &TaskSet, order: &[TaskId], run: &Record, inner: &'r mut dyn Reporter) -> Self {
        let journal = match Journal::create(set.root(), run) {
            Ok(journal) => Some(journal),
            Err(e) => {
                inner.handle(&Event::Warning(format!("this run is not recorded: {e}")));
                None
            }
        };
        let fingerprints = order
            .iter()
            .map(|&id| {
                let task = set.get(id);
                (task.name.clone(), task.fingerprint().to_owned())
            })
            .collect();
        Self {
            journal,
            broken: None,
            fingerprints,
            inner,
        }
    }

    fn record(&mut self, event: &Event) -> Option<Record> {
        match event {
            Event::TaskFinished(result) => {
                let fingerprint = self.fingerprints.get(&*result.task).map_or("", String::as_str);
                Some(journal::task_record(result, fingerprint))
            }
            Event::ProcessStarted { task, pgid } => Some(Record::Process {
                task: task.to_string(),
                pgid: *pgid,
            }),
            Event::RunFinished(summary) => Some(Record::End {
                status: RunEnd::from_exit_code(summary.exit_code),
                exit_code: summary.exit_code,
                finished_at: journal::now(),
            }),
            _ => None,
        }
    }
}

impl Recorder<'_> {
    /// A write that failed is reported once, and stops the run.
    fn failed(&mut self, error: Option<String>) {
        if let Some(error) = error {
            self.inner.handle(&Event::Warning(format!(
                "{error}: the journal is incomplete, so no more tasks start"
            )));
            self.broken = Some(error);
        }
    }
}

impl Reporter for Recorder<'_> {
    fn handle(&mut self, event: &Event) {
        if self.journal.is_some()
            && let Some(record) = self.record(event)
            && let Some(journal) = self.journal.as_mut()
        {
            if matches!(record, Record::Process { .. }) {
                journal.append_later(&record);
            } else {
                let error = journal.append(&record);
                self.failed(error);
            }
        }
        self.inner.handle(event);
    }

    fn flush(&mut self) {
        if let Some(journal) = self.journal.as_mut() {
            let error = journal.flush();
            self.failed(error);
        }
        self.inner.flush();
    }

    fn flush_due(&self) -> Option<std::time::Instant> {
        let own = self.journal.as_ref().and_then(Journal::due);
        match (own, self.inner.flush_due()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn must_stop(&self) -> Option<String> {
        self.broken.clone().or_else(|| self.inner.must_stop())
    }

    fn prompt(&mut self, task: &str, question: &str) {
        self.inner.prompt(task, question);
    }

    fn prompt_done(&mut self) {
        self.inner.prompt_done();
    }
}
