//! The resolved task model: what the scheduler and the commands work on.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::error::{LoadError, LoadErrors};
use crate::diagnostic::SourceFile;
use crate::executor::Action;
use crate::template::Template;

/// Index of a task in its [`TaskSet`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId(pub(crate) usize);

impl TaskId {
    pub fn index(self) -> usize {
        self.0
    }
}

/// Where a secret's value comes from, read only when a task that uses it runs.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum SecretSource {
    /// `op read REFERENCE` (the 1Password CLI).
    OnePassword(String),
    /// An environment variable of `ops` itself.
    Env(String),
}

/// A task that takes arguments, as `ops list` and `ops run TASK --help` show it.
#[derive(Clone, Debug)]
pub(crate) struct Usage {
    pub name: String,
    /// Its `aliases`: `ops run bi authentik` is `ops run build-image authentik`.
    pub aliases: Vec<String>,
    pub description: Option<String>,
    pub specs: Vec<crate::task::args::Spec>,
}

/// A dotenv file (`KEY=value` lines) whose variables a task gets.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct EnvFile {
    /// Relative to the root.
    pub path: String,
    /// A missing file is skipped rather than an error.
    pub optional: bool,
}

/// A validated task.
#[derive(Debug)]
pub struct Task {
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) deps: Vec<TaskId>,
    /// Globs, relative to the root, whose contents decide whether the task is up to date.
    pub(crate) sources: Vec<String>,
    /// Globs, relative to the root, that the task produces.
    pub(crate) outputs: Vec<String>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) retries: u32,
    /// Its `env`: templates that may read the environment of `ops` (`$HOME`).
    pub(crate) env: Vec<(String, Template)>,
    /// Env files, in the order they are read (later ones override earlier ones).
    pub(crate) env_files: Vec<EnvFile>,
    /// Nix packages built for it and put first on its `PATH`.
    pub(crate) nix_tools: Option<crate::executor::NixTools>,
    /// Working directory relative to the root (the root itself when `None`); it may
    /// read the environment of `ops` (`~/src`, `$WORKSPACE`).
    pub(crate) dir: Option<Template>,
    /// A question asked before the task runs.
    pub(crate) confirm: Option<String>,
    /// A Kubernetes Lease taken for any run that applies it (`lock = { kube-lease = … }`).
    pub(crate) lock: Option<crate::kube::lease::LeaseLock>,
    /// Secrets this task uses (`{{ secrets.NAME }}`), with their sources.
    pub(crate) secrets: Vec<(String, SecretSource)>,
    /// Tasks whose outputs (`{{ tasks.NAME.KEY }}`) this task uses.
    pub(crate) uses_outputs_of: Vec<String>,
    /// The values it uses, `{{ tasks.NAME.KEY }}`, as (task, key).
    pub(crate) output_refs: Vec<(String, String)>,
    /// `None` for an aggregate task, which only runs its dependencies.
    pub(crate) action: Option<Action>,
    /// Its command gets the terminal and runs alone (`interactive = true`).
    pub(crate) interactive: bool,
    /// Other names that select it on the command line (`aliases`).
    pub(crate) aliases: Vec<String>,
    /// Left out of `ops list` unless `--all` (`hidden = true`).
    pub(crate) hidden: bool,
    /// Tasks run when it fails, or for an aggregate a task under it (`on-failure`).
    pub(crate) on_failure: Vec<TaskId>,
    /// Tasks run after it whether it failed or not (`finally`).
    pub(crate) finally: Vec<TaskId>,
    /// The task file it comes from, as shown to users.
    pub(crate) file: String,
    /// Digest of the script file it runs (empty for other tasks), part of its fingerprint.
    pub(crate) script_digest: String,
    /// See [`Task::fingerprint`]; computed when first asked for (most loads never do).
    pub(crate) fingerprint: std::sync::OnceLock<String>,
    /// For an invocation of a task that takes arguments: that task's name.
    pub(crate) usage: Option<String>,
}

impl Task {
    /// Hash of everything that defines what the task does: for up-to-date checks,
    /// journals, resumed runs and saved plans.
    pub(crate) fn fingerprint(&self) -> &str {
        self.fingerprint.get_or_init(|| {
            // Formatted into one text, hashed at once: fed the many short pieces
            // that formatting writes, blake3 took as long as the formatting.
            let mut text = String::with_capacity(1024);
            let _ = std::fmt::Write::write_fmt(
                &mut text,
                format_args!(
                    "{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n",
                    self.action,
                    self.env,
                    self.env_files,
                    self.sources,
                    self.outputs,
                    self.dir,
                    self.nix_tools
                ),
            );
            let mut hasher = blake3::Hasher::new();
            hasher.update(text.as_bytes());
            hasher.update(self.script_digest.as_bytes());
            hasher.finalize().to_hex()[..16].to_owned()
        })
    }

