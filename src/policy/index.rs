//! The lint index, `.ops/lint-index`: what the last walk of the repository found
//! (its directories, their YAML files, the ignore files that shaped it) and what each
//! kustomization lists, kept between runs.
//!
//! A partial lint (the pre-commit path) needs every kustomization's list, because any
//! of them may build the files it is about. Listing a 1,000-directory tree and parsing
//! its 1,000 kustomizations costs tens of milliseconds; checking that nothing changed
//! costs one `stat` per directory and per kustomization. A directory's stamp changes
//! when an entry is added, removed or renamed in it, so an unchanged directory has the
//! same listing; edits to a kustomization change its own stamp, and it is read again.
//! When anything the walk depends on changed (a directory, an ignore file, git's
//! global excludes), the tree is walked as if there were no index, and the index is
//! written again. A full lint writes it too.
//!
//! It is a cache: it is never needed, a missing, unreadable or other version's index
//! is ignored (it is postcard, a compact binary encoding), a failure to write it is not an error, and `ops lint --no-cache`
//! neither reads nor writes it.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::stamp::Stamp;
use super::walk::Walked;

/// The index's file, under the root.
const FILE: &str = ".ops/lint-index";

/// Changed whenever the meaning of a field changes: an index of another version is
/// ignored.
const VERSION: u32 = 4;

/// A kustomization, as it was when it was read.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct Listing {
    pub(crate) file: PathBuf,
    pub(crate) stamp: Stamp,
    /// The local paths it lists, relative to the root (`None`: the file was not a
    /// kustomization that parses).
    #[serde(with = "super::front_coded::option")]
    pub(crate) paths: Option<Vec<PathBuf>>,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct Index {
    /// First, so that an index of another layout is rejected as soon as it is read.
    version: u32,
    /// The canonical path of the root it describes (a copied `.ops/` describes
    /// another tree).
    root: PathBuf,
    /// When the walk began: no stamp taken after it is trusted as settled.
    taken: SystemTime,
    inputs: Vec<(PathBuf, Option<Stamp>)>,
    ignore_files: Vec<(PathBuf, Option<Stamp>)>,
    /// Every directory listed, stamped before it was listed.
    dirs: Vec<(PathBuf, Stamp)>,
    /// The YAML files found, in the order of their bytes (the order a lint keeps its
    /// files in, so that it need not sort them again).
    #[serde(with = "super::front_coded")]
    files: Vec<PathBuf>,
    /// In the order of the bytes of their paths (as the files they are among), so
    /// that one is found by a binary search.
    kustomizations: Vec<Listing>,
    /// The root, open: stamps are taken relative to it.
    #[serde(skip)]
    dir: Option<File>,
}

/// Whether a file still has the stamp it had (and it was settled then).
fn unchanged(path: &Path, stamp: Option<Stamp>, taken: SystemTime) -> bool {
    match stamp {
        None => Stamp::of_path(path).is_none(),
        Some(stamp) => stamp.settled(taken) && stamp.again(path) == Some(stamp),
    }
}

/// [`unchanged`] for `path` relative to the root, open as `dir` (or by its path
/// when it could not be opened).
fn unchanged_in(root: &Path, dir: Option<&File>, path: &Path, stamp: Stamp, taken: SystemTime) -> bool {
    match dir {
        Some(dir) if !stamp.kind_only() => stamp.settled(taken) && Stamp::at(dir, path) == Some(stamp),
        _ => unchanged(&root.join(path), Some(stamp), taken),
    }
}

impl Index {
    /// The index of `root`, if there is one of this version for this tree.
    pub(crate) fn load(root: &Path) -> Option<Self> {
        let bytes = std::fs::read(root.join(FILE)).ok()?;
        let mut index: Self = postcard::from_bytes(&bytes).ok()?;
        if index.version != VERSION || root.canonicalize().ok()? != index.root {
            return None;
        }
        let order = |a: &Listing, b: &Listing| a.file.as_os_str().cmp(b.file.as_os_str());
        if !index.kustomizations.is_sorted_by(|a, b| order(a, b).is_le()) {
            index.kustomizations.sort_by(order);
        }
        index.dir = File::open(root).ok();
        Some(index)
    }

