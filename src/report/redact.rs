//! Events with secret values replaced by `***`, before any reporter (the terminal,
//! JSON, the journal) sees them.

use std::borrow::Cow;
use std::sync::Arc;

use super::{Event, Reporter, TaskResult};
use crate::redact::Redactor;

/// Redacting the events of a run.
trait RedactEvents {
    fn owned(&self, text: &mut String);
    fn result(&self, r: &mut TaskResult);
    fn event(&self, event: Event) -> Event;
}

impl RedactEvents for Redactor {
    fn owned(&self, text: &mut String) {
        if let Cow::Owned(redacted) = self.redact(text) {
            *text = redacted;
        }
    }

    fn result(&self, r: &mut TaskResult) {
        if let Some(reason) = r.reason.as_mut() {
            self.owned(reason);
        }
        if let Some(tail) = r.stderr_tail.as_mut() {
            self.owned(tail);
        }
        for (key, value) in &mut r.outputs {
            if self.reveals(value) {
                r.redacted.push(key.clone());
                self.owned(value);
            }
        }
    }

    /// The event with every secret value replaced.
    fn event(&self, mut event: Event) -> Event {
        if self.is_empty() {
            return event;
        }
        match &mut event {
            Event::Output { line, .. } => self.owned(line),
            Event::Retrying { reason, .. } => self.owned(reason),
            Event::TaskFinished(r) => self.result(r),
            Event::RunFinished(s) => s.results.iter_mut().for_each(|r| self.result(r)),
            Event::TaskStarted { command: Some(c), .. } => self.owned(c),
            Event::Warning(message) | Event::Note(message) => self.owned(message),
            Event::RunStarted { .. }
            | Event::ProcessStarted { .. }
            | Event::Plan(_)
            | Event::Missing(_)
            | Event::Confirmed { .. }
            | Event::Handlers { .. }
            | Event::TaskStarted { .. } => {}
        }
        event
    }
}

/// Passes every event through the [`Redactor`] before the reporter it wraps sees it.
pub(crate) struct Redacting<'r> {
    pub redactor: Arc<Redactor>,
    pub inner: &'r mut dyn Reporter,
}

impl Reporter for Redacting<'_> {
    fn handle(&mut self, event: &Event) {
        if self.redactor.is_empty() {
            self.inner.handle(event);
        } else {
            self.inner.handle(&self.redactor.event(event.clone()));
        }
    }

    fn prompt(&mut self, task: &str, question: &str) {
        self.inner.prompt(task, question);
    }

    fn prompt_done(&mut self) {
        self.inner.prompt_done();
    }

    fn flush(&mut self) {
        self.inner.flush();
    }

    fn flush_due(&self) -> Option<std::time::Instant> {
        self.inner.flush_due()
    }

    fn must_stop(&self) -> Option<String> {
        self.inner.must_stop()
    }
}
