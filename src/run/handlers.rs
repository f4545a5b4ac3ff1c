//! `on-failure` and `finally` when a run goes: which handlers are due once the tasks
//! of a phase have ended, and what may run for them (for the plan, the preflight
//! checks and the journal).
//!
//! The `on-failure` tasks of a task are due when it failed (or could not run here);
//! for an aggregate, when a task under it did. The `finally` tasks of a task are due
//! when it was reached: it ran, failed, was up to date or done earlier (for an
//! aggregate, so was a task under it); a task the run never got to, or left out
//! with `--skip`, has none due. Due `on-failure` handlers run first, then the
//! `finally` ones; each list runs once, each task at most once in a run. An
//! interrupted run runs neither (the summary names them).

use std::collections::HashSet;
use std::sync::Arc;

use super::ledger::Ledger;
use crate::report::{Event, HandlerKind, Name, NotRun, Reporter, Status, Trigger};
use crate::task::{Task, TaskId, TaskSet, graph};

/// A list of handlers that is due.
#[derive(Debug)]
struct Due {
    /// The task whose list it is.
    owner: TaskId,
    trigger: Trigger,
    handlers: Vec<TaskId>,
}

/// The lists that have run.
#[derive(Debug, Default)]
pub(super) struct Fired(HashSet<(TaskId, HandlerKind)>);

impl Fired {
    /// The lists due now, and marked as run: the `on-failure` lists of what failed,
    /// or when there are none, the `finally` lists of what was reached.
    fn next(&mut self, set: &TaskSet, ledger: &Ledger) -> Vec<Due> {
        for kind in [HandlerKind::OnFailure, HandlerKind::Finally] {
            let due = self.due(set, ledger, kind, false);
            if !due.is_empty() {
                self.0.extend(due.iter().map(|d| (d.owner, kind)));
                return due;
            }
        }
        Vec::new()
    }

    /// Let the next round of due handlers start in `ledger` (a new phase), telling the
    /// reporter; lists with nothing left to run are passed over. Whether a task is to
    /// run for them (`false`: no handler is due any more).
    pub(super) fn start_next(
        &mut self,
        set: &TaskSet,
        ledger: &mut Ledger,
        leaf: impl Fn(TaskId) -> bool + Copy,
        reporter: &mut dyn Reporter,
    ) -> bool {
        loop {
            let due = self.next(set, ledger);
            if due.is_empty() {
                return false;
            }
            ledger.new_phase();
            for d in due {
                let closure = graph::closure_until(set, &d.handlers, leaf);
                if !ledger.any_open(&closure) {
                    continue;
                }
                reporter.handle(&Event::Handlers {
                    trigger: d.trigger.clone(),
                    handlers: names(set, &d.handlers),
                });
                for skipped in ledger.want(set, &closure, &d.trigger) {
                    reporter.handle(&Event::TaskFinished(skipped));
                }
            }
            if ledger.has_wanted() {
                return true;
            }
        }
    }

    /// What a run stopped for `why` leaves undone: every list that is due (counting
    /// an interrupted task as failed), with the handlers that have not run.
    pub(super) fn not_run(&self, set: &TaskSet, ledger: &Ledger, why: &str) -> Option<NotRun> {
        let handlers: Vec<(Trigger, Vec<Name>)> = [HandlerKind::OnFailure, HandlerKind::Finally]
            .into_iter()
            .flat_map(|kind| self.due(set, ledger, kind, true))
            .filter_map(|mut due| {
                due.handlers
                    .retain(|&id| ledger.slot(id).is_none_or(|s| ledger.status(s).is_none()));
                (!due.handlers.is_empty()).then(|| (due.trigger, names(set, &due.handlers)))
            })
            .collect();
        (!handlers.is_empty()).then(|| NotRun {
            why: why.to_owned(),
            handlers,
        })
    }

