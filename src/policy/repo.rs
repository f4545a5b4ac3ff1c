//! The files `ops lint` looks at: found by walking the root (respecting `.gitignore`,
//! skipping `.git`, `target` and `result*`) or given on the command line, read and
//! parsed once, in parallel; and the kustomizations around them.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use rayon::prelude::*;

use super::index::{Index, Listing};
use super::kustomize::{self, Kustomization};
use super::read::{self, Unchecked};
use super::stamp::Stamp;
use super::walk::walk;
use crate::diagnostic::SourceFile;
use crate::yaml::{self, Node, SyntaxError};

/// A YAML file, parsed.
#[derive(Clone)]
pub struct ManifestFile {
    /// Relative to the root, with `/` separators.
    pub path: PathBuf,
    pub source: SourceFile,
    /// (The error boxed: a partial lint holds an entry for every file of the tree.)
    pub docs: Result<Vec<Node>, Box<SyntaxError>>,
    /// Why the file was not read, when it was not (it then has no documents).
    /// Boxed, like the stamp: a partial lint holds an entry for every file of the
    /// tree, and these are rare or only of the files read.
    pub(crate) unchecked: Option<Box<Unchecked>>,
    /// The Helm chart (a directory with `Chart.yaml`) or Ansible role (`roles/NAME`)
    /// whose template this file is: Go or Jinja templates, not YAML until rendered,
    /// so it has no documents (the chart itself is `no-helm`'s finding).
    pub(crate) template_of: Option<PathBuf>,
    /// Its documents are parsed when it is checked, and dropped after ([`Self::parsed`]):
    /// only the text of every file is held, and the trees of the few files that other
    /// files' checks read (kustomizations, ArgoCD Applications).
    deferred: bool,
    /// Not read at all (a partial lint reads the files it checks and the
    /// kustomizations): [`Self::loaded`] reads it when something asks.
    unread: bool,
    /// The byte ranges of its Secret values, found when it was parsed.
    pub(crate) secrets: Vec<std::ops::Range<usize>>,
    /// What `stat` said of it when it was read (for the lint index).
    stamp: Option<Box<Stamp>>,
}

impl ManifestFile {
    /// Read a file (within the limits of [`read`]); parse it now only when the
    /// checks of other files read its documents: a kustomization, or a file that may
    /// hold an ArgoCD Application (its text says `Application`), or one that is not
    /// UTF-8 (the parse error says where).
    fn read(root: &Path, path: PathBuf) -> Self {
        let (bytes, stamp) = match read::stamped(&root.join(&path)) {
            Ok(read) => read,
            Err(why) => return Self::unchecked(path, why),
        };
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let needed_now = kustomize::FILE_NAMES.contains(&name);
        let (text, docs, deferred) = match String::from_utf8(bytes) {
            Ok(text) if !needed_now && !text.contains("Application") => (text, Ok(Vec::new()), true),
            Ok(text) => {
                let docs = yaml::load(&text).map_err(Box::new);
                (text, docs, false)
            }
            Err(e) => {
                let (text, docs) = yaml::load_bytes(e.into_bytes());
                (text, docs.map_err(Box::new), false)
            }
        };
        let mut file = Self {
            source: SourceFile::new(path.to_string_lossy().into_owned(), text),
            path,
            docs,
            unchecked: None,
            template_of: None,
            deferred,
            unread: false,
            secrets: Vec::new(),
            stamp: Some(Box::new(stamp)),
        };
        if !deferred {
            file.secrets = super::mask::secret_ranges(&file);
        }
        file
    }

