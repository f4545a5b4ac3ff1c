//! A person at the run: the interrupts they send (Ctrl-C, SIGTERM) and the yes/no
//! questions of confirmations, which an interrupt abandons.

use std::task::Poll;

use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::mpsc;

use super::Options;
use crate::report::Reporter;
use crate::task::Task;

/// Where interrupts come from: the process's signals, and a channel (a lost lease, tests).
pub(super) struct Interrupts {
    sigint: Option<Signal>,
    sigterm: Option<Signal>,
    /// A closed terminal or a dropped SSH session.
    sighup: Option<Signal>,
    channel: Option<mpsc::UnboundedReceiver<()>>,
}

impl Interrupts {
    /// SIGINT, SIGTERM and SIGHUP. Installing the handlers turns off their default
    /// action (ending ops and leaving the tasks' process groups behind) for as long as
    /// this lives.
    pub(super) fn signals() -> Self {
        Self {
            sigint: signal(SignalKind::interrupt()).ok(),
            sigterm: signal(SignalKind::terminate()).ok(),
            sighup: signal(SignalKind::hangup()).ok(),
            channel: None,
        }
    }

    /// Also the interrupts sent through `rx` (a lease the run lost).
    pub(super) fn and(mut self, rx: Option<mpsc::UnboundedReceiver<()>>) -> Self {
        self.channel = rx;
        self
    }

    /// Interrupts sent through the returned sender (tests).
    #[cfg(test)]
    pub(super) fn channel() -> (mpsc::UnboundedSender<()>, Self) {
        let (tx, rx) = mpsc::unbounded_channel();
        let interrupts = Self {
            sigint: None,
            sigterm: None,
            sighup: None,
            channel: Some(rx),
        };
        (tx, interrupts)
    }

    /// The next interrupt; pending forever when none can come. Polled in place (the
    /// scheduler asks at every turn of its loop: a `select!` over four futures made
    /// anew each time was 2% of a run's instructions).
    pub(super) async fn next(&mut self) {
        std::future::poll_fn(|cx| {
            let signals = [&mut self.sigint, &mut self.sigterm, &mut self.sighup];
            // A stream that ended (`None`) can send nothing more: it is not an interrupt.
            let signalled = signals
                .into_iter()
                .flatten()
                .any(|signal| signal.poll_recv(cx) == Poll::Ready(Some(())));
            // One interrupt at a time: the channel is not read when a signal came.
            if signalled
                || self
                    .channel
                    .as_mut()
                    .is_some_and(|rx| rx.poll_recv(cx) == Poll::Ready(Some(())))
            {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
    }
}

/// Ask a person on standard input; `None` when the run is interrupted while waiting.
pub(super) async fn ask(
    reporter: &mut dyn Reporter,
    task: &str,
    question: &str,
    interrupts: &mut Interrupts,
) -> Option<bool> {
    reporter.prompt(task, question);
    let read = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map(|_| line)
    });
    let answer = tokio::select! {
        line = read => Some(line.ok().and_then(Result::ok).is_some_and(|l| {
            matches!(l.trim().to_ascii_lowercase().as_str(), "y" | "yes")
        })),
        () = interrupts.next() => None,
    };
    reporter.prompt_done();
    answer
}

/// Why a task cannot start in this run for want of a person, if it cannot: a
/// confirmation nobody can answer, or an interactive command without a terminal.
/// (The tasks asked for are refused before the run starts; handlers are not, since
/// they may not run.)
pub(super) fn cannot_ask(opts: &Options, task: &Task) -> Option<String> {
    if opts.yes || opts.interactive {
        return None;
    }
    if task.confirm.is_some() {
        return Some(
            "it asks for confirmation, and nobody can answer (no terminal): pass --yes to accept it".into(),
        );
    }
    task.interactive
        .then(|| "it is interactive, and this run has no terminal: pass --yes to run it without one".into())
}
