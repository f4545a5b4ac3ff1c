//! Finding the repository root: the nearest directory, from the working directory
//! upwards, that holds one of the entries marking a root. Tasks need `tasks/`
//! ([`TASKS`]); `ops lint` also accepts `policies/` or `.git` ([`LINT`]).

use std::path::{Path, PathBuf};

use miette::Diagnostic;
use thiserror::Error;

#[derive(Debug, Error, Diagnostic)]
pub(crate) enum RootError {
    #[error("no `tasks/` directory in {start} or any parent directory")]
    #[diagnostic(
        code(ops::root::not_found),
        help("run `ops` inside a repository that has a `tasks/` directory, or pass `--root DIR`")
    )]
    NotFound { start: String },

    #[error("--root {path}: not a directory")]
    #[diagnostic(code(ops::root::invalid))]
    Invalid { path: String },

    #[error("cannot read the working directory")]
    #[diagnostic(code(ops::root::cwd))]
    Cwd(#[source] std::io::Error),
}

/// An entry whose presence makes its parent directory a root.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Mark {
    /// A directory of this name.
    Dir(&'static str),
    /// A file or directory of this name (`.git` is a file in a git worktree).
    Entry(&'static str),
}

impl Mark {
    fn is_in(self, dir: &Path) -> bool {
        match self {
            Self::Dir(name) => dir.join(name).is_dir(),
            Self::Entry(name) => dir.join(name).exists(),
        }
    }
}

/// What marks the root of a repository with runbooks.
pub(crate) const TASKS: &[Mark] = &[Mark::Dir("tasks")];

/// What marks the root `ops lint` works in.
pub(crate) const LINT: &[Mark] = &[Mark::Entry("tasks"), Mark::Entry("policies"), Mark::Entry(".git")];

/// The nearest directory from `start` upwards (`start` included) holding any of `marks`.
pub(crate) fn nearest(start: &Path, marks: &[Mark]) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|dir| marks.iter().any(|m| m.is_in(dir)))
        .map(Path::to_path_buf)
}

/// The root to use: `--root` as given, or the nearest ancestor holding `tasks/`.
pub(crate) fn find(explicit: Option<&Path>) -> Result<PathBuf, RootError> {
    if let Some(path) = explicit {
        return path
            .canonicalize()
            .ok()
            .filter(|p| p.is_dir())
            .ok_or_else(|| RootError::Invalid {
                path: path.display().to_string(),
            });
    }
    let cwd = std::env::current_dir().map_err(RootError::Cwd)?;
    nearest(&cwd, TASKS).ok_or_else(|| RootError::NotFound {
        start: cwd.display().to_string(),
    })
}

/// The root `ops lint` works in: `--root` as given, else the nearest directory
/// upwards marked by [`LINT`], else the working directory.
pub(crate) fn for_lint(explicit: Option<&Path>) -> PathBuf {
    if let Some(root) = explicit {
        return root.to_path_buf();
    }
    let cwd = std::env::current_dir().unwrap_or_default();
    nearest(&cwd, LINT).unwrap_or(cwd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nearest_marked_directory_wins() {
        let dir = tempfile::tempdir().unwrap();
        let inner = dir.path().join("a/b");
        std::fs::create_dir_all(inner.join("c")).unwrap();
        std::fs::create_dir(dir.path().join("tasks")).unwrap();
        std::fs::write(dir.path().join("a/.git"), "gitdir: elsewhere\n").unwrap();
        let start = inner.join("c");
        assert_eq!(nearest(&start, TASKS), Some(dir.path().to_path_buf()));
        assert_eq!(nearest(&start, LINT), Some(dir.path().join("a")));
        // A file named `tasks` does not mark a runbook root.
        std::fs::write(inner.join("tasks"), "").unwrap();
        assert_eq!(nearest(&start, TASKS), Some(dir.path().to_path_buf()));
        assert_eq!(nearest(&start, LINT), Some(inner));
    }
}