    /// The file with its documents, parsed now if they were deferred: what the rules
    /// check. The copy shares the text.
    pub(crate) fn parsed(&self) -> std::borrow::Cow<'_, Self> {
        if !self.deferred || self.template_of.is_some() {
            return std::borrow::Cow::Borrowed(self);
        }
        let mut file = Self {
            path: self.path.clone(),
            source: self.source.clone(),
            docs: yaml::load(self.source.text()).map_err(Box::new),
            unchecked: None,
            template_of: None,
            deferred: false,
            unread: false,
            secrets: Vec::new(),
            stamp: self.stamp.clone(),
        };
        file.secrets = super::mask::secret_ranges(&file);
        std::borrow::Cow::Owned(file)
    }

    /// A file a partial lint does not read (yet).
    fn unread(path: PathBuf) -> Self {
        // One empty source for the thousands of files a partial lint does not read:
        // nothing is shown of them (`Repo::source` has none), and a check that reads
        // one gets it with its name (`Self::loaded`).
        static NONE: std::sync::LazyLock<SourceFile> = std::sync::LazyLock::new(|| SourceFile::new("", ""));
        Self {
            source: NONE.clone(),
            path,
            docs: Ok(Vec::new()),
            unchecked: None,
            template_of: None,
            deferred: true,
            unread: true,
            secrets: Vec::new(),
            stamp: None,
        }
    }

    /// The file as read from `root`, if it was not read yet (documents parsed as
    /// [`Self::read`] does).
    pub(crate) fn loaded(&self, root: &Path) -> std::borrow::Cow<'_, Self> {
        if self.unread {
            std::borrow::Cow::Owned(Self::read(root, self.path.clone()))
        } else {
            std::borrow::Cow::Borrowed(self)
        }
    }

    /// A file (or directory) that could not be read.
    fn unchecked(path: PathBuf, why: Unchecked) -> Self {
        Self {
            source: SourceFile::new(path.to_string_lossy().into_owned(), ""),
            path,
            docs: Ok(Vec::new()),
            unchecked: Some(Box::new(why)),
            template_of: None,
            deferred: false,
            unread: false,
            secrets: Vec::new(),
            stamp: None,
        }
    }

    /// The documents that are Kubernetes objects (they have `apiVersion` and `kind`).
    pub fn objects(&self) -> impl Iterator<Item = &Node> {
        self.docs
            .as_deref()
            .unwrap_or_default()
            .iter()
            .filter(|d| d.get("apiVersion").is_some() && d.get("kind").and_then(Node::as_str).is_some())
    }

    pub fn file_name(&self) -> &str {
        self.path.file_name().and_then(|n| n.to_str()).unwrap_or_default()
    }

    pub fn is_kustomization(&self) -> bool {
        is_kustomization(&self.path)
    }
}

/// A map keyed by normal relative paths, hashed as bytes: hashing a `Path` parses
/// its components, and a partial lint of a 10,000-file tree hashes ten thousand.
type ByPath<V> = HashMap<std::ffi::OsString, V, foldhash::fast::RandomState>;

/// What a kustomization lists: its local paths, relative to the root.
struct Lists {
    dir: PathBuf,
    file: PathBuf,
    paths: Vec<PathBuf>,
}

/// What the rules see.
pub struct Repo {
    pub root: PathBuf,
    /// The files to check.
    pub files: Vec<ManifestFile>,
    /// Kustomizations by directory (relative to the root), parsed: all of them in a
    /// full lint; in a partial one, those the files it checks are built by
    /// ([`Repo::parse_kustomizations_of`]).
    pub kustomizations: HashMap<PathBuf, Kustomization>,
    /// What every kustomization lists, parsed or from the lint index.
    lists: Vec<Lists>,
    /// Where the kustomization of each directory is in `lists`.
    list_of_dir: ByPath<usize>,
    /// Every path a kustomization lists, as (its kustomization in `lists`, its place
    /// in their `paths`), in the order of the path's bytes: who lists a path is a
    /// binary search, and the index is built without a string per path (a map of
    /// them was 30,000 allocations for the 10,000 paths of a 1,000-directory tree,
    /// paid by every partial lint).
    listed: Vec<(u32, u32)>,
    /// The URLs that name this repository, worked out once (see `argocd-app-path`).
    own_urls: std::sync::OnceLock<Vec<String>>,
}