    fn due(&self, set: &TaskSet, ledger: &Ledger, kind: HandlerKind, interrupted_fails: bool) -> Vec<Due> {
        let mut due = Vec::new();
        for slot in 0..ledger.len() {
            let id = ledger.order[slot];
            let task = set.get(id);
            let handlers = list(task, kind);
            if handlers.is_empty() || self.0.contains(&(id, kind)) {
                continue;
            }
            // The task itself, then (an aggregate) the tasks under it, in run order.
            let mut involved = vec![slot];
            if task.action.is_none() {
                involved.extend(ledger.below(slot));
            }
            let status = |s: usize| ledger.status(s);
            let failed = |s: usize| {
                matches!(status(s), Some(Status::Failed | Status::NotRunnable))
                    || (interrupted_fails && status(s) == Some(Status::Interrupted))
            };
            let reached =
                |s: usize| status(s).is_some_and(|st| !matches!(st, Status::Skipped | Status::NotRunnable));
            let failed_name = match kind {
                // An interrupted task did not fail: no name for it.
                HandlerKind::OnFailure => match involved.iter().copied().find(|&s| failed(s)) {
                    Some(s) if status(s) == Some(Status::Interrupted) => None,
                    Some(s) => Some(ledger.names[s].to_string()),
                    None => continue,
                },
                HandlerKind::Finally if involved.iter().any(|&s| reached(s)) => None,
                HandlerKind::Finally => continue,
            };
            due.push(Due {
                owner: id,
                trigger: Trigger {
                    kind,
                    of: task.name.clone(),
                    failed: failed_name,
                },
                handlers: handlers.to_vec(),
            });
        }
        due
    }
}

fn names(set: &TaskSet, ids: &[TaskId]) -> Vec<Name> {
    ids.iter()
        .map(|&id| Arc::from(set.get(id).name.as_str()))
        .collect()
}

/// A task's list of handlers of this kind.
pub(super) fn list(task: &Task, kind: HandlerKind) -> &[TaskId] {
    match kind {
        HandlerKind::OnFailure => &task.on_failure,
        HandlerKind::Finally => &task.finally,
    }
}

/// Everything that may run for `order`: its tasks, then the handlers of any of them
/// (and of those handlers, in turn) with what they need, dependencies first. The
/// tasks `leaf` picks do not run, so their dependencies are not followed.
pub(crate) fn may_run(set: &TaskSet, order: &[TaskId], leaf: impl Fn(TaskId) -> bool + Copy) -> Vec<TaskId> {
    let mut all = order.to_vec();
    let mut seen: HashSet<TaskId> = all.iter().copied().collect();
    let mut next = 0;
    while next < all.len() {
        let task = set.get(all[next]);
        next += 1;
        let handlers: Vec<TaskId> = task.on_failure.iter().chain(&task.finally).copied().collect();
        for id in graph::closure_until(set, &handlers, leaf) {
            if seen.insert(id) {
                all.push(id);
            }
        }
    }
    all
}

/// The handler lists of `may_run` (see [`may_run`]) for the plan: each with its owner
/// and what would run for it that no earlier part of the plan shows, in the order
/// the tasks come; the `on-failure` lists first.
pub(super) fn planned(
    set: &TaskSet,
    order: &[TaskId],
    leaf: impl Fn(TaskId) -> bool + Copy,
) -> Vec<(HandlerKind, TaskId, Vec<TaskId>)> {
    let owners = may_run(set, order, leaf);
    let mut shown: HashSet<TaskId> = order.iter().copied().collect();
    let mut planned = Vec::new();
    for kind in [HandlerKind::OnFailure, HandlerKind::Finally] {
        for &owner in owners.iter().filter(|&&id| !leaf(id)) {
            let handlers = list(set.get(owner), kind);
            if handlers.is_empty() {
                continue;
            }
            let tasks: Vec<TaskId> = graph::closure_until(set, handlers, leaf)
                .into_iter()
                .filter(|&id| shown.insert(id))
                .collect();
            planned.push((kind, owner, tasks));
        }
    }
    planned
}
