//! `on-failure` and `finally`: the tasks a task runs after it, resolved to tasks and
//! checked when the files load.
//!
//! ```toml
//! [tasks.migrate-zitadel-to-dex]
//! deps = ["dex-phase-5"]
//! on-failure = ["rollback-dex-to-zitadel"]   # when it, or a task under it, fails
//! finally = ["close-maintenance-window"]     # whether it failed or not
//! ```
//!
//! A handler runs after the task it belongs to, so it cannot be one the task needs
//! (directly, through dependencies or through other handlers): such a circle is a
//! cycle error naming every edge. A handler that depends on its task would be skipped
//! whenever the task fails, so that is an error too.

use std::fmt::Write as _;

use toml::Spanned;

use super::error::LoadError;
use super::graph;
use super::load::Pending;
use crate::diagnostic::{SourceFile, span, suggestion};

/// The two lists of a task: names as written, or indices once resolved.
#[derive(Clone, Debug, Default)]
pub(super) struct Handlers<T> {
    pub(super) on_failure: Vec<T>,
    pub(super) finally: Vec<T>,
}

impl<T> Handlers<T> {
    /// Each list with its key.
    fn lists(&self) -> [(&'static str, &[T]); 2] {
        [("on-failure", &self.on_failure), ("finally", &self.finally)]
    }
}

/// Resolve every task's handlers against the task names; unknown names are
/// reported with "did you mean". Repeated names count once.
pub(super) fn resolve(
    files: &[SourceFile],
    pending: &[Pending],
    index: &super::NameMap<&str, usize>,
    errors: &mut Vec<LoadError>,
) -> Vec<Handlers<usize>> {
    pending
        .iter()
        .map(|p| {
            let mut resolve_list = |key: &'static str, names: &[Spanned<String>]| {
                let mut ids = Vec::with_capacity(names.len());
                for name in names {
                    match index.get(name.get_ref().as_str()) {
                        Some(&id) if !ids.contains(&id) => ids.push(id),
                        Some(_) => {}
                        None => errors.push(LoadError::UnknownHandler {
                            src: files[p.file].named(),
                            span: span(name.span()),
                            key,
                            task: p.name.get_ref().clone(),
                            name: name.get_ref().clone(),
                            help: suggestion(name.get_ref(), index.keys().copied())
                                .or_else(|| Some("`ops list --all` shows every task".into())),
                        }),
                    }
                }
                ids
            };
            Handlers {
                on_failure: resolve_list("on-failure", &p.handlers.on_failure),
                finally: resolve_list("finally", &p.handlers.finally),
            }
        })
        .collect()
}