fn is_yaml(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "yaml" || e == "yml")
        || path.file_name().is_some_and(|n| n == "Kustomization")
}

fn skipped(name: &str) -> bool {
    name == ".git"
        || name == "target"
        || name == "node_modules"
        || name == ".ops"
        || name.starts_with("result")
}

/// The templates of Helm charts and Ansible roles: files below a `templates/` (or
/// `charts/`) directory of a directory that holds `Chart.yaml`, and below
/// `roles/NAME/templates/`. Their text is kept (custom rules read it), their
/// documents dropped: they are not YAML until Helm or Ansible renders them.
fn mark_chart_templates(root: &Path, files: &mut [ManifestFile]) {
    let mut is_chart: HashMap<PathBuf, bool> = HashMap::new();
    // A directory of the path named `templates` or `charts` (its components compared
    // where they start, not a search for the names at every byte of every path).
    let below_one = |path: &Path| {
        let mut dirs = path.as_os_str().as_encoded_bytes().split(|&b| b == b'/');
        dirs.next_back();
        dirs.any(|d| d == b"templates" || d == b"charts")
    };
    for file in files.iter_mut().filter(|f| below_one(&f.path)) {
        let mut dir = file.path.parent();
        let mut below: Option<&std::ffi::OsStr> = None;
        let mut chart = None;
        while let Some(d) = dir {
            if below.is_some_and(|b| b == "templates" || b == "charts") {
                let found = *is_chart
                    .entry(d.to_path_buf())
                    .or_insert_with(|| root.join(d).join("Chart.yaml").is_file());
                let role = below.is_some_and(|b| b == "templates")
                    && d.parent().and_then(Path::file_name).is_some_and(|p| p == "roles");
                if found || role {
                    chart = Some(d.to_path_buf());
                }
            }
            below = d.file_name();
            dir = d.parent();
        }
        if let Some(chart) = chart {
            file.docs = Ok(Vec::new());
            file.secrets.clear();
            file.template_of = Some(chart);
        }
    }
}

/// The last component of a normal relative path, found in its bytes (cheaper than
/// `Path::file_name`, which parses components from the end).
fn name_bytes(path: &Path) -> &[u8] {
    let bytes = path.as_os_str().as_encoded_bytes();
    bytes.rsplit(|&b| b == b'/').next().unwrap_or(bytes)
}

fn is_kustomization(path: &Path) -> bool {
    let name = name_bytes(path);
    kustomize::FILE_NAMES.iter().any(|n| n.as_bytes() == name)
}

/// The directories a walk could not list, as files that could not be checked.
fn unreadable(unlisted: &[(PathBuf, String)]) -> Vec<ManifestFile> {
    unlisted
        .iter()
        .map(|(path, error)| {
            ManifestFile::unchecked(path.clone(), Unchecked::Unreadable { error: error.clone() })
        })
        .collect()
}

/// How a lint reads the repository.
#[derive(Clone, Copy)]
pub(crate) struct Reading<'a> {
    /// The files to read (a partial lint); all of them without it. Kustomizations
    /// are read too, unless the lint index has what they list.
    pub(crate) read: Option<&'a super::given::Given<'a>>,
    /// Whether the lint index is read and written.
    pub(crate) cache: bool,
}