    /// What the walk of `root` would find, if nothing it depends on changed since the
    /// index was written (the listings are moved out of the index).
    pub(crate) fn take_walk(&mut self, root: &Path) -> Option<Walked> {
        let files_unchanged = self
            .inputs
            .par_iter()
            .chain(self.ignore_files.par_iter())
            .all(|(path, stamp)| unchanged(path, *stamp, self.taken));
        let dirs_unchanged = files_unchanged
            && self
                .dirs
                .par_iter()
                .all(|(path, stamp)| unchanged_in(root, self.dir.as_ref(), path, *stamp, self.taken));
        if !dirs_unchanged {
            return None;
        }
        Some(Walked {
            files: std::mem::take(&mut self.files),
            unlisted: Vec::new(),
            dirs: std::mem::take(&mut self.dirs),
            inputs: std::mem::take(&mut self.inputs),
            ignore_files: std::mem::take(&mut self.ignore_files),
        })
    }

    /// Where the kustomization `file` is in `kustomizations`.
    fn position(&self, file: &Path) -> Option<usize> {
        self.kustomizations
            .binary_search_by(|k| k.file.as_os_str().cmp(file.as_os_str()))
            .ok()
    }

    /// Whether the kustomization `file` is as it was when the index was written.
    pub(crate) fn is_current(&self, root: &Path, file: &Path) -> bool {
        self.position(file).is_some_and(|i| {
            let listing = &self.kustomizations[i];
            unchanged_in(root, self.dir.as_ref(), file, listing.stamp, self.taken)
        })
    }

    /// What the kustomization `file` lists, moved out of the index (`None` also when
    /// it does not parse as a kustomization).
    pub(crate) fn take_paths(&mut self, file: &Path) -> Option<Vec<PathBuf>> {
        let i = self.position(file)?;
        self.kustomizations[i].paths.take()
    }

    /// The stamp a kustomization had when the index was written.
    pub(crate) fn stamp_of(&self, file: &Path) -> Option<Stamp> {
        Some(self.kustomizations[self.position(file)?].stamp)
    }

    /// Write the index of a walk of `root` that began at `taken`, with the
    /// kustomizations as read. Nothing is written for a walk that could not list a
    /// directory, and a failure to write is dropped: the index is a cache.
    /// `files` are the walk's (`walked.files` has been moved out).
    pub(crate) fn save(
        root: &Path,
        taken: SystemTime,
        walked: &Walked,
        mut files: Vec<PathBuf>,
        kustomizations: Vec<Listing>,
    ) {
        if !walked.unlisted.is_empty() {
            return;
        }
        let Ok(canonical) = root.canonicalize() else {
            return;
        };
        let listed: std::collections::HashSet<&[u8]> = walked
            .dirs
            .iter()
            .map(|(path, _)| path.as_os_str().as_encoded_bytes())
            .collect();
        let in_listed = |file: &PathBuf| {
            let dir = file.parent().unwrap_or(Path::new(""));
            listed.contains(dir.as_os_str().as_encoded_bytes())
        };
        if !files.iter().all(in_listed) {
            return; // a file outside the directories listed: not the root's walk
        }
        files.sort_unstable_by(|a, b| a.as_os_str().cmp(b.as_os_str()));
        let index = Self {
            version: VERSION,
            root: canonical,
            taken,
            inputs: walked.inputs.clone(),
            ignore_files: walked.ignore_files.clone(),
            dirs: walked.dirs.clone(),
            files,
            kustomizations,
            dir: None,
        };
        let _ = index.write(root);
    }

    /// Make the directory of the index before the walk whose index it will hold: made
    /// after, it would change the root's stamp taken by that walk. It ignores itself
    /// (local state, never committed).
    pub(crate) fn prepare(root: &Path) {
        let dir = root.join(FILE);
        let Some(dir) = dir.parent() else { return };
        if !dir.exists() && std::fs::create_dir(dir).is_ok() {
            let _ = std::fs::write(
                dir.join(".gitignore"),
                "# Local state of ops (run journal, lint index).\n*\n",
            );
        }
    }

    fn write(&self, root: &Path) -> std::io::Result<()> {
        let path = root.join(FILE);
        let dir = path.parent().unwrap_or(root);
        let bytes = postcard::to_stdvec(self).map_err(std::io::Error::other)?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        std::io::Write::write_all(&mut tmp, &bytes)?;
        tmp.persist(&path).map_err(|e| e.error)?;
        Ok(())
    }
}
