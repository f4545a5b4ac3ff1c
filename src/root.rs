//! Finding the repository root: the nearest directory, from the working directory
//! upwards, that holds `tasks/`.

use std::path::{Path, PathBuf};

use miette::Diagnostic;
use thiserror::Error;

#[derive(Debug, Error, Diagnostic)]
pub enum RootError {
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

/// The root to use: `--root` as given, or the nearest ancestor holding `tasks/`.
pub fn find(explicit: Option<&Path>) -> Result<PathBuf, RootError> {
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
    cwd.ancestors()
        .find(|dir| dir.join("tasks").is_dir())
        .map(Path::to_path_buf)
        .ok_or_else(|| RootError::NotFound {
            start: cwd.display().to_string(),
        })
}