/// `files` and `extra` in the order of their bytes, without repeats: cheaper to
/// compare than by components, and any order does (findings are sorted by path when
/// reported). The walk of the lint index is in that order already, so a partial lint
/// sorts only the paths it was given and merges them in. Also: the paths of `extra`
/// that `files` does not have.
fn by_bytes(mut files: Vec<PathBuf>, mut extra: Vec<PathBuf>) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let order = |a: &PathBuf, b: &PathBuf| a.as_os_str().cmp(b.as_os_str());
    if !files.is_sorted_by(|a, b| order(a, b).is_le()) {
        files.sort_unstable_by(order);
    }
    extra.sort_unstable_by(order);
    let mut merged = Vec::with_capacity(files.len() + extra.len());
    let mut added = Vec::new();
    let (mut files, mut extra) = (files.into_iter().peekable(), extra.into_iter().peekable());
    loop {
        let (next, from_extra) = match (files.peek(), extra.peek()) {
            (Some(a), Some(b)) if order(a, b).is_le() => (files.next(), false),
            (_, Some(_)) => (extra.next(), true),
            (Some(_), None) => (files.next(), false),
            (None, None) => break,
        };
        let Some(path) = next else { break };
        if merged
            .last()
            .is_none_or(|last: &PathBuf| last.as_os_str() != path.as_os_str())
        {
            if from_extra {
                added.push(path.clone());
            }
            merged.push(path);
        }
    }
    (merged, added)
}

/// Every path of `lists`, as (list, place in its paths), in the order of the
/// path's bytes (the lists in order among the same path).
fn listed_in_order(lists: &[Lists]) -> Vec<(u32, u32)> {
    let mut listed: Vec<(u32, u32)> = lists
        .iter()
        .enumerate()
        .flat_map(|(list, l)| (0..l.paths.len()).map(move |at| (list, at)))
        .filter_map(|(list, at)| Some((u32::try_from(list).ok()?, u32::try_from(at).ok()?)))
        .collect();
    let path_of = |&(list, at): &(u32, u32)| lists[list as usize].paths[at as usize].as_os_str();
    listed.sort_unstable_by(|a, b| path_of(a).cmp(path_of(b)).then(a.cmp(b)));
    listed
}

/// The local paths a kustomization lists, relative to the root.
fn listed_paths(k: &Kustomization) -> Vec<PathBuf> {
    k.listed.iter().filter_map(|l| l.path.clone()).collect()
}

/// The first document of a kustomization file, as a kustomization.
fn kustomization(file: &ManifestFile) -> Option<Kustomization> {
    let doc = file.docs.as_ref().ok()?.first()?;
    Some(Kustomization::from_node(&file.path, doc))
}

