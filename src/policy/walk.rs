//! The walk of a repository for `ops lint`: every directory listed once, and an
//! ignore file read only where the listing of its directory shows one.
//!
//! The answer is that of the `ignore` crate's walker as `ops lint` used it
//! (`.gitignore` inside a git or jj repository, `.ignore`, `.git/info/exclude`, git's
//! global excludes file, the rules of the directories above the start, hidden files
//! skipped unless an ignore file re-includes them); the tests compare the two on
//! generated trees. What it saves is the look-ups: that walker asks for `.git`, `.jj`,
//! `.ignore`, `.gitignore` and `.git/info/exclude` in every directory, five failed
//! `statx` a directory where the listing it has just read already says they are not
//! there. It also stamps each directory before listing it, for the lint index.

use std::fs::FileType;
use std::path::{Path, PathBuf};

use ignore::Match;
use ignore::gitignore::{Gitignore, GitignoreBuilder};

use super::stamp::Stamp;

/// What a walk found.
#[derive(Default)]
pub(crate) struct Walked {
    /// The YAML files (and FIFOs, sockets, devices named like YAML), relative to the root.
    pub files: Vec<PathBuf>,
    /// The directories that could not be listed, relative to the root, and why.
    pub unlisted: Vec<(PathBuf, String)>,
    /// Every directory listed, relative to the root, stamped before it was listed.
    pub dirs: Vec<(PathBuf, Stamp)>,
    /// The files outside the listed directories whose change would change the
    /// walk (absolute): ignore files above the start, inside `.git`, git's global
    /// configuration and excludes file; `None` when absent.
    pub inputs: Vec<(PathBuf, Option<Stamp>)>,
    /// The ignore files inside the listed directories (absolute): their directory's
    /// stamp does not change when they are edited.
    pub ignore_files: Vec<(PathBuf, Option<Stamp>)>,
}

/// The ignore rules of one directory.
struct Level {
    has_git: bool,
    ignore: Gitignore,
    gitignore: Gitignore,
    exclude: Gitignore,
}

/// Which of the names that shape the ignore rules a directory holds.
#[derive(Default)]
struct Markers {
    ignore: bool,
    gitignore: bool,
    /// `.git`, and whether it is a file (a worktree or submodule pointing elsewhere).
    git: Option<bool>,
    jj: bool,
}

/// A `.gitignore`-style file of `dir`, when it is there: a matcher (empty when the
/// file does not parse, as git ignores it), and its stamp for the index.
fn matcher(dir: &Path, file: &Path, stamps: &mut Vec<(PathBuf, Option<Stamp>)>) -> Gitignore {
    let stamp = Stamp::of_path(file);
    stamps.push((file.to_path_buf(), stamp));
    if stamp.is_none() {
        return Gitignore::empty();
    }
    let mut builder = GitignoreBuilder::new(dir);
    let _ = builder.add(file);
    builder.build().unwrap_or_else(|_| Gitignore::empty())
}

/// The git directory whose `info/exclude` applies to `dir`: `dir/.git`, or for a
/// `.git` file (`gitdir: …`) the common directory of the worktree it names.
fn git_common_dir(dir: &Path, git_is_file: bool) -> Option<PathBuf> {
    let dot_git = dir.join(".git");
    if !git_is_file {
        return Some(dot_git);
    }
    let first_line = |path: &Path| {
        let text = std::fs::read_to_string(path).ok()?;
        text.lines().next().map(str::to_owned)
    };
    let real = PathBuf::from(first_line(&dot_git)?.strip_prefix("gitdir: ")?);
    let common = first_line(&real.join("commondir"))?;
    Some(if common.starts_with('.') {
        real.join(common)
    } else {
        PathBuf::from(common)
    })
}

