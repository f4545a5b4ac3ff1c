//! `ops graph TASK… --format json`: the tasks to run in waves, each with its kind,
//! its needs and a stable id, for a CI workflow to fan out over runners
//! (`strategy.matrix` with `fromJSON`): the jobs of wave `n` need those of wave
//! `n - 1`, and each applies its part of a saved plan with `ops run --plan FILE
//! --only TASK`.

use serde::Serialize;

use crate::run::{journal, may_run};
use crate::task::{TaskId, TaskSet, graph};

#[derive(Serialize, schemars::JsonSchema)]
#[schemars(title = "ops graph --format json", deny_unknown_fields)]
pub(crate) struct GraphJson<'a> {
    pub version: u32,
    /// The tasks asked for.
    pub targets: Vec<&'a str>,
    /// Hash of the graph: a plan saved for the same targets carries the same one.
    pub graph: String,
    /// The tasks in waves: every task of a wave may run once the waves before it are done.
    pub waves: Vec<WaveJson<'a>>,
    /// Tasks that run only after a failure (`on-failure`) or at the end (`finally`).
    pub handlers: Vec<HandlersJson<'a>>,
}

#[derive(Serialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct WaveJson<'a> {
    /// 0 for the first wave.
    pub index: usize,
    pub tasks: Vec<GraphTaskJson<'a>>,
}

#[derive(Serialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct GraphTaskJson<'a> {
    /// Stable across runs and machines, made of `[a-z0-9-]` only (for job and artifact names).
    pub id: String,
    /// The task's name, as `ops run` takes it.
    pub name: &'a str,
    /// The step kind (`nix-build`, `kube-job`, `shell`, …); `aggregate` for a task without one.
    pub kind: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<&'a str>,
    /// The names of the tasks it depends on.
    pub needs: Vec<&'a str>,
    /// The ids of the tasks it depends on.
    pub needs_ids: Vec<String>,
    /// It asks a person before it runs (`confirm`, or a confirmation gate).
    pub asks: bool,
    /// It needs a terminal (`interactive = true`).
    pub interactive: bool,
}

#[derive(Serialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct HandlersJson<'a> {
    /// The task whose handlers these are.
    pub of: &'a str,
    /// `on-failure` or `finally`.
    pub on: &'static str,
    pub run: Vec<&'a str>,
}

/// The document for `roots`, whose closure is `order`; `run` is what `ops run` of the
/// same roots would run (handlers included), whose hash a saved plan carries.
pub(super) fn document<'a>(
    set: &'a TaskSet,
    roots: &[TaskId],
    order: &[TaskId],
    run: &[TaskId],
) -> GraphJson<'a> {
    let name = |id: TaskId| set.get(id).name.as_str();
    let task = |id: TaskId| {
        let task = set.get(id);
        GraphTaskJson {
            id: stable_id(&task.name),
            name: &task.name,
            kind: task
                .action
                .as_ref()
                .map_or("aggregate", crate::executor::Action::key),
            description: task.description.as_deref(),
            needs: task.deps.iter().map(|&d| name(d)).collect(),
            needs_ids: task.deps.iter().map(|&d| stable_id(name(d))).collect(),
            asks: task.confirm.is_some() || task.action.as_ref().is_some_and(|a| a.question().is_some()),
            interactive: task.interactive,
        }
    };
    let waves = graph::waves(set, order, |_| false)
        .into_iter()
        .enumerate()
        .map(|(index, wave)| WaveJson {
            index,
            tasks: wave.into_iter().map(task).collect(),
        })
        .collect();
    let all = may_run(set, order, |_| false);
    let mut handlers = Vec::new();
    for &id in &all {
        let of = set.get(id);
        for (on, list) in [("on-failure", &of.on_failure), ("finally", &of.finally)] {
            if !list.is_empty() {
                handlers.push(HandlersJson {
                    of: &of.name,
                    on,
                    run: list.iter().map(|&h| name(h)).collect(),
                });
            }
        }
    }
    GraphJson {
        version: crate::schema::JSON_VERSION,
        targets: roots.iter().map(|&id| name(id)).collect(),
        graph: journal::graph_hash(set, run),
        waves,
        handlers,
    }
}

/// `zitadel:backup` → `zitadel-backup-1f0c2a`: the name in `[a-z0-9-]`, and 6 hex
/// digits of its hash, so that names that read alike stay apart.
pub(crate) fn stable_id(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let slug: String = slug.trim_end_matches('-').chars().take(48).collect();
    let hash = blake3::hash(name.as_bytes()).to_hex();
    if slug.is_empty() {
        hash[..6].to_owned()
    } else {
        format!("{slug}-{}", &hash[..6])
    }
}

#[cfg(test)]
mod tests {
    use super::stable_id;

    #[test]
    fn ids_are_stable_safe_and_distinct() {
        assert_eq!(stable_id("zitadel:backup"), stable_id("zitadel:backup"));
        assert!(stable_id("zitadel:backup").starts_with("zitadel-backup-"));
        assert_ne!(stable_id("a:b"), stable_id("a-b"));
        assert!(
            stable_id("build[Authentik, v2]")
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        );
        assert_eq!(stable_id("::").len(), 6);
    }
}
