//! The dependency bookkeeping of one run: which tasks wait for how many
//! dependencies, which are ready, what each one ended as. Tasks are numbered by
//! their slot in the run's order (dependencies first); handlers and what they need
//! get slots after them when they are due, and a run goes in phases: the tasks
//! asked for, then each round of handlers, only the tasks of the phase starting.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::report::{Name, Status, TaskResult, Trigger};
use crate::task::{TaskId, TaskSet};

pub(super) struct Ledger {
    pub order: Vec<TaskId>,
    pub names: Vec<Name>,
    /// The slot of each task of the set (`usize::MAX`: not in the ledger).
    slot_of: Vec<usize>,
    /// Tasks whose dependencies are not waited for (they count as done without
    /// running: `--skip`, `--no-deps`), by task.
    leaf: Vec<bool>,
    /// The slots each slot depends on.
    deps: Vec<Vec<usize>>,
    /// The slots that depend on each slot.
    dependents: Vec<Vec<usize>>,
    /// Unfinished dependencies of each slot.
    waiting: Vec<usize>,
    /// Whether the task has a step (aggregates have none).
    has_step: Vec<bool>,
    /// Whether the task must run alone (`interactive = true`).
    alone: Vec<bool>,
    /// Whether the slot may start in this phase of the run (the tasks asked for, then
    /// the handlers and what they need).
    wanted: Vec<bool>,
    /// Whether its result lets its dependents run.
    done: Vec<bool>,
    /// Why the slot runs, when it runs as a handler or for one.
    handler: Vec<Option<Trigger>>,
    /// Why a slot wanted in a phase did not start, when that phase ended.
    stopped: Vec<Option<String>>,
    ready: VecDeque<usize>,
    results: Vec<Option<TaskResult>>,
}

impl Ledger {
    /// `order` is a closure of `set` below the tasks `leaf` picks: every dependency of
    /// the other tasks of it is in it. Every slot is wanted.
    pub(super) fn new(set: &TaskSet, order: &[TaskId], leaf: impl Fn(TaskId) -> bool) -> Self {
        let mut ledger = Self {
            order: Vec::new(),
            names: Vec::new(),
            slot_of: vec![usize::MAX; set.len()],
            leaf: set.iter().map(|(id, _)| leaf(id)).collect(),
            deps: Vec::new(),
            dependents: Vec::new(),
            waiting: Vec::new(),
            has_step: Vec::new(),
            alone: Vec::new(),
            wanted: Vec::new(),
            done: Vec::new(),
            handler: Vec::new(),
            stopped: Vec::new(),
            ready: VecDeque::new(),
            results: Vec::new(),
        };
        for &id in order {
            ledger.push(set, id, None);
        }
        ledger
    }

    /// Append a slot for `id`, whose dependencies have slots; it waits for those
    /// that are not done. Returns the slot.
    fn push(&mut self, set: &TaskSet, id: TaskId, handler: Option<Trigger>) -> usize {
        let slot = self.order.len();
        self.slot_of[id.index()] = slot;
        let task = set.get(id);
        let deps: Vec<usize> = if self.leaf[id.index()] {
            Vec::new()
        } else {
            task.deps.iter().map(|d| self.slot_of[d.index()]).collect()
        };
        for &d in &deps {
            self.dependents[d].push(slot);
        }
        let waiting = deps.iter().filter(|&&d| !self.done[d]).count();
        self.order.push(id);
        self.names.push(Arc::from(task.name.as_str()));
        self.deps.push(deps);
        self.dependents.push(Vec::new());
        self.waiting.push(waiting);
        self.has_step.push(task.action.is_some());
        self.alone.push(task.interactive);
        self.wanted.push(true);
        self.done.push(false);
        self.handler.push(handler);
        self.stopped.push(None);
        self.results.push(None);
        if waiting == 0 {
            self.ready.push_back(slot);
        }
        slot
    }