impl Repo {
    /// Find every YAML file of the repository, and the files of `paths` that the
    /// walk leaves out (ignored by git, say), so that rules see all the
    /// kustomizations and overlays around the files a lint is about. The files
    /// `reading` says are read (all without it), and the kustomizations that the lint
    /// index does not know as they are now.
    pub(crate) fn load(root: &Path, paths: &[PathBuf], reading: Reading<'_>) -> Self {
        let taken = SystemTime::now();
        let mut index = reading.cache.then(|| Index::load(root)).flatten();
        let indexed_walk = index.as_mut().and_then(|i| i.take_walk(root));
        let walked_anew = indexed_walk.is_none();
        if reading.cache && index.is_none() {
            Index::prepare(root);
        }
        let mut walked = indexed_walk.unwrap_or_else(|| walk(root, Path::new(""), &skipped, &is_yaml));
        let mut unlisted = unreadable(&walked.unlisted);
        // The paths of the lint that the walk leaves out (ignored ones, say).
        let mut extra = Vec::new();
        for path in paths {
            if root.join(path).is_dir() {
                let more = walk(root, path, &skipped, &is_yaml);
                unlisted.extend(unreadable(&more.unlisted));
                extra.extend(more.files);
            } else if is_yaml(path) || path.file_name().is_some_and(|n| n == "Chart.yaml") {
                extra.push(path.clone());
            }
        }
        // The walk's paths move into the files; the index, if it is written again, gets
        // them back from there (all but `added`).
        let (wanted, mut added) = by_bytes(std::mem::take(&mut walked.files), extra);
        added.extend(unlisted.iter().map(|f| f.path.clone()));
        // A kustomization is read unless the lint does not check it and the index
        // has what it lists as it is now.
        let asked = reading.read.map(|given| given.marks(&wanted, PathBuf::as_path));
        let loaded: Vec<ManifestFile> = wanted
            .into_par_iter()
            .enumerate()
            .map(|(i, p)| {
                let asked = asked.as_ref().is_none_or(|marks| marks[i]);
                if is_kustomization(&p) && !asked {
                    if index.as_ref().is_some_and(|i| i.is_current(root, &p)) {
                        return ManifestFile::unread(p);
                    }
                    return ManifestFile::read(root, p);
                }
                if asked {
                    ManifestFile::read(root, p)
                } else {
                    ManifestFile::unread(p)
                }
            })
            .collect();
        let mut files = loaded;
        files.extend(unlisted);
        if !files.is_sorted_by(|a, b| a.path.as_os_str() <= b.path.as_os_str()) {
            files.sort_by(|a, b| a.path.as_os_str().cmp(b.path.as_os_str()));
        }
        files.dedup_by(|a, b| a.path.as_os_str() == b.path.as_os_str());
        mark_chart_templates(root, &mut files);

        let mut kustomizations = HashMap::new();
        let mut lists: Vec<Lists> = Vec::new();
        let mut list_of_dir = ByPath::with_capacity_and_hasher(
            files.iter().filter(|f| f.is_kustomization()).count(),
            foldhash::fast::RandomState::default(),
        );
        // Whether a kustomization was read that the index does not have as it is.
        let mut changed = false;
        for file in files.iter().filter(|f| f.is_kustomization()) {
            let dir = file.path.parent().unwrap_or(Path::new("")).to_path_buf();
            let listed = if file.unread {
                index.as_mut().and_then(|i| i.take_paths(&file.path))
            } else {
                let k = kustomization(file);
                changed |=
                    index.as_ref().and_then(|i| i.stamp_of(&file.path)) != file.stamp.as_deref().copied();
                k.map(|k| {
                    let paths = listed_paths(&k);
                    kustomizations.insert(dir.clone(), k);
                    paths
                })
            };
            if let Some(paths) = listed {
                let list = Lists {
                    dir,
                    file: file.path.clone(),
                    paths,
                };
                // Two kustomization files in one directory: the last one read counts.
                match list_of_dir.entry(list.dir.clone().into_os_string()) {
                    std::collections::hash_map::Entry::Occupied(at) => lists[*at.get()] = list,
                    std::collections::hash_map::Entry::Vacant(at) => {
                        at.insert(lists.len());
                        lists.push(list);
                    }
                }
            }
        }
        if reading.cache && (walked_anew || changed) {
            let stamp = |file: &ManifestFile| {
                file.stamp
                    .as_deref()
                    .copied()
                    .or_else(|| index.as_ref()?.stamp_of(&file.path))
            };
            let listings = files
                .iter()
                .filter(|f| f.is_kustomization())
                .filter_map(|file| {
                    let dir = file.path.parent().unwrap_or(Path::new(""));
                    Some(Listing {
                        file: file.path.clone(),
                        stamp: stamp(file)?,
                        paths: list_of_dir
                            .get(dir.as_os_str())
                            .map(|&i| &lists[i])
                            .filter(|l: &&Lists| l.file == file.path)
                            .map(|l| l.paths.clone()),
                    })
                })
                .collect();
            added.sort_unstable_by(|a, b| a.as_os_str().cmp(b.as_os_str()));
            let walk_files = files
                .iter()
                .map(|f| &f.path)
                .filter(|p| {
                    added
                        .binary_search_by(|a| a.as_os_str().cmp(p.as_os_str()))
                        .is_err()
                })
                .cloned()
                .collect();
            Index::save(root, taken, &walked, walk_files, listings);
        }
        let listed = listed_in_order(&lists);
        Self {
            root: root.to_path_buf(),
            files,
            kustomizations,
            lists,
            list_of_dir,
            listed,
            own_urls: std::sync::OnceLock::new(),
        }
    }

