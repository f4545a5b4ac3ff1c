//! The dependency bookkeeping of one run: which tasks wait for how many
//! dependencies, which are ready, what each one ended as. Tasks are numbered by
//! their slot in the run's order (dependencies first).

use std::collections::VecDeque;
use std::sync::Arc;

use crate::report::{Name, Status, TaskResult};
use crate::task::{TaskId, TaskSet};

pub(super) struct Ledger {
    pub order: Vec<TaskId>,
    pub names: Vec<Name>,
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
    ready: VecDeque<usize>,
    results: Vec<Option<TaskResult>>,
}

impl Ledger {
    /// `order` is a closure of `set`: every dependency of a task in it is in it.
    pub(super) fn new(set: &TaskSet, order: &[TaskId]) -> Self {
        let mut slot_of = vec![usize::MAX; set.len()];
        for (slot, id) in order.iter().enumerate() {
            slot_of[id.index()] = slot;
        }
        let mut deps = vec![Vec::new(); order.len()];
        let mut dependents = vec![Vec::new(); order.len()];
        for (slot, &id) in order.iter().enumerate() {
            for dep in &set.get(id).deps {
                let d = slot_of[dep.index()];
                deps[slot].push(d);
                dependents[d].push(slot);
            }
        }
        let waiting: Vec<usize> = deps.iter().map(Vec::len).collect();
        Self {
            order: order.to_vec(),
            names: order
                .iter()
                .map(|&id| Arc::from(set.get(id).name.as_str()))
                .collect(),
            ready: (0..order.len()).filter(|&s| waiting[s] == 0).collect(),
            has_step: order.iter().map(|&id| set.get(id).action.is_some()).collect(),
            alone: order.iter().map(|&id| set.get(id).interactive).collect(),
            deps,
            dependents,
            waiting,
            results: vec![None; order.len()],
        }
    }

    pub(super) fn len(&self) -> usize {
        self.order.len()
    }

    /// The next task whose dependencies are all done. A task that runs alone is
    /// handed out only when `idle` (nothing runs); until then the tasks behind it
    /// wait too, so that it is not put off for as long as others keep starting.
    pub(super) fn next_ready(&mut self, idle: bool) -> Option<usize> {
        let &first = self.ready.front()?;
        if self.alone[first] && !idle {
            return None;
        }
        self.ready.pop_front()
    }

    /// Whether the task runs alone (nothing else may start while it runs).
    pub(super) fn alone(&self, slot: usize) -> bool {
        self.alone[slot]
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
        }
    }

    pub(super) fn status(&self, slot: usize) -> Option<Status> {
        self.results[slot].as_ref().map(|r| r.status)
    }

    /// Record a result and release the dependents it unblocks; a failure (or a task
    /// that cannot run here) skips every task that depends on it, directly or not. Returns the results recorded (the
    /// task's own first), for the reporter.
    pub(super) fn complete(&mut self, slot: usize, result: TaskResult) -> Vec<TaskResult> {
        let how = match result.status {
            Status::Failed => Some("failed"),
            Status::Interrupted => Some("was interrupted"),
            Status::NotRunnable => Some("is not runnable here"),
            _ => None,
        };
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
        for i in 0..self.dependents[slot].len() {
            let dependent = self.dependents[slot][i];
            self.waiting[dependent] -= 1;
            if self.waiting[dependent] == 0 && self.results[dependent].is_none() {
                self.ready.push_back(dependent);
            }
        }
        recorded
    }

    /// Mark every task that has no result as skipped, saying why.
    pub(super) fn skip_unstarted(&mut self, reason: &str) -> Vec<TaskResult> {
        let mut recorded = Vec::new();
        for slot in 0..self.len() {
            if self.results[slot].is_none() {
                let skipped = self.result(slot, Status::Skipped, Some(reason.to_owned()));
                recorded.push(skipped.clone());
                self.results[slot] = Some(skipped);
            }
        }
        recorded
    }

    /// The steps below a task, direct dependencies or not, whose `--diff` found
    /// changes or could not tell (aggregates left out), in run order.
    pub(super) fn pending_upstream(&self, slot: usize) -> Vec<usize> {
        let mut seen = vec![false; self.len()];
        let mut stack = vec![slot];
        let mut pending = Vec::new();
        while let Some(s) = stack.pop() {
            for &d in &self.deps[s] {
                if std::mem::replace(&mut seen[d], true) {
                    continue;
                }
                if self.has_step[d] && matches!(self.status(d), Some(Status::Changes | Status::Unknown)) {
                    pending.push(d);
                }
                stack.push(d);
            }
        }
        pending.sort_unstable();
        pending
    }

    /// Every result, in run order (after [`Ledger::skip_unstarted`], one per task).
    pub(super) fn take_results(&mut self) -> Vec<TaskResult> {
        self.results.iter_mut().filter_map(Option::take).collect()
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
        let mut ledger = Ledger::new(&set, &order);
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
        let mut ledger = Ledger::new(&set, &order);
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
        let mut ledger = Ledger::new(&set, &order);
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
        let mut ledger = Ledger::new(&set, &order);
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
