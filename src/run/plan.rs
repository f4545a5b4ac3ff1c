//! The plan `--dry-run` prints: the tasks in waves, what is up to date or left out,
//! then the handlers that may run after them. Nothing is spawned; only files are
//! read, for up-to-date checks.

use std::sync::Arc;

use super::handlers;
use super::{Options, uptodate};
use crate::report::{Name, Plan, PlannedHandlers, PlannedTask};
use crate::task::{SecretSource, TaskId, TaskSet, graph};

pub(super) fn plan(
    set: &TaskSet,
    order: &[TaskId],
    state: &uptodate::State,
    targets: Vec<Name>,
    opts: &Options,
) -> Plan {
    let leaf = |id| opts.excluded.contains(id);
    let planned = |id| planned_task(set, id, state, opts);
    let waves = graph::waves(set, order, leaf)
        .into_iter()
        .map(|wave| wave.into_iter().map(planned).collect())
        .collect();
    let handlers = handlers::planned(set, order, leaf)
        .into_iter()
        .map(|(kind, owner, tasks)| {
            let of = set.get(owner);
            PlannedHandlers {
                kind,
                of: Arc::from(of.name.as_str()),
                aggregate: of.action.is_none(),
                handlers: handlers::list(of, kind)
                    .iter()
                    .map(|&h| Arc::from(set.get(h).name.as_str()))
                    .collect(),
                tasks: tasks.into_iter().map(planned).collect(),
            }
        })
        .collect();
    Plan {
        targets,
        waves,
        handlers,
    }
}

fn planned_task(set: &TaskSet, id: TaskId, state: &uptodate::State, opts: &Options) -> PlannedTask {
    // Variables that hold a secret are shown by name, never by value.
    let secret_vars: Vec<&str> = set
        .declared_secrets()
        .iter()
        .filter_map(|s| match s {
            SecretSource::Env(var) => Some(var.as_str()),
            SecretSource::OnePassword(_) => None,
        })
        .collect();
    let shown_env = |name: &str| {
        (!secret_vars.contains(&name))
            .then(|| std::env::var(name).ok())
            .flatten()
    };
    let task = set.get(id);
    let step = task
        .action
        .as_ref()
        .map(crate::executor::Action::plan)
        .unwrap_or_default();
    let skipped = opts.excluded.note(id);
    PlannedTask {
        task: Arc::from(task.name.as_str()),
        kind: task.action.as_ref().map(crate::executor::Action::key),
        lines: step.lines,
        check: step.check,
        deps: if skipped.is_some() {
            Vec::new()
        } else {
            task.deps
                .iter()
                .map(|&d| Arc::from(set.get(d).name.as_str()))
                .collect()
        },
        up_to_date: !opts.force && skipped.is_none() && uptodate::is_up_to_date(set.root(), task, state),
        confirm: task.confirm.clone(),
        env: task
            .env
            .iter()
            .map(|(k, v)| (k.clone(), v.display_with(shown_env)))
            .collect(),
        env_files: task
            .env_files
            .iter()
            .map(|f| {
                if f.optional {
                    format!("{} (optional)", f.path)
                } else {
                    f.path.clone()
                }
            })
            .collect(),
        dir: task.dir.as_ref().map(|d| d.display_with(shown_env)),
        tools: task.nix_tools.as_ref().map(crate::executor::NixTools::describe),
        lock: task.lock.as_ref().map(|l| {
            format!(
                "{} for the whole run (free {}s after a holder stops renewing it)",
                l.describe(),
                l.duration.as_secs()
            )
        }),
        interactive: task.interactive,
        skipped,
    }
}
