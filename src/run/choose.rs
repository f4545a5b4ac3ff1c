//! Choosing what runs of a selection: `--skip PATTERN` (repeatable, a glob) and
//! `--no-deps` leave tasks out, counted as done. A task left out is kept in the
//! run's order (the plan, the summary and the journal say why it did not run) but
//! the run does not go below it: what only it needs is not run either, and its
//! dependents run as if it had succeeded.
//!
//! A pattern may also match a handler (`on-failure`, `finally`) of the selection,
//! which then does not run either. A pattern that matches no task of the selection
//! is an error with "did you mean".
//! So is a task that would run and use a value (`{{ tasks.NAME.KEY }}`) of a task
//! that does not: refused here, before anything runs, rather than failing halfway.

use std::collections::{HashMap, HashSet};

use globset::{Glob, GlobMatcher};
use miette::Diagnostic;
use thiserror::Error;

use super::handlers::may_run;
use crate::diagnostic::suggestion;
use crate::task::{TaskId, TaskSet, graph};

/// Why a task of the run does not run, though it counts as done.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Why {
    /// `--skip PATTERN` matched it.
    Skip(String),
    /// `--no-deps`: a dependency of a task named on the command line.
    NoDeps,
    /// `--plan FILE --only TASK`: another part of the plan applies it.
    Only,
}

/// The tasks of a run that do not run but count as done, with why.
#[derive(Clone, Debug, Default)]
pub(crate) struct Excluded(HashMap<TaskId, Why>);

impl Excluded {
    pub(crate) fn contains(&self, id: TaskId) -> bool {
        self.0.contains_key(&id)
    }

    /// What the summary and the journal say of a task left out (its status is
    /// `skipped`).
    pub(crate) fn reason(&self, id: TaskId) -> Option<String> {
        self.0.get(&id).map(|why| match why {
            Why::Skip(pattern) => format!("--skip {pattern}: counted as done"),
            Why::NoDeps => "--no-deps: counted as done".to_owned(),
            Why::Only => "--only: another part of the plan applies it".to_owned(),
        })
    }

    /// What the plan says of a task left out.
    pub(crate) fn note(&self, id: TaskId) -> Option<String> {
        self.0.get(&id).map(|why| match why {
            Why::Skip(pattern) => format!("skipped (--skip {pattern}): counted as done"),
            Why::NoDeps => "not run (--no-deps): counted as done".to_owned(),
            Why::Only => "not run (--only): another part of the plan applies it".to_owned(),
        })
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// What a run works on: its tasks in order (dependencies first), and those of them
/// that do not run.
#[derive(Debug)]
pub(crate) struct Selection {
    pub order: Vec<TaskId>,
    pub excluded: Excluded,
}

#[derive(Debug, Error, Diagnostic)]
pub(crate) enum ChooseError {
    #[error("invalid --skip pattern `{pattern}`: {reason}")]
    #[diagnostic(
        code(ops::run::bad_skip_pattern),
        help(
            "a pattern is a task name, or a glob: `build-*`, `*-check`, `release-{{a,b}}`; nothing was run"
        )
    )]
    BadPattern { pattern: String, reason: String },

    #[error("--skip `{pattern}` matches no task of this run")]
    #[diagnostic(code(ops::run::skip_matches_nothing))]
    MatchesNothing {
        pattern: String,
        #[help]
        help: String,
    },

    #[error("task `{task}` uses `{{{{ tasks.{dep}.{key} }}}}`, but `{dep}` does not run: {why}")]
    #[diagnostic(
        code(ops::run::skipped_value),
        help(
            "a task that does not run produces no values; let `{dep}` run, or leave out `{task}` too; nothing was run"
        )
    )]
    SkippedValue {
        task: String,
        dep: String,
        key: String,
        why: String,
    },
}

