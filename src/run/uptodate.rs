//! Up-to-date checks for tasks with `sources`: a task is skipped when the content of
//! its sources, its outputs and its definition are what they were after its last
//! successful run. The state lives in `.ops/state.json` under the root, written
//! atomically.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::{Deserialize, Serialize};

use crate::task::Task;

/// What was true after a task's last successful run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Stamp {
    pub fingerprint: String,
    pub sources: String,
    pub outputs: String,
}

/// Stamps of every task, persisted under `.ops/`.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct State {
    tasks: BTreeMap<String, Stamp>,
    #[serde(skip)]
    path: PathBuf,
}

impl State {
    /// Read the state of `root`; a missing or unreadable file is an empty state.
    pub(crate) fn load(root: &Path) -> Self {
        let path = root.join(".ops").join("state.json");
        let mut state: Self = std::fs::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        state.path = path;
        state
    }

    pub(crate) fn get(&self, task: &str) -> Option<&Stamp> {
        self.tasks.get(task)
    }

    /// Record a stamp and write the state (to a temporary file, then renamed).
    pub(crate) fn record(&mut self, task: &str, stamp: Stamp) -> std::io::Result<()> {
        self.tasks.insert(task.to_owned(), stamp);
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        serde_json::to_writer_pretty(&mut tmp, self)?;
        tmp.write_all(b"\n")?;
        tmp.as_file().sync_all()?;
        tmp.persist(&self.path).map_err(|e| e.error)?;
        Ok(())
    }
}

/// Hash of the sources' paths and contents.
pub(crate) fn hash_sources(root: &Path, task: &Task) -> std::io::Result<String> {
    let mut hasher = blake3::Hasher::new();
    for path in matching(root, &task.sources)? {
        hasher.update(path.to_string_lossy().as_bytes());
        hasher.update(&[0]);
        let full = root.join(&path);
        if full.is_file() {
            let mut file = std::fs::File::open(&full)?;
            hasher.update_reader(&mut file)?;
        }
        hasher.update(&[0]);
    }
    Ok(hasher.finalize().to_hex()[..32].to_owned())
}

/// A stamp of the outputs (symlink targets, file sizes and modification times), or
/// `None` when an output is missing.
pub(crate) fn hash_outputs(root: &Path, task: &Task) -> std::io::Result<Option<String>> {
    let mut hasher = blake3::Hasher::new();
    for pattern in &task.outputs {
        let found = matching(root, std::slice::from_ref(pattern))?;
        if found.is_empty() {
            return Ok(None);
        }
        for path in found {
            let full = root.join(&path);
            let meta = std::fs::symlink_metadata(&full)?;
            hasher.update(path.to_string_lossy().as_bytes());
            if meta.file_type().is_symlink() {
                hasher.update(std::fs::read_link(&full)?.to_string_lossy().as_bytes());
            } else {
                hasher.update(&meta.len().to_le_bytes());
                let mtime = meta
                    .modified()?
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default();
                hasher.update(&mtime.as_nanos().to_le_bytes());
            }
        }
    }
    Ok(Some(hasher.finalize().to_hex()[..32].to_owned()))
}

/// Whether `task` can be skipped.
pub(crate) fn is_up_to_date(root: &Path, task: &Task, state: &State) -> bool {
    if task.sources.is_empty() {
        return false;
    }
    let Some(stamp) = state.get(&task.name) else {
        return false;
    };
    stamp.fingerprint == task.fingerprint()
        && hash_sources(root, task).is_ok_and(|h| h == stamp.sources)
        && hash_outputs(root, task)
            .ok()
            .flatten()
            .is_some_and(|h| h == stamp.outputs)
}

/// Paths (relative to `root`, sorted) matching any of `patterns`. A pattern that
/// names an existing path matches it; otherwise the walk starts at the pattern's
/// longest literal directory prefix.
fn matching(root: &Path, patterns: &[String]) -> std::io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for pattern in patterns {
        let literal = root.join(pattern);
        if !has_glob_chars(pattern) {
            if std::fs::symlink_metadata(&literal).is_ok() {
                if literal.is_dir() && !literal.is_symlink() {
                    walk(root, Path::new(pattern), None, &mut found);
                } else {
                    found.push(PathBuf::from(pattern));
                }
            }
            continue;
        }
        let base: PathBuf = Path::new(pattern)
            .components()
            .take_while(|c| !has_glob_chars(&c.as_os_str().to_string_lossy()))
            .collect();
        let glob = Glob::new(pattern).map_err(std::io::Error::other)?;
        let set = GlobSetBuilder::new()
            .add(glob)
            .build()
            .map_err(std::io::Error::other)?;
        walk(root, &base, Some(&set), &mut found);
    }
    found.sort();
    found.dedup();
    Ok(found)
}

fn walk(root: &Path, base: &Path, filter: Option<&GlobSet>, found: &mut Vec<PathBuf>) {
    let walker = ignore::WalkBuilder::new(root.join(base))
        .standard_filters(false)
        .filter_entry(|e| !matches!(e.file_name().to_str(), Some(".git" | ".ops")))
        .build();
    for entry in walker.flatten() {
        if !entry.file_type().is_some_and(|t| t.is_file() || t.is_symlink()) {
            continue;
        }
        let Ok(rel) = entry.path().strip_prefix(root) else {
            continue;
        };
        if filter.is_none_or(|set| set.is_match(rel)) {
            found.push(rel.to_path_buf());
        }
    }
}

fn has_glob_chars(s: &str) -> bool {
    s.contains(['*', '?', '[', '{'])
}