impl Level {
    fn new(dir: &Path, markers: &Markers, stamps: &mut Vec<(PathBuf, Option<Stamp>)>) -> Self {
        let empty = Gitignore::empty;
        Self {
            has_git: markers.git.is_some() || markers.jj,
            ignore: if markers.ignore {
                matcher(dir, &dir.join(".ignore"), stamps)
            } else {
                empty()
            },
            gitignore: if markers.gitignore {
                matcher(dir, &dir.join(".gitignore"), stamps)
            } else {
                empty()
            },
            exclude: match markers.git.and_then(|is_file| git_common_dir(dir, is_file)) {
                Some(git) => matcher(dir, &git.join("info/exclude"), stamps),
                None => empty(),
            },
        }
    }
}

/// Whether `path` is ignored, re-included (whitelisted) or neither by the rules of
/// `levels` (outermost first) and the global excludes: `.ignore` wins over
/// `.gitignore`, which wins over `info/exclude`, which wins over the global file;
/// within each the innermost directory that matches decides. Git's rules apply only
/// inside a repository, and not across the boundary of a nested one.
fn matched(levels: &[Level], global: &Gitignore, path: &Path, is_dir: bool) -> Match<()> {
    let any_git = levels.iter().any(|l| l.has_git);
    let (mut ignore, mut git, mut exclude) = (Match::None, Match::None, Match::None);
    let mut saw_git = false;
    let unit = |m: Match<&ignore::gitignore::Glob>| m.map(|_| ());
    for level in levels.iter().rev() {
        if ignore.is_none() {
            ignore = unit(level.ignore.matched(path, is_dir));
        }
        if any_git && !saw_git && git.is_none() {
            git = unit(level.gitignore.matched(path, is_dir));
        }
        if any_git && !saw_git && exclude.is_none() {
            exclude = unit(level.exclude.matched(path, is_dir));
        }
        saw_git = saw_git || level.has_git;
    }
    let global = if any_git {
        unit(global.matched(path, is_dir))
    } else {
        Match::None
    };
    ignore.or(git).or(exclude).or(global)
}

/// The files of git's global configuration that name the global excludes file, and
/// that file: what the walk's answer depends on outside the repository.
fn global_inputs() -> Vec<PathBuf> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let config_home = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| !p.as_os_str().is_empty())
        .or_else(|| home.as_ref().map(|h| h.join(".config")));
    let mut files: Vec<PathBuf> = std::env::var_os("GIT_CONFIG_GLOBAL")
        .map(PathBuf::from)
        .into_iter()
        .collect();
    files.extend(home.map(|h| h.join(".gitconfig")));
    files.extend(config_home.as_ref().map(|c| c.join("git/config")));
    files.extend(config_home.map(|c| c.join("git/ignore")));
    files.extend(ignore::gitignore::gitconfig_excludes_path());
    files.dedup();
    files
}

/// The markers of a directory above the start, looked up by name (its listing
/// could be large: `/tmp`, a home directory).
fn probe(dir: &Path) -> Markers {
    let git = std::fs::metadata(dir.join(".git")).ok().map(|m| m.is_file());
    Markers {
        ignore: dir.join(".ignore").exists(),
        gitignore: dir.join(".gitignore").exists(),
        git,
        jj: dir.join(".jj").exists(),
    }
}

struct Walker<'a> {
    skipped: &'a dyn Fn(&str) -> bool,
    wanted: &'a dyn Fn(&Path) -> bool,
    global: Gitignore,
    levels: Vec<Level>,
    out: Walked,
}

/// One entry of a listing.
struct Entry {
    name: std::ffi::OsString,
    file_type: FileType,
}

