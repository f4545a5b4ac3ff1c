//! Includes: task files from outside `tasks/`, declared in `ops.toml`, each under a
//! namespace named by its key.
//!
//! ```toml
//! [include]
//! shared = { path = "../platform-runbooks/tasks" }        # its tasks run as shared:NAME
//! upstream = { git = "https://forge.example.net/ops/runbooks.git", rev = "<40-hex commit>", path = "tasks" }
//! ```
//!
//! A git include is pinned to a commit: it is cloned once into `.ops/includes/`
//! (into a temporary directory renamed when complete, so an interrupted fetch leaves
//! nothing half-done), checked out detached at `rev`, and verified to be at `rev`
//! every time it is used. Nothing is fetched again while the checkout is there.

use std::path::{Path, PathBuf};

use super::error::LoadError;

/// An include, as `ops.toml` declares it.
#[derive(Clone, Debug)]
pub(crate) struct Include {
    pub name: String,
    pub from: From,
}

#[derive(Clone, Debug)]
pub(crate) enum From {
    /// A directory, relative to the root.
    Local(String),
    /// A directory of a git repository at a pinned commit.
    Git { url: String, rev: String, path: String },
}

/// Where the include's task files are: as diagnostics show it, and on disk.
pub(super) fn directory(
    root: &Path,
    include: &Include,
    errors: &mut Vec<LoadError>,
) -> Option<(String, PathBuf)> {
    let failed = |reason: String| LoadError::Read {
        path: format!("ops.toml [include] {}", include.name),
        reason,
    };
    match &include.from {
        From::Local(path) => {
            let dir = root.join(path);
            if dir.is_dir() {
                Some((path.trim_end_matches('/').to_owned(), dir))
            } else {
                errors.push(failed(format!("`{path}` is not a directory")));
                None
            }
        }
        From::Git { url, rev, path } => match checkout(root, &include.name, url, rev) {
            Ok(shown) => {
                let dir = root.join(&shown).join(path);
                if dir.is_dir() {
                    Some((format!("{shown}/{}", path.trim_end_matches('/')), dir))
                } else {
                    errors.push(failed(format!("`{path}` is not a directory of {url} at {rev}")));
                    None
                }
            }
            Err(reason) => {
                errors.push(failed(reason));
                None
            }
        },
    }
}

/// The checkout of `url` at `rev` (relative to the root), fetched if it is not there.
fn checkout(root: &Path, name: &str, url: &str, rev: &str) -> Result<String, String> {
    let shown = format!(".ops/includes/{name}-{}", &rev[..12]);
    let dir = root.join(&shown);
    if dir.is_dir() {
        let head = git(&dir, &["rev-parse", "HEAD"])?;
        return if head.trim() == rev {
            Ok(shown)
        } else {
            Err(format!(
                "{shown} is at {}, not at the pinned {rev}: remove the directory to fetch it again",
                head.trim()
            ))
        };
    }
    let parent = dir.parent().expect("under .ops/includes");
    std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    let temporary = tempfile::Builder::new()
        .prefix(".fetching-")
        .tempdir_in(parent)
        .map_err(|e| format!("cannot create a directory in {}: {e}", parent.display()))?;
    let work = temporary.path();
    let work_text = work.to_string_lossy().into_owned();
    git(parent, &["clone", "--quiet", "--no-checkout", url, &work_text])
        .map_err(|e| format!("cannot fetch {url}: {e}"))?;
    git(work, &["checkout", "--quiet", "--detach", rev])
        .map_err(|e| format!("{url} has no commit {rev}: {e}"))?;
    let head = git(work, &["rev-parse", "HEAD"])?;
    if head.trim() != rev {
        return Err(format!("{url} checked out at {}, not at {rev}", head.trim()));
    }
    let kept = temporary.keep();
    std::fs::rename(&kept, &dir).map_err(|e| format!("cannot move the checkout to {shown}: {e}"))?;
    Ok(shown)
}

fn git(dir: &Path, args: &[&str]) -> Result<String, String> {
    crate::process::stdout_of("git", args, dir).map_err(|e| match e.stderr_tail() {
        Some(tail) => tail.lines().last().unwrap_or(tail).to_owned(),
        None => e.to_string(),
    })
}