    /// Parse the kustomizations that build the files marked in `checked` (by their
    /// place in [`Self::files`]), and those next to them, if the index stood in for them: what the checks of those files
    /// read.
    pub(crate) fn parse_kustomizations_of(&mut self, checked: &[bool]) {
        let mut dirs: Vec<PathBuf> = Vec::new();
        for (file, _) in self.files.iter().zip(checked).filter(|(_, checked)| **checked) {
            dirs.extend(file.path.parent().map(Path::to_path_buf));
            dirs.extend(
                self.kustomization_dirs_of(&file.path)
                    .into_iter()
                    .map(Path::to_path_buf),
            );
        }
        dirs.sort();
        dirs.dedup();
        dirs.retain(|d| self.list_of_dir.contains_key(d.as_os_str()) && !self.kustomizations.contains_key(d));
        let root = &self.root;
        let read: Vec<(usize, ManifestFile)> = dirs
            .par_iter()
            .filter_map(|d| {
                let i = self.position(&self.list(d)?.file)?;
                Some((i, ManifestFile::read(root, self.files[i].path.clone())))
            })
            .collect();
        for (i, file) in read {
            if let Some(k) = kustomization(&file) {
                self.kustomizations.insert(k.dir.clone(), k);
            }
            self.files[i] = file;
        }
    }

    /// The files built by the kustomizations in `dirs`: what they list, and what
    /// the kustomizations they include list, transitively.
    pub(crate) fn built_by(&self, dirs: impl IntoIterator<Item = PathBuf>) -> HashSet<PathBuf> {
        let mut out = HashSet::new();
        let mut seen = HashSet::new();
        let mut stack: Vec<PathBuf> = dirs.into_iter().collect();
        while let Some(dir) = stack.pop() {
            let Some(listed) = self.list(&dir).filter(|_| seen.insert(dir.clone())) else {
                continue;
            };
            for path in &listed.paths {
                if self.list_of_dir.contains_key(path.as_os_str()) {
                    stack.push(path.clone());
                }
                out.insert(path.clone());
            }
        }
        out
    }

    /// The directories of the kustomizations, parsed or not.
    pub(crate) fn kustomization_files(&self) -> impl Iterator<Item = (&Path, &Path)> {
        self.lists.iter().map(|l| (l.dir.as_path(), l.file.as_path()))
    }

    /// The kustomization of `dir`, as it lists.
    fn list(&self, dir: &Path) -> Option<&Lists> {
        Some(&self.lists[*self.list_of_dir.get(dir.as_os_str())?])
    }

    /// The kustomizations that list `path`.
    fn listers(&self, path: &Path) -> impl Iterator<Item = &Lists> {
        let key = path.as_os_str().as_encoded_bytes();
        let path_of = |&(list, at): &(u32, u32)| {
            self.lists[list as usize].paths[at as usize]
                .as_os_str()
                .as_encoded_bytes()
        };
        let start = self.listed.partition_point(|e| path_of(e) < key);
        self.listed[start..]
            .iter()
            .take_while(move |e| path_of(e) == key)
            .map(|&(list, _)| &self.lists[list as usize])
    }

    /// Where `path` is in `files`, which are sorted by the bytes of their paths (a
    /// lookup per finding must not be a search through every file).
    fn position(&self, path: &Path) -> Option<usize> {
        self.files
            .binary_search_by(|f| f.path.as_os_str().cmp(path.as_os_str()))
            .ok()
    }

    /// The URLs naming this repository, computed by `find` the first time.
    pub(crate) fn own_urls(&self, find: impl FnOnce() -> Vec<String>) -> &[String] {
        self.own_urls.get_or_init(find)
    }