impl Walker<'_> {
    /// List `dir` (absolute; `rel` relative to the root), then what it holds that
    /// is not ignored, depth first.
    fn visit(&mut self, dir: &Path, rel: &Path, stamp: Option<Stamp>) {
        let listing = match std::fs::read_dir(dir) {
            Ok(listing) => listing,
            Err(e) => {
                self.out.unlisted.push((rel.to_path_buf(), e.to_string()));
                return;
            }
        };
        if let Some(stamp) = stamp {
            self.out.dirs.push((rel.to_path_buf(), stamp));
        }
        let mut entries = Vec::new();
        let mut markers = Markers::default();
        for entry in listing {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    self.out.unlisted.push((rel.to_path_buf(), e.to_string()));
                    continue;
                }
            };
            let name = entry.file_name();
            let Ok(file_type) = entry.file_type() else {
                continue;
            };
            match name.as_encoded_bytes() {
                b".ignore" => markers.ignore = true,
                b".gitignore" => markers.gitignore = true,
                b".git" => {
                    let meta = if file_type.is_symlink() {
                        std::fs::metadata(entry.path()).ok()
                    } else {
                        entry.metadata().ok()
                    };
                    markers.git = meta.map(|m| m.is_file());
                }
                b".jj" => markers.jj = !file_type.is_symlink() || entry.path().exists(),
                _ => {}
            }
            entries.push(Entry { name, file_type });
        }
        let level = Level::new(dir, &markers, &mut self.out.ignore_files);
        self.levels.push(level);
        for entry in entries {
            let path = dir.join(&entry.name);
            let is_dir = entry.file_type.is_dir();
            let m = matched(&self.levels, &self.global, &path, is_dir);
            let hidden = entry.name.as_encoded_bytes().starts_with(b".");
            if m.is_ignore() || (m.is_none() && hidden) {
                continue;
            }
            if entry.name.to_str().is_some_and(|n| (self.skipped)(n)) {
                continue;
            }
            let rel = rel.join(&entry.name);
            if is_dir {
                // Stamped before it is listed: a change made while it is listed
                // moves the stamp past the one recorded.
                let stamp = Stamp::of_path(&path);
                self.visit(&path, &rel, stamp);
            } else if !entry.file_type.is_symlink() && (self.wanted)(&rel) {
                self.out.files.push(rel);
            }
        }
        self.levels.pop();
    }
}

/// Walk `root/under`: the files `wanted` accepts (given paths relative to `root`),
/// not ignored, not below a directory whose name `skipped` accepts; symbolic links
/// are not followed. The rules of the directories above `root/under` apply.
pub(crate) fn walk(
    root: &Path,
    under: &Path,
    skipped: &dyn Fn(&str) -> bool,
    wanted: &dyn Fn(&Path) -> bool,
) -> Walked {
    // Walked from its canonical path, so that the rules of the directories above
    // (found from it) and those inside see the same paths.
    let start = root.join(under);
    let start = start.canonicalize().unwrap_or(start);
    let mut walker = Walker {
        skipped,
        wanted,
        global: Gitignore::global().0,
        levels: Vec::new(),
        out: Walked::default(),
    };
    for file in global_inputs() {
        let stamp = Stamp::of_path(&file);
        walker.out.inputs.push((file, stamp));
    }
    // The rules of the directories above, found by name; their own listings are
    // not the walk's (and could be large), so their markers are inputs too.
    let mut above: Vec<&Path> = start.ancestors().skip(1).collect();
    above.reverse();
    for dir in above {
        let markers = probe(dir);
        for name in [".ignore", ".gitignore"] {
            let path = dir.join(name);
            let stamp = Stamp::of_path(&path);
            walker.out.inputs.push((path, stamp));
        }
        // Whether `.git` and `.jj` are there, and what they are, not their
        // stamps: git changes its directory's at every commit.
        for name in [".git", ".jj"] {
            let path = dir.join(name);
            let stamp = Stamp::kind_of(&path);
            walker.out.inputs.push((path, stamp));
        }
        let mut stamps = Vec::new();
        let level = Level::new(dir, &markers, &mut stamps);
        walker.out.inputs.extend(stamps);
        walker.levels.push(level);
    }
    let stamp = Stamp::of_path(&start);
    walker.visit(&start, under, stamp);
    walker.out
}

#[cfg(test)]
#[path = "walk_tests.rs"]
mod tests;