    /// The environment variables of `ops` that its `env` and `dir` read and that have
    /// no default, with the key that reads each.
    pub(crate) fn required_env(&self) -> Vec<(&str, &str)> {
        let env = self
            .env
            .iter()
            .flat_map(|(key, value)| value.required_env().map(move |var| (var, key.as_str())));
        let dir = self
            .dir
            .iter()
            .flat_map(|d| d.required_env().map(|var| (var, "dir")));
        env.chain(dir).collect()
    }
}

/// Every task of a repository, validated: names unique, dependencies known, no cycles.
#[derive(Debug)]
pub struct TaskSet {
    root: PathBuf,
    files: Vec<SourceFile>,
    tasks: Vec<Task>,
    index: super::NameMap<String, TaskId>,
    /// Each alias, with the task it names.
    aliases: super::NameMap<String, TaskId>,
    /// Every secret declared in `[secrets]`, used or not.
    secrets: Vec<SecretSource>,
    /// The tasks that take arguments (each invocation is a task of the set).
    usages: Vec<Usage>,
    /// Placeholders that nothing defines, each once: in a task, or in a variable.
    problems: Vec<LoadError>,
    /// The tasks that cannot run because of them, each with its own and those of
    /// the variables it uses. The other tasks can run.
    broken: HashMap<TaskId, Vec<LoadError>>,
}

impl TaskSet {
    pub(super) fn new(
        root: PathBuf,
        files: Vec<SourceFile>,
        tasks: Vec<Task>,
        secrets: Vec<SecretSource>,
    ) -> Self {
        let index = tasks
            .iter()
            .enumerate()
            .map(|(i, t)| (t.name.clone(), TaskId(i)))
            .collect();
        let aliases = tasks
            .iter()
            .enumerate()
            .flat_map(|(i, t)| t.aliases.iter().map(move |a| (a.clone(), TaskId(i))))
            .collect();
        Self {
            root,
            files,
            tasks,
            index,
            aliases,
            secrets,
            usages: Vec::new(),
            problems: Vec::new(),
            broken: HashMap::new(),
        }
    }

    pub(super) fn with_problems(
        mut self,
        problems: Vec<LoadError>,
        broken: HashMap<TaskId, Vec<LoadError>>,
    ) -> Self {
        self.problems = problems;
        self.broken = broken;
        self
    }

    /// Every placeholder in the files that nothing defines (`ops validate` reports
    /// them; a run fails on them only when it selects a task that has one).
    pub fn problems(&self) -> &[LoadError] {
        &self.problems
    }

    /// Why the task cannot run, when it cannot.
    pub(crate) fn broken(&self, id: TaskId) -> Option<&[LoadError]> {
        self.broken.get(&id).map(Vec::as_slice)
    }

    /// The problems of the tasks in `ids`, as one error; nothing when all can run.
    pub(crate) fn check_runnable(&self, ids: impl IntoIterator<Item = TaskId>) -> Result<(), LoadErrors> {
        let mut seen = std::collections::HashSet::new();
        let errors: Vec<LoadError> = ids
            .into_iter()
            .filter_map(|id| self.broken(id))
            .flatten()
            // Two tasks using one broken variable share its problem: shown once.
            .filter(|e| {
                seen.insert((
                    e.to_string(),
                    miette::Diagnostic::labels(*e)
                        .and_then(|mut l| l.next())
                        .map(|l| l.offset()),
                ))
            })
            .cloned()
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(LoadErrors { errors })
        }
    }

    pub(super) fn with_usages(mut self, usages: Vec<Usage>) -> Self {
        self.usages = usages;
        self
    }

    /// The task `name` that takes arguments, if it is one.
    pub(crate) fn usage(&self, name: &str) -> Option<&Usage> {
        self.usages
            .iter()
            .find(|u| u.name == name)
            .or_else(|| self.usages.iter().find(|u| u.aliases.iter().any(|a| a == name)))
    }

    /// Every task that takes arguments.
    pub(crate) fn usages(&self) -> &[Usage] {
        &self.usages
    }

    /// Every secret declared in the task files.
    pub(crate) fn declared_secrets(&self) -> &[SecretSource] {
        &self.secrets
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn files(&self) -> &[SourceFile] {
        &self.files
    }

    pub fn get(&self, id: TaskId) -> &Task {
        &self.tasks[id.0]
    }

    pub fn find(&self, name: &str) -> Option<TaskId> {
        self.index.get(name).copied()
    }

    /// The task an alias names (names are looked up with [`TaskSet::find`]).
    pub fn alias(&self, alias: &str) -> Option<TaskId> {
        self.aliases.get(alias).copied()
    }

    /// Every alias.
    pub fn aliases(&self) -> impl Iterator<Item = &str> {
        self.aliases.keys().map(String::as_str)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tasks.iter().map(|t| t.name.as_str())
    }

    pub fn iter(&self) -> impl Iterator<Item = (TaskId, &Task)> {
        self.tasks.iter().enumerate().map(|(i, t)| (TaskId(i), t))
    }

    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }
}
