//! The walk against the `ignore` crate's walker, on generated trees of nested
//! ignore files, negations, hidden files, nested repositories and worktree-style
//! `.git` files: both must find the same files.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::walk;

/// A small deterministic generator (xorshift), so that a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap()
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const DIRS: &[&str] = &[
    "a",
    "b",
    "build",
    ".hidden",
    "sub",
    "node_modules",
    "x y",
    "templates",
];
const FILES: &[&str] = &[
    "k.yaml",
    "d.yaml",
    ".h.yaml",
    "t.yml",
    "Kustomization",
    "n.txt",
    "sub.yaml",
];
const PATTERNS: &[&str] = &[
    "*.yml",
    "build/",
    "/a",
    "!d.yaml",
    "sub/*.yaml",
    "!.h.yaml",
    "**/t.yml",
    "# a comment",
    "d.yaml",
    "b",
    "!b/",
    "x y/",
    "/k.yaml",
    "a/**/k.yaml",
    "!sub",
    ".hidden",
    "!.hidden/",
    "*.yaml",
    "!/sub.yaml",
    "[",
    "\\#x",
    "templates",
    "!templates/",
];

fn skipped(name: &str) -> bool {
    name == ".git" || name == "node_modules" || name.starts_with("result")
}

fn is_yaml(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "yaml" || e == "yml")
        || path.file_name().is_some_and(|n| n == "Kustomization")
}

fn ignore_file(rng: &mut Rng, path: &Path) {
    let lines: Vec<&str> = (0..=rng.below(4)).map(|_| rng.pick(PATTERNS)).collect();
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

fn fill(rng: &mut Rng, dir: &Path, depth: usize) {
    for _ in 0..rng.below(5) {
        std::fs::write(dir.join(rng.pick(FILES)), "a: 1\n").unwrap();
    }
    match rng.below(8) {
        0 => ignore_file(rng, &dir.join(".gitignore")),
        1 => ignore_file(rng, &dir.join(".ignore")),
        2 if depth > 0 && !dir.join(".git").exists() => {
            // A nested repository: its own `.git`, sometimes a worktree's file.
            if rng.below(2) == 0 {
                std::fs::create_dir_all(dir.join(".git/info")).unwrap();
                ignore_file(rng, &dir.join(".git/info/exclude"));
            } else {
                std::fs::write(dir.join(".git"), "gitdir: /nonexistent/worktree\n").unwrap();
            }
        }
        _ => {}
    }
    if depth < 3 {
        for _ in 0..rng.below(4) {
            let sub = dir.join(rng.pick(DIRS));
            std::fs::create_dir_all(&sub).unwrap();
            fill(rng, &sub, depth + 1);
        }
    }
}

fn ours(root: &Path, under: &Path) -> BTreeSet<PathBuf> {
    walk(root, under, &skipped, &is_yaml).files.into_iter().collect()
}

fn theirs(root: &Path, under: &Path) -> BTreeSet<PathBuf> {
    let root = root.canonicalize().unwrap();
    ignore::WalkBuilder::new(root.join(under))
        .hidden(true)
        .filter_entry(|e| !e.file_name().to_str().is_some_and(skipped))
        .build()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_some_and(|t| !t.is_dir() && !t.is_symlink()) && is_yaml(e.path()))
        .map(|e| e.path().strip_prefix(&root).unwrap().to_path_buf())
        .collect()
}

#[test]
fn finds_what_the_ignore_crate_finds() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut compared = 0;
    for case in 0..300 {
        let tmp = tempfile::tempdir().unwrap();
        // The repository inside a directory with rules of its own above it.
        let outer = tmp.path();
        if case % 3 == 0 {
            ignore_file(&mut rng, &outer.join(".ignore"));
        }
        let root = outer.join("repo");
        std::fs::create_dir_all(root.join(".git/info")).unwrap();
        if case % 2 == 0 {
            ignore_file(&mut rng, &root.join(".git/info/exclude"));
        }
        if case % 5 == 0 {
            // Not a git repository: `.gitignore` does not apply, `.ignore` does.
            std::fs::remove_dir_all(root.join(".git")).unwrap();
        }
        fill(&mut rng, &root, 0);
        let mut starts = vec![PathBuf::new()];
        starts.extend(
            std::fs::read_dir(&root)
                .unwrap()
                .filter_map(Result::ok)
                .filter(|e| e.file_type().unwrap().is_dir() && e.file_name() != ".git")
                .map(|e| PathBuf::from(e.file_name())),
        );
        for under in &starts {
            let (a, b) = (ours(&root, under), theirs(&root, under));
            assert_eq!(a, b, "case {case}, walked from {under:?}");
            compared += a.len();
        }
    }
    assert!(
        compared > 1_000,
        "the trees had too few files to compare: {compared}"
    );
}

#[test]
fn stamps_every_directory_and_the_ignore_files() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::create_dir_all(root.join(".git/info")).unwrap();
    std::fs::create_dir_all(root.join("apps/web")).unwrap();
    std::fs::write(root.join("apps/.gitignore"), "*.tmp.yaml\n").unwrap();
    std::fs::write(root.join("apps/web/a.yaml"), "a: 1\n").unwrap();
    std::fs::write(root.join("apps/web/b.tmp.yaml"), "a: 1\n").unwrap();
    let walked = walk(root, Path::new(""), &skipped, &is_yaml);
    assert_eq!(walked.files, vec![PathBuf::from("apps/web/a.yaml")]);
    let dirs: Vec<_> = walked.dirs.iter().map(|(d, _)| d.clone()).collect();
    assert_eq!(dirs, ["", "apps", "apps/web"].map(PathBuf::from));
    let canonical = root.canonicalize().unwrap();
    let ignores: Vec<_> = walked
        .ignore_files
        .iter()
        .map(|(p, s)| (p.clone(), s.is_some()))
        .collect();
    assert_eq!(
        ignores,
        [
            (canonical.join(".git/info/exclude"), false),
            (canonical.join("apps/.gitignore"), true)
        ]
    );
}