/// Choose what runs of the closure of `roots`: leave out what `skip` matches and,
/// with `no_deps`, the dependencies of the roots that are not roots themselves.
pub(crate) fn choose(
    set: &TaskSet,
    roots: &[TaskId],
    skip: &[String],
    no_deps: bool,
) -> Result<Selection, ChooseError> {
    // A pattern may match a handler: that one does not run either.
    let full = may_run(set, &graph::closure(set, roots), |_| false);
    let mut excluded: HashMap<TaskId, Why> = HashMap::new();
    for pattern in skip {
        let matcher = matcher(pattern)?;
        let matched: Vec<TaskId> = full
            .iter()
            .copied()
            .filter(|&id| matcher.is_match(&set.get(id).name))
            .collect();
        if matched.is_empty() {
            let names = full.iter().map(|&id| set.get(id).name.as_str());
            return Err(ChooseError::MatchesNothing {
                pattern: pattern.clone(),
                help: suggestion(pattern, names).unwrap_or_else(|| {
                    "`ops run TASK --dry-run` shows the tasks of a run; nothing was run".to_owned()
                }),
            });
        }
        for id in matched {
            excluded.entry(id).or_insert_with(|| Why::Skip(pattern.clone()));
        }
    }
    if no_deps {
        let named: HashSet<TaskId> = roots.iter().copied().collect();
        for &root in roots {
            for &dep in &set.get(root).deps {
                if !named.contains(&dep) {
                    excluded.entry(dep).or_insert(Why::NoDeps);
                }
            }
        }
    }
    let order = graph::closure_until(set, roots, |id| excluded.contains_key(&id));
    let excluded = Excluded(excluded);
    check_values(set, &order, &excluded)?;
    Ok(Selection { order, excluded })
}

/// `--plan FILE --only TASK…`: the named tasks alone. What they depend on counts as
/// done (another part of the plan applies it); the values they use of those tasks
/// must be ones the plan holds (`given`).
pub(crate) fn only(
    set: &TaskSet,
    roots: &[TaskId],
    given: impl Fn(&str, &str) -> bool,
) -> Result<Selection, ChooseError> {
    let named: HashSet<TaskId> = roots.iter().copied().collect();
    let mut excluded: HashMap<TaskId, Why> = HashMap::new();
    for &root in roots {
        for &dep in &set.get(root).deps {
            if !named.contains(&dep) {
                excluded.insert(dep, Why::Only);
            }
        }
    }
    let order = graph::closure_until(set, roots, |id| excluded.contains_key(&id));
    for &root in roots {
        let task = set.get(root);
        for (dep_name, key) in &task.output_refs {
            let runs_here = set.find(dep_name).is_some_and(|dep| named.contains(&dep));
            if !runs_here && !given(dep_name, key) {
                return Err(ChooseError::SkippedValue {
                    task: task.name.clone(),
                    dep: dep_name.clone(),
                    key: key.clone(),
                    why: format!(
                        "another part of the plan applies it, and its diff produced no value for `{key}` \
                         (apply both on one runner: --only {dep_name} --only {})",
                        task.name
                    ),
                });
            }
        }
    }
    Ok(Selection {
        order,
        excluded: Excluded(excluded),
    })
}

/// A pattern as a glob over task names (`*` may match `:` and every other character).
fn matcher(pattern: &str) -> Result<GlobMatcher, ChooseError> {
    Glob::new(pattern)
        .map(|glob| glob.compile_matcher())
        .map_err(|e| ChooseError::BadPattern {
            pattern: pattern.to_owned(),
            reason: e.kind().to_string(),
        })
}

