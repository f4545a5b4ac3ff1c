//! The files `ops lint` looks at: found by walking the root (respecting `.gitignore`,
//! skipping `.git`, `target` and `result*`) or given on the command line, read and
//! parsed once, in parallel; and the kustomizations around them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::kustomize::{self, Kustomization};
use super::read::{self, Unchecked};
use crate::diagnostic::SourceFile;
use crate::yaml::{self, Node, SyntaxError};

/// A YAML file, parsed.
#[derive(Clone)]
pub struct ManifestFile {
    /// Relative to the root, with `/` separators.
    pub path: PathBuf,
    pub source: SourceFile,
    pub docs: Result<Vec<Node>, SyntaxError>,
    /// Why the file was not read, when it was not (it then has no documents).
    pub(crate) unchecked: Option<Unchecked>,
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
}

impl ManifestFile {
    /// Read a file (within the limits of [`read`]); parse it now only when the
    /// checks of other files read its documents: a kustomization, or a file that may
    /// hold an ArgoCD Application (its text says `Application`), or one that is not
    /// UTF-8 (the parse error says where).
    fn read(root: &Path, path: PathBuf) -> Self {
        let bytes = match read::bytes(&root.join(&path)) {
            Ok(bytes) => bytes,
            Err(why) => return Self::unchecked(path, why),
        };
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let needed_now = kustomize::FILE_NAMES.contains(&name);
        let (text, docs, deferred) = match String::from_utf8(bytes) {
            Ok(text) if !needed_now && !text.contains("Application") => (text, Ok(Vec::new()), true),
            Ok(text) => {
                let docs = yaml::load(&text);
                (text, docs, false)
            }
            Err(e) => {
                let (text, docs) = yaml::load_bytes(e.into_bytes());
                (text, docs, false)
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
            docs: yaml::load(self.source.text()),
            unchecked: None,
            template_of: None,
            deferred: false,
            unread: false,
            secrets: Vec::new(),
        };
        file.secrets = super::mask::secret_ranges(&file);
        std::borrow::Cow::Owned(file)
    }

    /// A file a partial lint does not read (yet).
    fn unread(path: PathBuf) -> Self {
        Self {
            source: SourceFile::new(path.to_string_lossy().into_owned(), ""),
            path,
            docs: Ok(Vec::new()),
            unchecked: None,
            template_of: None,
            deferred: true,
            unread: true,
            secrets: Vec::new(),
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
            unchecked: Some(why),
            template_of: None,
            deferred: false,
            unread: false,
            secrets: Vec::new(),
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
        kustomize::FILE_NAMES.contains(&self.file_name())
    }
}

/// What the rules see.
pub struct Repo {
    pub root: PathBuf,
    /// The files to check.
    pub files: Vec<ManifestFile>,
    /// Kustomizations by directory (relative to the root).
    pub kustomizations: HashMap<PathBuf, Kustomization>,
    /// Directory → the kustomization directories that list it.
    included_by: HashMap<PathBuf, Vec<PathBuf>>,
    /// Path → index into `files` (a lookup per finding must not
    /// be a search through every file).
    by_path: HashMap<PathBuf, usize>,
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

/// What a walk found: the YAML files under a directory (relative to the root), and
/// the directories it could not list.
#[derive(Default)]
struct Walked {
    files: Vec<PathBuf>,
    unlisted: Vec<ManifestFile>,
}

/// The path an error of the walk is about.
fn error_path(error: &ignore::Error) -> Option<&Path> {
    match error {
        ignore::Error::WithPath { path, .. } => Some(path),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => error_path(err),
        _ => None,
    }
}

/// Every YAML file under `root/under`: regular files, and the FIFOs, sockets and
/// devices named like YAML (so that reading reports them); symbolic links are not
/// followed.
fn walk(root: &Path, under: &Path, walked: &mut Walked) {
    let walker = ignore::WalkBuilder::new(root.join(under))
        .hidden(true)
        .filter_entry(|e| !e.file_name().to_str().is_some_and(skipped))
        .build();
    for entry in walker {
        match entry {
            Ok(entry) => {
                if entry.file_type().is_some_and(|t| !t.is_dir() && !t.is_symlink())
                    && is_yaml(entry.path())
                    && let Ok(rel) = entry.path().strip_prefix(root)
                {
                    walked.files.push(rel.to_path_buf());
                }
            }
            // A directory or file that cannot be listed or looked at (errors that
            // are not about the file system, a bad `.gitignore` glob, are not).
            Err(error) => {
                if let (Some(io), Some(rel)) = (
                    error.io_error(),
                    error_path(&error).and_then(|p| p.strip_prefix(root).ok()),
                ) {
                    let why = Unchecked::Unreadable {
                        error: io.to_string(),
                    };
                    walked
                        .unlisted
                        .push(ManifestFile::unchecked(rel.to_path_buf(), why));
                }
            }
        }
    }
}

/// The templates of Helm charts and Ansible roles: files below a `templates/` (or
/// `charts/`) directory of a directory that holds `Chart.yaml`, and below
/// `roles/NAME/templates/`. Their text is kept (custom rules read it), their
/// documents dropped: they are not YAML until Helm or Ansible renders them.
fn mark_chart_templates(root: &Path, files: &mut [ManifestFile]) {
    let mut is_chart: HashMap<PathBuf, bool> = HashMap::new();
    for file in files.iter_mut() {
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

impl Repo {
    /// Find every YAML file of the repository, and the files of `paths` that the
    /// walk leaves out (ignored by git, say), so that rules see all the
    /// kustomizations and overlays around the files a lint is about. The
    /// kustomizations are read, and the files `read` says (all without it).
    pub fn load(root: &Path, paths: &[PathBuf], read: Option<&(dyn Fn(&Path) -> bool + Sync)>) -> Self {
        let mut walked = Walked::default();
        walk(root, Path::new(""), &mut walked);
        for path in paths {
            if root.join(path).is_dir() {
                walk(root, path, &mut walked);
            } else if is_yaml(path) || path.file_name().is_some_and(|n| n == "Chart.yaml") {
                walked.files.push(path.clone());
            }
        }
        let Walked {
            files: mut wanted,
            unlisted,
        } = walked;
        wanted.sort();
        wanted.dedup();
        let needed = |p: &Path| {
            read.is_none_or(|read| read(p))
                || p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| kustomize::FILE_NAMES.contains(&n))
        };
        let mut files: Vec<ManifestFile> = wanted
            .into_par_iter()
            .map(|p| {
                if needed(&p) {
                    ManifestFile::read(root, p)
                } else {
                    ManifestFile::unread(p)
                }
            })
            .collect();
        files.extend(unlisted);
        files.sort_by(|a, b| a.path.cmp(&b.path));
        files.dedup_by(|a, b| a.path == b.path);
        mark_chart_templates(root, &mut files);

        let mut kustomizations = HashMap::new();
        for file in files.iter().filter(|f| f.is_kustomization()) {
            if let Some(doc) = file.docs.as_ref().ok().and_then(|d| d.first()) {
                let k = Kustomization::from_node(&file.path, doc);
                kustomizations.insert(k.dir.clone(), k);
            }
        }
        let mut included_by: HashMap<PathBuf, Vec<PathBuf>> = HashMap::new();
        for k in kustomizations.values() {
            for path in k.listed.iter().filter_map(|l| l.path.as_ref()) {
                included_by.entry(path.clone()).or_default().push(k.dir.clone());
            }
        }
        let mut by_path = HashMap::new();
        for (i, file) in files.iter().enumerate() {
            by_path.entry(file.path.clone()).or_insert(i);
        }
        Self {
            root: root.to_path_buf(),
            files,
            kustomizations,
            included_by,
            by_path,
            own_urls: std::sync::OnceLock::new(),
        }
    }

    /// The URLs naming this repository, computed by `find` the first time.
    pub(crate) fn own_urls(&self, find: impl FnOnce() -> Vec<String>) -> &[String] {
        self.own_urls.get_or_init(find)
    }

    /// The text of a file that was read (for suppressions and snippets).
    /// The file at `path`, checked or read around a partial lint.
    pub(crate) fn file(&self, path: &Path) -> Option<&ManifestFile> {
        let &i = self.by_path.get(path)?;
        self.files.get(i)
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
        file.unchecked.is_none().then_some(&file.source)
    }

    /// The kustomization files that list `path`.
    pub(crate) fn listed_by(&self, path: &Path) -> Vec<PathBuf> {
        self.included_by
            .get(path)
            .into_iter()
            .flatten()
            .filter_map(|dir| self.kustomizations.get(dir))
            .map(|k| k.file.clone())
            .collect()
    }

    /// Whether any kustomization lists `path`.
    pub fn is_listed(&self, path: &Path) -> bool {
        self.included_by.contains_key(path)
    }

    /// The kustomizations that build `file`: those that list it (next to it, or from
    /// a directory above, `resources: [sub/job.yaml]`), and every one that includes
    /// their directories, transitively.
    pub fn kustomizations_of(&self, file: &Path) -> Vec<&Kustomization> {
        let mut out: Vec<&Kustomization> = Vec::new();
        let mut queue: Vec<PathBuf> = Vec::new();
        let mut direct: Vec<&Kustomization> = self
            .included_by
            .get(file)
            .into_iter()
            .flatten()
            .filter_map(|dir| self.kustomizations.get(dir))
            .collect();
        // The nearest first: its overrides apply before those of the ones around it.
        direct.sort_by_key(|k| std::cmp::Reverse(k.dir.components().count()));
        for k in direct {
            if !out.iter().any(|o| o.dir == k.dir) {
                out.push(k);
                queue.push(k.dir.clone());
            }
        }
        while let Some(dir) = queue.pop() {
            for includer in self.included_by.get(&dir).into_iter().flatten() {
                if let Some(k) = self.kustomizations.get(includer)
                    && !out.iter().any(|o| o.dir == k.dir)
                {
                    out.push(k);
                    queue.push(k.dir.clone());
                }
            }
        }
        out
    }
}
