//! Secret values, replaced by `***` in everything `ops` writes: task output, failure
//! reasons, JSON events and the run journal.

use std::borrow::Cow;
use std::sync::{Arc, RwLock};

use super::{Event, Reporter, TaskResult};

/// Values shorter than this are not redacted (they would mangle ordinary output).
const MIN_LEN: usize = 3;

/// The secret values seen so far in a run.
#[derive(Debug, Default)]
pub(crate) struct Redactor {
    values: RwLock<Vec<String>>,
}

impl Redactor {
    /// Remember a secret value (and each of its lines, for multi-line secrets).
    pub(crate) fn add(&self, value: &str) {
        let Ok(mut values) = self.values.write() else {
            return;
        };
        for candidate in std::iter::once(value).chain(value.lines()) {
            let candidate = candidate.trim();
            if candidate.len() >= MIN_LEN && !values.iter().any(|v| v == candidate) {
                values.push(candidate.to_owned());
            }
        }
        // Longest first, so a secret containing another is replaced whole.
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    }

    /// No secret was read (the common case: nothing to do).
    pub(crate) fn is_empty(&self) -> bool {
        self.values.read().is_ok_and(|v| v.is_empty())
    }

    pub(crate) fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let Ok(values) = self.values.read() else {
            return Cow::Borrowed(text);
        };
        let mut out = Cow::Borrowed(text);
        for value in values.iter() {
            if out.contains(value.as_str()) {
                out = Cow::Owned(out.replace(value.as_str(), "***"));
            }
        }
        out
    }

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
        r.outputs.values_mut().for_each(|v| self.owned(v));
    }

    /// The event with every secret value replaced.
    pub(crate) fn event(&self, mut event: Event) -> Event {
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
            | Event::Plan(_)
            | Event::Confirmed { .. }
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
}

#[cfg(test)]
mod tests {
    use super::Redactor;

    #[test]
    fn replaces_every_occurrence_longest_first() {
        let r = Redactor::default();
        r.add("hunter2");
        r.add("hunter2-admin");
        r.add("ab");
        assert_eq!(r.redact("pw=hunter2-admin and hunter2, ab"), "pw=*** and ***, ab");
    }

    #[test]
    fn multi_line_secrets_are_redacted_line_by_line() {
        let r = Redactor::default();
        r.add("-----BEGIN KEY-----\nMIIEvQIBADANBg\n-----END KEY-----\n");
        assert_eq!(r.redact("line: MIIEvQIBADANBg"), "line: ***");
    }
}