    /// The text of a file that was read (for suppressions and snippets).
    /// The file at `path`, checked or read around a partial lint.
    pub(crate) fn file(&self, path: &Path) -> Option<&ManifestFile> {
        self.files.get(self.position(path)?)
    }

    /// The text to show under a finding in `path`: its source with the values of
    /// its Secrets masked.
    pub(crate) fn shown(&self, path: &Path) -> Option<SourceFile> {
        let file = self.file(path)?;
        let source = self.source(path)?;
        if file.secrets.is_empty() {
            return Some(source.clone());
        }
        Some(SourceFile::new(
            source.name().to_owned(),
            super::mask::masked(source.text(), &file.secrets),
        ))
    }

    pub fn source(&self, path: &Path) -> Option<&SourceFile> {
        let file = self.file(path)?;
        (file.unchecked.is_none() && !file.unread).then_some(&file.source)
    }

    /// The kustomization files that list `path`.
    pub(crate) fn listed_by(&self, path: &Path) -> Vec<PathBuf> {
        self.listers(path).map(|l| l.file.clone()).collect()
    }

    /// Whether any kustomization lists `path`.
    pub fn is_listed(&self, path: &Path) -> bool {
        self.listers(path).next().is_some()
    }

    /// The directories of the kustomizations that build `file`: those that list it
    /// (next to it, or from a directory above, `resources: [sub/job.yaml]`), and every
    /// one that includes their directories, transitively; the nearest first.
    fn kustomization_dirs_of(&self, file: &Path) -> Vec<&Path> {
        let mut out: Vec<&Path> = Vec::new();
        let mut queue: Vec<&Path> = Vec::new();
        let mut direct: Vec<&Path> = self.listers(file).map(|l| l.dir.as_path()).collect();
        // The nearest first: its overrides apply before those of the ones around it.
        direct.sort_by_key(|dir| std::cmp::Reverse(dir.components().count()));
        for dir in direct {
            if !out.contains(&dir) {
                out.push(dir);
                queue.push(dir);
            }
        }
        while let Some(dir) = queue.pop() {
            for includer in self.listers(dir).map(|l| l.dir.as_path()) {
                if !out.contains(&includer) {
                    out.push(includer);
                    queue.push(includer);
                }
            }
        }
        out
    }

    /// The kustomizations that build `file` ([`Self::kustomization_dirs_of`]).
    pub fn kustomizations_of(&self, file: &Path) -> Vec<&Kustomization> {
        self.kustomization_dirs_of(file)
            .into_iter()
            .filter_map(|dir| self.kustomizations.get(dir))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(all: &[&str]) -> Vec<PathBuf> {
        all.iter().map(PathBuf::from).collect()
    }

    #[test]
    fn by_bytes_merges_the_given_paths_into_the_walk_without_repeats() {
        // Byte order puts `a/b-c/…` before `a/b/…` ('-' < '/'); components would not.
        let walk = paths(&["a/b-c/y.yaml", "a/b/x.yaml", "a/z.yaml"]);
        let (merged, added) = by_bytes(
            walk,
            paths(&["a/z.yaml", "a/0.yaml", "b.yaml", "a/b/x.yaml", "b.yaml"]),
        );
        assert_eq!(
            merged,
            paths(&["a/0.yaml", "a/b-c/y.yaml", "a/b/x.yaml", "a/z.yaml", "b.yaml"])
        );
        assert_eq!(added, paths(&["a/0.yaml", "b.yaml"]));
        // A walk in another order is sorted first.
        let (merged, added) = by_bytes(paths(&["a/z.yaml", "a/b/x.yaml", "a/b-c/y.yaml"]), Vec::new());
        assert_eq!(merged, paths(&["a/b-c/y.yaml", "a/b/x.yaml", "a/z.yaml"]));
        assert!(added.is_empty());
        assert_eq!(by_bytes(Vec::new(), Vec::new()), (Vec::new(), Vec::new()));
    }
}