    pub(super) fn len(&self) -> usize {
        self.order.len()
    }

    /// The slot of a task, if it has one.
    pub(super) fn slot(&self, id: TaskId) -> Option<usize> {
        self.slot_of.get(id.index()).copied().filter(|&s| s != usize::MAX)
    }

    /// Start a new phase: nothing may start until [`Ledger::want`] says so.
    pub(super) fn new_phase(&mut self) {
        self.wanted.iter_mut().for_each(|w| *w = false);
    }

    /// Let `closure` (dependencies first; tasks the ledger does not have yet get
    /// slots) start in this phase, each task run for `trigger`. A task that already
    /// ran is not run again; one whose dependency failed is skipped at once: those
    /// results are returned, for the reporter.
    pub(super) fn want(&mut self, set: &TaskSet, closure: &[TaskId], trigger: &Trigger) -> Vec<TaskResult> {
        let mut recorded = Vec::new();
        for &id in closure {
            let slot = match self.slot(id) {
                Some(slot) => slot,
                None => self.push(set, id, Some(trigger.clone())),
            };
            if self.results[slot].is_some() {
                continue;
            }
            self.wanted[slot] = true;
            self.handler[slot].get_or_insert_with(|| trigger.clone());
            let failed = self.deps[slot]
                .iter()
                .find_map(|&d| self.results[d].as_ref().filter(|_| !self.done[d]).map(|r| (d, r)));
            if let Some((d, result)) = failed {
                let reason = match blocking(result.status) {
                    Some(how) => format!("dependency `{}` {how}", self.names[d]),
                    None => result.reason.clone().unwrap_or_default(),
                };
                let skipped = self.result(slot, Status::Skipped, Some(reason));
                recorded.push(skipped.clone());
                self.results[slot] = Some(skipped);
            }
        }
        recorded
    }

    /// Whether a slot that has not started will start in this phase.
    pub(super) fn has_wanted(&self) -> bool {
        (0..self.len()).any(|s| self.wanted[s] && self.results[s].is_none())
    }

    /// Whether some task of `ids` has not run (or has no slot yet).
    pub(super) fn any_open(&self, ids: &[TaskId]) -> bool {
        ids.iter()
            .any(|&id| self.slot(id).is_none_or(|s| self.results[s].is_none()))
    }

    /// End a phase: the slots it wanted that did not start, did not because of
    /// `reason` (unless a later phase runs them).
    pub(super) fn end_phase(&mut self, reason: &str) {
        for slot in 0..self.len() {
            if self.wanted[slot] && self.results[slot].is_none() {
                self.stopped[slot] = Some(reason.to_owned());
            }
        }
    }

    /// The next task whose dependencies are all done. A task that runs alone is
    /// handed out only when `idle` (nothing runs); until then the tasks behind it
    /// wait too, so that it is not put off for as long as others keep starting.
    pub(super) fn next_ready(&mut self, idle: bool) -> Option<usize> {
        let at = self.ready.iter().position(|&s| self.wanted[s])?;
        if self.alone[self.ready[at]] && !idle {
            return None;
        }
        self.ready.remove(at)
    }

    /// Whether the task runs alone (nothing else may start while it runs).
    pub(super) fn alone(&self, slot: usize) -> bool {
        self.alone[slot]
    }

    /// Why the task runs as a handler (or for one), if it does.
    pub(super) fn handler(&self, slot: usize) -> Option<&Trigger> {
        self.handler[slot].as_ref()
    }

    /// Put a task back at the front (it was confirmed and may start now).
    pub(super) fn retry_first(&mut self, slot: usize) {
        self.ready.push_front(slot);
    }

    /// A result without timing, for tasks that finish without running.
    pub(super) fn result(&self, slot: usize, status: Status, reason: Option<String>) -> TaskResult {
        TaskResult {
            task: self.names[slot].clone(),
            status,
            duration: None,
            exit_code: None,
            reason,
            stderr_tail: None,
            outputs: std::collections::BTreeMap::new(),
            redacted: Vec::new(),
            handler: self.handler[slot].clone(),
        }
    }

