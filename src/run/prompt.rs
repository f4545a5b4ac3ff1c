//! A person at the run: the interrupts they send (Ctrl-C, SIGTERM) and the yes/no
//! questions of confirmations, which an interrupt abandons.

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

    /// The next interrupt; pending forever when none can come.
    pub(super) async fn next(&mut self) {
        tokio::select! {
            Some(()) = recv(&mut self.sigint) => {}
            Some(()) = recv(&mut self.sigterm) => {}
            Some(()) = recv(&mut self.sighup) => {}
            Some(()) = async {
                match &mut self.channel {
                    Some(rx) => rx.recv().await,
                    None => std::future::pending().await,
                }
            } => {}
            else => std::future::pending::<()>().await,
        }
    }
}

async fn recv(sig: &mut Option<Signal>) -> Option<()> {
    match sig {
        Some(s) => s.recv().await,
        None => std::future::pending().await,
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