/// How one task needs another to have run first.
#[derive(Clone, Copy)]
enum Edge {
    /// `from` depends on `to`.
    Dep,
    /// `from` is in the `key` list of `to`.
    Handler(&'static str),
}

/// Report handlers that could never run after their task, and every cycle that goes
/// through a handler (cycles of dependencies alone are reported elsewhere).
pub(super) fn check_order(
    files: &[SourceFile],
    pending: &[Pending],
    deps: &[Vec<usize>],
    handlers: &[Handlers<usize>],
    errors: &mut Vec<LoadError>,
) {
    for (task, lists) in handlers.iter().enumerate() {
        for (key, ids) in lists.lists() {
            for &handler in ids.iter().filter(|&&h| h != task && reaches(deps, h, task)) {
                errors.push(LoadError::HandlerDependsOnTask {
                    src: files[pending[task].file].named(),
                    span: span(handler_span(pending, task, key, handler)),
                    key,
                    task: pending[task].name.get_ref().clone(),
                    handler: pending[handler].name.get_ref().clone(),
                });
            }
        }
    }
    // `needs[a]` lists what must have run before `a`: its dependencies, and the
    // tasks whose handler it is.
    let mut needs = deps.to_vec();
    for (task, lists) in handlers.iter().enumerate() {
        for (_, ids) in lists.lists() {
            for &handler in ids {
                if !needs[handler].contains(&task) {
                    needs[handler].push(task);
                }
            }
        }
    }
    for cycle in graph::cycles(&needs) {
        let edges: Vec<Edge> = (0..cycle.len())
            .map(|k| edge(deps, handlers, cycle[k], cycle[(k + 1) % cycle.len()]))
            .collect();
        // Start the circle at a handler; none means a cycle of dependencies alone.
        let Some(start) = edges.iter().position(|e| matches!(e, Edge::Handler(_))) else {
            continue;
        };
        errors.push(cycle_error(files, pending, &cycle, &edges, start));
    }
}

/// Whether `to` is reachable from `from` through dependencies.
fn reaches(deps: &[Vec<usize>], from: usize, to: usize) -> bool {
    let mut seen = vec![false; deps.len()];
    let mut stack = deps[from].clone();
    while let Some(next) = stack.pop() {
        if next == to {
            return true;
        }
        if !std::mem::replace(&mut seen[next], true) {
            stack.extend(deps[next].iter().copied());
        }
    }
    false
}

fn edge(deps: &[Vec<usize>], handlers: &[Handlers<usize>], from: usize, to: usize) -> Edge {
    if deps[from].contains(&to) {
        return Edge::Dep;
    }
    let key = handlers[to]
        .lists()
        .into_iter()
        .find(|(_, ids)| ids.contains(&from))
        .map_or("on-failure", |(key, _)| key);
    Edge::Handler(key)
}

/// Where `task`'s `key` list names `handler`.
fn handler_span(pending: &[Pending], task: usize, key: &str, handler: usize) -> std::ops::Range<usize> {
    let lists = pending[task].handlers.lists();
    let names = lists
        .iter()
        .find(|(k, _)| *k == key)
        .map_or(&[][..], |(_, names)| names);
    names
        .iter()
        .find(|n| n.get_ref() == pending[handler].name.get_ref())
        .map_or_else(|| pending[task].name.span(), Spanned::span)
}

fn cycle_error(
    files: &[SourceFile],
    pending: &[Pending],
    cycle: &[usize],
    edges: &[Edge],
    start: usize,
) -> LoadError {
    let name = |i: usize| pending[i].name.get_ref().as_str();
    let at = |k: usize| (k + start) % cycle.len();
    let mut path = String::new();
    for k in 0..cycle.len() {
        let _ = write!(path, "{} → ", name(cycle[at(k)]));
    }
    path.push_str(name(cycle[at(0)]));
    // Each edge, located where it is written: in `deps`, or in the handler list.
    let place = |k: usize| {
        let (from, to) = (cycle[at(k)], cycle[(at(k) + 1) % cycle.len()]);
        match edges[at(k)] {
            Edge::Dep => {
                let written = pending[from]
                    .deps
                    .iter()
                    .find(|d| d.get_ref() == pending[to].name.get_ref())
                    .map_or_else(|| pending[from].name.span(), Spanned::span);
                (
                    pending[from].file,
                    written,
                    format!("`{}` depends on `{}`", name(from), name(to)),
                )
            }
            Edge::Handler(key) => (
                pending[to].file,
                handler_span(pending, to, key, from),
                format!("`{}` runs `{}` after it ({key})", name(to), name(from)),
            ),
        }
    };
    let (file, first, label) = place(0);
    let rest = (1..cycle.len())
        .map(|k| {
            let (file, written, message) = place(k);
            LoadError::note(&files[file], written, message, "here")
        })
        .collect();
    LoadError::HandlerCycle {
        src: files[file].named(),
        span: span(first),
        label,
        path,
        rest,
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::diagnostic::SourceFile;
    use crate::task::{TaskSet, Vars, load_sources};

    fn load(text: &str) -> Result<TaskSet, String> {
        let file = SourceFile::new("tasks/t.toml", text.to_owned());
        load_sources(Path::new("/repo"), vec![file], &Vars::default()).map_err(|e| {
            e.errors
                .iter()
                .map(|e| format!("{e}"))
                .collect::<Vec<_>>()
                .join("\n")
        })
    }

    #[test]
    fn handlers_resolve_to_tasks() {
        let set = load(
            "[tasks.a]\nshell = \"a\"\non-failure = [\"undo\", \"undo\"]\nfinally = [\"clean\"]\n[tasks.undo]\nshell = \"u\"\n[tasks.clean]\nshell = \"c\"\n",
        )
        .unwrap();
        let a = set.get(set.find("a").unwrap());
        assert_eq!(a.on_failure, [set.find("undo").unwrap()]);
        assert_eq!(a.finally, [set.find("clean").unwrap()]);
    }

    #[test]
    fn an_unknown_handler_suggests_a_name() {
        let errors =
            load("[tasks.a]\nshell = \"a\"\non-failure = [\"rollbak\"]\n[tasks.rollback]\nshell = \"r\"\n")
                .unwrap_err();
        assert_eq!(errors, "`on-failure` of task `a` names unknown task `rollbak`");
    }

    #[test]
    fn a_handler_of_itself_or_of_its_handler_is_a_cycle() {
        let errors = load("[tasks.a]\nshell = \"a\"\nfinally = [\"a\"]\n").unwrap_err();
        assert_eq!(errors, "cycle through `on-failure` or `finally`: a → a");
        let errors = load(
            "[tasks.a]\nshell = \"a\"\non-failure = [\"b\"]\n[tasks.b]\nshell = \"b\"\non-failure = [\"a\"]\n",
        )
        .unwrap_err();
        assert!(
            errors.starts_with("cycle through `on-failure` or `finally`: "),
            "{errors}"
        );
    }

    #[test]
    fn a_handler_that_the_task_needs_is_a_cycle() {
        let errors = load(
            "[tasks.prep]\nshell = \"p\"\n[tasks.a]\ndeps = [\"prep\"]\nshell = \"a\"\nfinally = [\"prep\"]\n",
        )
        .unwrap_err();
        assert_eq!(errors, "cycle through `on-failure` or `finally`: prep → a → prep");
    }

    #[test]
    fn a_handler_that_depends_on_its_task_is_refused() {
        let errors = load("[tasks.a]\nshell = \"a\"\non-failure = [\"undo\"]\n[tasks.undo]\ndeps = [\"a\"]\nshell = \"u\"\n")
            .unwrap_err();
        assert_eq!(
            errors,
            "`on-failure` of task `a` runs `undo`, which depends on `a`"
        );
    }
}