    pub(super) fn status(&self, slot: usize) -> Option<Status> {
        self.results[slot].as_ref().map(|r| r.status)
    }

    /// Record a result and release the dependents it unblocks; a failure (or a task
    /// that cannot run here) skips every task that depends on it, directly or not.
    /// Returns the results recorded (the task's own first), for the reporter.
    pub(super) fn complete(&mut self, slot: usize, result: TaskResult) -> Vec<TaskResult> {
        let how = blocking(result.status);
        let mut recorded = vec![result.clone()];
        self.results[slot] = Some(result);
        if let Some(how) = how {
            let reason = format!("dependency `{}` {how}", self.names[slot]);
            let mut stack = self.dependents[slot].clone();
            while let Some(dependent) = stack.pop() {
                if self.results[dependent].is_some() {
                    continue;
                }
                let skipped = self.result(dependent, Status::Skipped, Some(reason.clone()));
                recorded.push(skipped.clone());
                self.results[dependent] = Some(skipped);
                stack.extend(self.dependents[dependent].iter().copied());
            }
            return recorded;
        }
        self.done[slot] = true;
        for i in 0..self.dependents[slot].len() {
            let dependent = self.dependents[slot][i];
            self.waiting[dependent] -= 1;
            if self.waiting[dependent] == 0 && self.results[dependent].is_none() {
                self.ready.push_back(dependent);
            }
        }
        recorded
    }

    /// Mark every task that has no result as skipped, saying why: the reason its
    /// phase ended with, or `reason`.
    pub(super) fn skip_unstarted(&mut self, reason: &str) -> Vec<TaskResult> {
        let mut recorded = Vec::new();
        for slot in 0..self.len() {
            if self.results[slot].is_none() {
                let why = self.stopped[slot].clone().unwrap_or_else(|| reason.to_owned());
                let skipped = self.result(slot, Status::Skipped, Some(why));
                recorded.push(skipped.clone());
                self.results[slot] = Some(skipped);
            }
        }
        recorded
    }

    /// Every slot below a task (its dependencies, direct or not), in run order.
    pub(super) fn below(&self, slot: usize) -> Vec<usize> {
        let mut seen = vec![false; self.len()];
        let mut stack = vec![slot];
        let mut found = Vec::new();
        while let Some(s) = stack.pop() {
            for &d in &self.deps[s] {
                if !std::mem::replace(&mut seen[d], true) {
                    found.push(d);
                    stack.push(d);
                }
            }
        }
        found.sort_unstable();
        found
    }

    /// The steps below a task, direct dependencies or not, whose `--diff` found
    /// changes or could not tell (aggregates left out), in run order.
    pub(super) fn pending_upstream(&self, slot: usize) -> Vec<usize> {
        self.below(slot)
            .into_iter()
            .filter(|&d| {
                self.has_step[d] && matches!(self.status(d), Some(Status::Changes | Status::Unknown))
            })
            .collect()
    }

    /// Every result, in run order (after [`Ledger::skip_unstarted`], one per task).
    pub(super) fn take_results(&mut self) -> Vec<TaskResult> {
        self.results.iter_mut().filter_map(Option::take).collect()
    }
}

