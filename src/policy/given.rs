//! The paths a partial lint is about (the files of a commit, directories given on
//! the command line), and which files of the tree they are.
//!
//! A partial lint asks of every file of the tree whether it is one of them, several
//! times. The tree's files are in the order of their bytes, so the question is
//! answered once for all of them by a binary search per given path
//! ([`Given::marks`]): the files at or below a directory are one run of that order.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// The paths of a partial lint, relative to the root and normal (no `.`, `..` or
/// doubled `/`).
pub(crate) struct Given<'a> {
    /// Every path given, by its bytes.
    exact: HashSet<&'a [u8], foldhash::fast::RandomState>,
    /// The given paths that are not files: directories (and paths that are not
    /// there), whose files are below them.
    below: Vec<&'a [u8]>,
}

impl<'a> Given<'a> {
    pub(crate) fn new(root: &Path, paths: &'a [PathBuf]) -> Self {
        Self {
            exact: paths.iter().map(|p| bytes(p)).collect(),
            below: paths
                .iter()
                .filter(|p| !root.join(p).is_file())
                .map(|p| bytes(p))
                .collect(),
        }
    }

    /// Whether `path` is one of the paths or below one ([`is_under`]). For a path
    /// that is not in the tree's list; those are answered by [`Self::marks`].
    pub(crate) fn has(&self, path: &Path) -> bool {
        let path = bytes(path);
        self.exact.contains(path) || self.below.iter().any(|dir| is_under(path, dir))
    }

    /// Which of `sorted` (in the order of the bytes of `key`, without repeats) are
    /// given paths or below one: the answer of [`Self::has`] for each, found by a
    /// binary search per given path rather than a look-up per item.
    pub(crate) fn marks<T>(&self, sorted: &[T], key: impl Fn(&T) -> &Path) -> Vec<bool> {
        debug_assert!(sorted.is_sorted_by(|a, b| bytes(key(a)) < bytes(key(b))));
        let mut marks = vec![false; sorted.len()];
        let at = |path: &[u8]| sorted.partition_point(|item| bytes(key(item)) < path);
        for path in &self.exact {
            let i = at(path);
            if sorted.get(i).is_some_and(|item| bytes(key(item)) == *path) {
                marks[i] = true;
            }
        }
        for dir in &self.below {
            if dir.is_empty() {
                marks.fill(true);
                break;
            }
            // What is below `dir` is all that starts with `dir/`: in byte order, from
            // `dir/` up to `dir0` ('0' is the byte after '/').
            let mut start = dir.to_vec();
            start.push(b'/');
            let first = at(&start);
            *start.last_mut().expect("pushed") = b'0';
            let end = at(&start);
            marks[first..end].fill(true);
        }
        marks
    }
}

fn bytes(path: &Path) -> &[u8] {
    path.as_os_str().as_encoded_bytes()
}

/// Whether `path` is `dir` or below it. Both are relative to the root and normal,
/// so bytes compare as components would, at a fraction of the cost.
fn is_under(path: &[u8], dir: &[u8]) -> bool {
    // The byte after `dir` first: it rules out nearly every path without comparing.
    dir.is_empty()
        || match path.len().cmp(&dir.len()) {
            std::cmp::Ordering::Equal => path == dir,
            std::cmp::Ordering::Greater => path[dir.len()] == b'/' && path.starts_with(dir),
            std::cmp::Ordering::Less => false,
        }
}

#[cfg(test)]
mod tests {
    use super::{Given, is_under};
    use std::path::{Path, PathBuf};

    #[test]
    fn a_path_is_under_itself_its_directories_and_the_root_only() {
        let under = |path: &str, dir: &str| is_under(path.as_bytes(), dir.as_bytes());
        assert!(under("apps/web/a.yaml", "apps/web/a.yaml"));
        assert!(under("apps/web/a.yaml", "apps/web"));
        assert!(under("apps/web/a.yaml", "apps"));
        assert!(under("apps/web/a.yaml", ""));
        assert!(!under("apps/web/a.yaml", "apps/we"));
        assert!(!under("apps/web-2/a.yaml", "apps/web"));
        assert!(!under("apps/web", "apps/web/a.yaml"));
        assert!(!under("apps/wex/a.yaml", "apps/web"));
        assert!(!under("other/a.yaml", "apps/web/a.yaml"));
    }

    /// The marks agree with [`Given::has`] on every path of a tree whose names sort
    /// around `/` (`-`, `.` before it, `0` after), for files, directories, the root
    /// and paths that are not there.
    #[test]
    fn marks_are_what_has_says_of_each_path() {
        let root = tempfile::tempdir().unwrap();
        let mut tree: Vec<&str> = vec![
            "a.yaml",
            "apps.yaml",
            "apps-2/x.yaml",
            "apps.d/x.yaml",
            "apps/web.yaml",
            "apps/web-2/a.yaml",
            "apps/web/a.yaml",
            "apps/web/b/c.yaml",
            "apps/web0/a.yaml",
            "apps/webx.yaml",
            "apps0/a.yaml",
            "b/a.yaml",
        ];
        tree.sort_unstable();
        for file in &tree {
            let path = root.path().join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "").unwrap();
        }
        let sorted: Vec<PathBuf> = tree.iter().map(PathBuf::from).collect();
        let cases: &[&[&str]] = &[
            &["apps/web/a.yaml"],
            &["apps/web"],
            &["apps"],
            &["apps", "apps/web/a.yaml"],
            &["apps/web", "b/a.yaml", "apps.yaml"],
            &["apps/we", "missing/x.yaml", "apps/web/b"],
            &[""],
            &[],
        ];
        for case in cases {
            let paths: Vec<PathBuf> = case.iter().map(PathBuf::from).collect();
            let given = Given::new(root.path(), &paths);
            let marks = given.marks(&sorted, PathBuf::as_path);
            let expected: Vec<bool> = sorted.iter().map(|p| given.has(p)).collect();
            assert_eq!(marks, expected, "given {case:?}");
        }
        // Not vacuous: a directory marks what is below it and nothing beside it.
        let paths = vec![PathBuf::from("apps/web")];
        let marked: Vec<&Path> = Given::new(root.path(), &paths)
            .marks(&sorted, PathBuf::as_path)
            .iter()
            .zip(&sorted)
            .filter(|(m, _)| **m)
            .map(|(_, p)| p.as_path())
            .collect();
        assert_eq!(
            marked,
            [Path::new("apps/web/a.yaml"), Path::new("apps/web/b/c.yaml")]
        );
    }
}