/// Refuse a run in which a task that runs uses a value of a task that does not.
fn check_values(set: &TaskSet, order: &[TaskId], excluded: &Excluded) -> Result<(), ChooseError> {
    if excluded.is_empty() {
        return Ok(());
    }
    let in_run: HashSet<TaskId> = order.iter().copied().collect();
    for &id in order.iter().filter(|&&id| !excluded.contains(id)) {
        let task = set.get(id);
        for (dep_name, key) in &task.output_refs {
            let Some(dep) = set.find(dep_name) else { continue };
            let why = if let Some(why) = excluded.0.get(&dep) {
                match why {
                    Why::Skip(pattern) => format!("--skip {pattern}"),
                    Why::NoDeps => "--no-deps".to_owned(),
                    Why::Only => "--only".to_owned(),
                }
            } else if !in_run.contains(&dep) {
                "only tasks left out of this run need it, so it is left out too".to_owned()
            } else {
                continue;
            };
            return Err(ChooseError::SkippedValue {
                task: task.name.clone(),
                dep: dep_name.clone(),
                key: key.clone(),
                why,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::diagnostic::SourceFile;
    use crate::task::{Vars, load_sources};

    const CHAIN: &str = r#"
[tasks.fetch]
shell = "f"
[tasks.build-a]
deps = ["fetch"]
shell = "a"
[tasks.build-b]
deps = ["fetch"]
shell = "b"
[tasks.test]
deps = ["build-a"]
shell = "t"
[tasks.all]
deps = ["test", "build-b"]
"#;

    fn set(text: &str) -> TaskSet {
        let file = SourceFile::new("tasks/t.toml", text.to_owned());
        load_sources(Path::new("/repo"), vec![file], &Vars::default()).unwrap()
    }

    fn names(set: &TaskSet, ids: &[TaskId]) -> Vec<String> {
        ids.iter().map(|&id| set.get(id).name.clone()).collect()
    }

    fn choose_in(
        set: &TaskSet,
        target: &str,
        skip: &[&str],
        no_deps: bool,
    ) -> Result<Selection, ChooseError> {
        let skip: Vec<String> = skip.iter().map(|s| (*s).to_owned()).collect();
        choose(set, &[set.find(target).unwrap()], &skip, no_deps)
    }

    #[test]
    fn a_glob_leaves_out_what_it_matches_and_what_only_they_need() {
        let set = set(CHAIN);
        let chosen = choose_in(&set, "all", &["build-*"], false).unwrap();
        assert_eq!(names(&set, &chosen.order), ["build-a", "test", "build-b", "all"]);
        let build_a = set.find("build-a").unwrap();
        assert_eq!(
            chosen.excluded.reason(build_a).as_deref(),
            Some("--skip build-*: counted as done")
        );
        assert!(!chosen.excluded.contains(set.find("test").unwrap()));
    }

    #[test]
    fn a_dependency_another_task_needs_still_runs() {
        let set = set(CHAIN);
        let chosen = choose_in(&set, "all", &["build-a"], false).unwrap();
        assert_eq!(
            names(&set, &chosen.order),
            ["build-a", "test", "fetch", "build-b", "all"]
        );
    }

    #[test]
    fn no_deps_leaves_out_the_dependencies_of_the_named_tasks() {
        let set = set(CHAIN);
        let chosen = choose_in(&set, "test", &[], true).unwrap();
        assert_eq!(names(&set, &chosen.order), ["build-a", "test"]);
        assert_eq!(
            chosen.excluded.reason(set.find("build-a").unwrap()).as_deref(),
            Some("--no-deps: counted as done")
        );
    }

    #[test]
    fn a_pattern_that_matches_nothing_suggests_a_task() {
        let set = set(CHAIN);
        let Err(ChooseError::MatchesNothing { help, .. }) = choose_in(&set, "all", &["biuld-a"], false)
        else {
            panic!("no error");
        };
        assert_eq!(help, "did you mean `build-a`?");
        assert!(matches!(
            choose_in(&set, "test", &["build-b"], false),
            Err(ChooseError::MatchesNothing { .. })
        ));
    }

    #[test]
    fn a_task_that_uses_a_value_of_a_task_left_out_is_refused() {
        let set = set(
            "[tasks.a]\nshell = \"a\"\n[tasks.b]\ndeps = [\"a\"]\nshell = \"b\"\n[tasks.c]\ndeps = [\"b\"]\nshell = \"echo {{ tasks.a.stdout }}\"\n",
        );
        let err = choose_in(&set, "c", &["a"], false).unwrap_err();
        assert_eq!(
            err.to_string(),
            "task `c` uses `{{ tasks.a.stdout }}`, but `a` does not run: --skip a"
        );
        let err = choose_in(&set, "c", &["b"], false).unwrap_err();
        assert!(err.to_string().contains("only tasks left out"), "{err}");
        assert!(
            choose_in(&set, "c", &["c"], false).is_ok(),
            "c itself does not run"
        );
    }
}