/// Why dependents of a task with this status cannot run: `None` when they can.
fn blocking(status: Status) -> Option<&'static str> {
    match status {
        Status::Failed => Some("failed"),
        Status::Interrupted => Some("was interrupted"),
        Status::NotRunnable => Some("is not runnable here"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::SourceFile;
    use crate::task::{Vars, load_sources};

    fn set(text: &str) -> TaskSet {
        let file = SourceFile::new("tasks/t.toml", text.to_owned());
        load_sources(std::path::Path::new("/nonexistent"), vec![file], &Vars::default()).unwrap()
    }

    #[test]
    fn releases_dependents_when_all_their_dependencies_are_done() {
        let set = set(
            "[tasks.a]\nshell = \"a\"\n[tasks.b]\nshell = \"b\"\n[tasks.c]\ndeps = [\"a\", \"b\"]\nshell = \"c\"\n",
        );
        let order = crate::task::graph::closure(&set, &[set.find("c").unwrap()]);
        let mut ledger = Ledger::new(&set, &order, |_| false);
        let first = ledger.next_ready(true).unwrap();
        let second = ledger.next_ready(true).unwrap();
        assert_eq!(ledger.next_ready(true), None);
        ledger.complete(first, ledger.result(first, Status::Ok, None));
        assert_eq!(ledger.next_ready(true), None, "c still waits for one dependency");
        ledger.complete(second, ledger.result(second, Status::Ok, None));
        let c = ledger.next_ready(true).unwrap();
        assert_eq!(&*ledger.names[c], "c");
    }

    #[test]
    fn a_failure_skips_every_task_above_it() {
        let set = set(
            "[tasks.a]\nshell = \"a\"\n[tasks.b]\ndeps = [\"a\"]\nshell = \"b\"\n[tasks.c]\ndeps = [\"b\"]\n",
        );
        let order = crate::task::graph::closure(&set, &[set.find("c").unwrap()]);
        let mut ledger = Ledger::new(&set, &order, |_| false);
        let a = ledger.next_ready(true).unwrap();
        let recorded = ledger.complete(a, ledger.result(a, Status::Failed, None));
        let skipped: Vec<(&str, Status, Option<&str>)> = recorded
            .iter()
            .map(|r| (&*r.task, r.status, r.reason.as_deref()))
            .collect();
        assert_eq!(
            skipped,
            [
                ("a", Status::Failed, None),
                ("b", Status::Skipped, Some("dependency `a` failed")),
                ("c", Status::Skipped, Some("dependency `a` failed")),
            ]
        );
        assert_eq!(ledger.next_ready(true), None);
        assert!(ledger.skip_unstarted("not started").is_empty());
    }

    #[test]
    fn a_task_that_cannot_run_here_skips_its_dependents_saying_so() {
        let set = set("[tasks.a]\nshell = \"a\"\n[tasks.b]\ndeps = [\"a\"]\nshell = \"b\"\n");
        let order = crate::task::graph::closure(&set, &[set.find("b").unwrap()]);
        let mut ledger = Ledger::new(&set, &order, |_| false);
        let a = ledger.next_ready(true).unwrap();
        let recorded = ledger.complete(a, ledger.result(a, Status::NotRunnable, None));
        assert_eq!(recorded[1].status, Status::Skipped);
        assert_eq!(
            recorded[1].reason.as_deref(),
            Some("dependency `a` is not runnable here")
        );
        assert_eq!(ledger.next_ready(true), None);
    }

    #[test]
    fn a_task_that_runs_alone_is_handed_out_only_when_nothing_runs() {
        let set = set(
            "[tasks.a]\nshell = \"a\"\n[tasks.i]\nshell = \"i\"\ninteractive = true\n[tasks.b]\nshell = \"b\"\n[tasks.all]\ndeps = [\"a\", \"i\", \"b\"]\n",
        );
        let order = crate::task::graph::closure(&set, &[set.find("all").unwrap()]);
        let mut ledger = Ledger::new(&set, &order, |_| false);
        let a = ledger.next_ready(true).unwrap();
        assert_eq!(&*ledger.names[a], "a");
        assert_eq!(
            ledger.next_ready(false),
            None,
            "`i` waits for `a`, and `b` behind it"
        );
        let i = ledger.next_ready(true).unwrap();
        assert_eq!(&*ledger.names[i], "i");
        assert!(ledger.alone(i));
        assert!(!ledger.alone(a));
    }
}
