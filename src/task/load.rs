//! Loading `tasks/*.toml`: read, parse, resolve variables and actions, validate the
//! graph. Every problem in the whole file set is collected and reported together.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::ops::Range;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use toml::Spanned;

use super::aliases;
use super::args::{self as task_args, Values as ArgValues};
use super::error::{LoadError, LoadErrors};
use super::file::{self, RawEntry, RawTask};
use super::graph;
use super::handlers::{self, Handlers};
use super::include;
use super::matrix::{self, Instance};
use super::model::{EnvFile, SecretSource, Task, TaskId, TaskSet, Usage};
use super::settings::{self, RawNixTools, RawSettings, Repository};
use super::vars::{self, Vars, undefined_help};
use crate::diagnostic::{SourceFile, span, suggestion};
use crate::executor::{self, Action, RawCommand, Resolve};
use crate::kube::Context;
use crate::template::{Template, UnknownName};

/// Load and validate every task file under `root/tasks`.
pub(crate) fn load(root: &Path, overrides: &Vars) -> Result<TaskSet, LoadErrors> {
    load_invoking(root, overrides, &[])
}

/// [`load`], with the tasks that take arguments invoked: each (task, values) is a task
/// of its own in the set, named by its values.
pub(crate) fn load_invoking(
    root: &Path,
    overrides: &Vars,
    invocations: &[(String, ArgValues)],
) -> Result<TaskSet, LoadErrors> {
    let mut errors = Vec::new();
    let repository = settings::read_repository(root, &mut errors);
    let mut files = read_files(root, &mut errors);
    let mut namespaces: Vec<(String, String)> = Vec::new();
    for include in &repository.includes {
        if let Some((shown, dir)) = include::directory(root, include, &mut errors) {
            files.extend(read_tree(&dir, &shown, &mut errors));
            namespaces.push((format!("{shown}/"), include.name.clone()));
        }
    }
    load_files(
        root,
        files,
        &namespaces,
        invocations,
        overrides,
        &repository,
        errors,
    )
}

/// Load task files given as text (for tools and fuzzing; `root` is where tasks run).
pub fn load_sources(root: &Path, files: Vec<SourceFile>, overrides: &Vars) -> Result<TaskSet, LoadErrors> {
    load_files(
        root,
        files,
        &[],
        &[],
        overrides,
        &Repository::default(),
        Vec::new(),
    )
}

/// `included`: the shown directory of each included tree, with its namespace.
fn load_files(
    root: &Path,
    files: Vec<SourceFile>,
    included: &[(String, String)],
    invocations: &[(String, ArgValues)],
    overrides: &Vars,
    repository: &Repository,
    mut errors: Vec<LoadError>,
) -> Result<TaskSet, LoadErrors> {
    let mut pending: Vec<Pending> = Vec::new();
    let mut usages: Vec<Usage> = Vec::new();
    let mut usage_aliases: Vec<(usize, String, Spanned<String>)> = Vec::new();
    let mut defined: super::NameMap<String, (usize, Range<usize>)> = super::NameMap::default();

    let raws: Vec<file::RawFile> = files
        .iter()
        .map(|source| file::parse(source, &mut errors))
        .collect();
    // A task is a kilobyte: grown by doubling, the vector would copy them all over again.
    pending.reserve(raws.iter().map(|raw| raw.tasks.len()).sum());
    let mut declared_secrets: Vec<SecretSource> = Vec::new();
    for source in raws.iter().flat_map(|raw| raw.secrets.values()) {
        if !declared_secrets.contains(source.get_ref()) {
            declared_secrets.push(source.get_ref().clone());
        }
    }
    // Variables belong to the whole set of files.
    let declared = vars::merge(&files, raws.iter().map(|r| &r.vars), &mut errors);
    let vars::Resolved {
        values: vars,
        broken: broken_vars,
        problems: mut deferred,
    } = vars::resolve(&files, &declared, overrides, &mut errors);
    let mut lists: IndexMap<String, Spanned<Vec<String>>> = IndexMap::new();
    for raw in &raws {
        for (name, list) in &raw.lists {
            lists.entry(name.clone()).or_insert_with(|| list.clone());
        }
    }
    check_overrides(overrides, &declared, &mut errors);
    // Every task's full name, for names written short inside a namespace.
    let known: super::NameSet<String> = files
        .iter()
        .zip(&raws)
        .flat_map(|(source, raw)| {
            let namespace = namespace_of(source.name(), included);
            raw.tasks
                .iter()
                .map(move |entry| qualify(&namespace, entry.name.get_ref()))
        })
        .collect();
    // Dependencies on tasks that take arguments are invocations too: each gives an
    // instance of its own, which the dependent depends on.
    let mut specs_of: super::NameMap<String, Vec<task_args::Spec>> = super::NameMap::default();
    for (source, raw) in files.iter().zip(&raws) {
        let namespace = namespace_of(source.name(), included);
        for entry in raw.tasks.iter().filter(|e| !e.task.arg_specs.is_empty()) {
            let specs = entry
                .task
                .arg_specs
                .iter()
                .filter_map(|s| task_args::Spec::from_raw(s.get_ref()).ok())
                .collect();
            specs_of.insert(qualify(&namespace, entry.name.get_ref()), specs);
        }
    }
    let mut invocations: Vec<(String, ArgValues)> = invocations.to_vec();
    let mut invoked_by: super::NameMap<(usize, String), Vec<Spanned<String>>> = super::NameMap::default();
    for (file_index, (source, raw)) in files.iter().zip(&raws).enumerate() {
        let namespace = namespace_of(source.name(), included);
        for entry in &raw.tasks {
            let qualified = qualify(&namespace, entry.name.get_ref());
            // A matrix task gives arguments per instance: `{{ matrix.KEY }}` in them.
            let owners: Vec<(String, IndexMap<String, String>)> = match &entry.task.matrix {
                Some(m) if !entry.task.dep_invocations.is_empty() => matrix::instances(&qualified, m, &lists)
                    .map(|all| all.into_iter().map(|i| (i.name, i.values)).collect())
                    .unwrap_or_default(),
                _ => vec![(qualified.clone(), IndexMap::new())],
            };
            for dep in &entry.task.dep_invocations {
                let target = in_namespace(&namespace, &dep.get_ref().task, &known);
                let Some(specs) = specs_of.get(&target) else {
                    errors.push(LoadError::InvalidValue {
                        src: source.named(),
                        span: span(dep.span()),
                        message: format!("`{target}` is not a task that takes arguments"),
                        label: "arguments for it".into(),
                        help: Some(if known.contains(&target) {
                            format!("depend on it by name: deps = [\"{target}\"]")
                        } else {
                            suggestion(&target, specs_of.keys().map(String::as_str))
                                .unwrap_or_else(|| "declare its arguments: args = [{ name = \"…\" }]".into())
                        }),
                    });
                    continue;
                };
                for (owner, matrix_values) in &owners {
                    let table: IndexMap<String, String> = dep
                        .get_ref()
                        .args
                        .iter()
                        .map(|(k, v)| (k.clone(), matrix_expanded(&v.0, matrix_values, &vars)))
                        .collect();
                    match task_args::from_table(specs, &table) {
                        Ok(values) => {
                            let instance = values.instance_name(&target, specs);
                            invoked_by
                                .entry((file_index, owner.clone()))
                                .or_default()
                                .push(Spanned::new(dep.span(), instance));
                            invocations.push((target.clone(), values));
                        }
                        Err(e) => {
                            errors.push(LoadError::InvalidValue {
                                src: source.named(),
                                span: span(dep.span()),
                                message: format!("the arguments for `{target}`: {}", e.message),
                                label: "arguments".into(),
                                help: Some(match e.help {
                                    Some(h) => {
                                        format!("{h}; usage: {}", task_args::usage_line(&target, specs))
                                    }
                                    None => format!("usage: {}", task_args::usage_line(&target, specs)),
                                }),
                            });
                            // Once, not for every instance of a matrix.
                            break;
                        }
                    }
                }
            }
        }
    }
    let invocations = invocations.as_slice();
    for (file_index, (source, raw)) in files.iter().zip(raws.iter()).enumerate() {
        let namespace = namespace_of(source.name(), included);
        for RawEntry { name, task } in &raw.tasks {
            if !valid_name(name.get_ref()) {
                errors.push(LoadError::InvalidName {
                    src: source.named(),
                    span: span(name.span()),
                    name: name.get_ref().clone(),
                });
                continue;
            }
            let qualified = qualify(&namespace, name.get_ref());
            if let Some((first_file, first_span)) = defined.get(&qualified) {
                errors.push(LoadError::DuplicateTask {
                    src: source.named(),
                    span: span(name.span()),
                    name: qualified.clone(),
                    first: vec![LoadError::note(
                        &files[*first_file],
                        first_span.clone(),
                        format!("`{qualified}` is first defined in {}", files[*first_file].name()),
                        "first defined here",
                    )],
                });
                continue;
            }
            defined.insert(qualified.clone(), (file_index, name.span()));
            let mut shared = Shared {
                root,
                source,
                vars: &vars,
                broken_vars: &broken_vars,
                lists: &lists,
                secrets: &raw.secrets,
                overrides,
                settings: &raw.settings,
                repository,
                namespace: &namespace,
                known: &known,
            };
            if let (Some(m), Some(first)) = (&task.matrix, task.arg_specs.first()) {
                errors.push(LoadError::InvalidValue {
                    src: source.named(),
                    span: span(m.span().start..first.span().end.max(m.span().end)),
                    message: format!("task `{qualified}` has both `matrix` and `args`"),
                    label: "matrix and arguments".into(),
                    help: Some(
                        "a matrix task passes values on instead: put the arguments on the task it runs, deps = [{ task = \"build-image\", args = { container = \"{{ matrix.container }}\" } }]"
                            .into(),
                    ),
                });
                continue;
            }
            if !task.arg_specs.is_empty() {
                let mut specs = Vec::new();
                for raw_spec in &task.arg_specs {
                    match task_args::Spec::from_raw(raw_spec.get_ref()) {
                        Ok(spec) => specs.push(spec),
                        Err(message) => errors.push(LoadError::InvalidValue {
                            src: source.named(),
                            span: span(raw_spec.span()),
                            message,
                            label: "argument".into(),
                            help: None,
                        }),
                    }
                }
                usage_aliases.extend(
                    task.aliases
                        .iter()
                        .map(|a| (file_index, qualified.clone(), a.clone())),
                );
                usages.push(Usage {
                    name: qualified.clone(),
                    aliases: task.aliases.iter().map(|a| a.get_ref().clone()).collect(),
                    description: task.description.as_ref().map(|d| d.get_ref().clone()),
                    specs: specs.clone(),
                });
                let invoked: Vec<&ArgValues> = invocations
                    .iter()
                    .filter(|(task_name, _)| *task_name == qualified)
                    .map(|(_, values)| values)
                    .collect();
                if invoked.is_empty() {
                    // Checked with every argument given, though nothing runs it.
                    let probe = task_args::probe(&specs);
                    let (_, _, problems) =
                        shared.resolve(&qualified, &IndexMap::new(), Some(&probe), task, &mut errors);
                    deferred.extend(problems.own);
                    continue;
                }
                for values in invoked {
                    let instance = values.instance_name(&qualified, &specs);
                    if pending.iter().any(|p| *p.name.get_ref() == instance) {
                        continue;
                    }
                    let (mut task_model, output_refs, problems) =
                        shared.resolve(&instance, &IndexMap::new(), Some(values), task, &mut errors);
                    task_model.usage = Some(qualified.clone());
                    let deps = full_deps(
                        &task.deps,
                        &namespace,
                        &known,
                        invoked_by.get(&(file_index, qualified.clone())),
                    );
                    pending.push(Pending {
                        file: file_index,
                        name: Spanned::new(name.span(), instance),
                        deps,
                        aliases: Vec::new(),
                        handlers: handlers_of(task, &namespace, &known),
                        output_refs,
                        task: task_model,
                        problems,
                    });
                }
                continue;
            }
            let instances = match &task.matrix {
                None => vec![Instance {
                    name: qualified.clone(),
                    values: IndexMap::new(),
                }],
                Some(m) => match matrix::instances(&qualified, m, &lists) {
                    Ok(instances) => instances,
                    Err(e) => {
                        errors.push(LoadError::InvalidValue {
                            src: source.named(),
                            span: span(e.at),
                            message: e.message,
                            label: "matrix".into(),
                            help: e.help,
                        });
                        continue;
                    }
                },
            };
            for instance in &instances {
                let deps = if task.matrix.is_some() {
                    matrix_deps(&task.deps, &instance.values, &vars)
                } else {
                    task.deps.clone()
                };
                let deps = full_deps(
                    &deps,
                    &namespace,
                    &known,
                    invoked_by.get(&(file_index, instance.name.clone())),
                );
                let (task_model, output_refs, problems) =
                    shared.resolve(&instance.name, &instance.values, None, task, &mut errors);
                pending.push(Pending {
                    file: file_index,
                    name: Spanned::new(name.span(), instance.name.clone()),
                    deps,
                    // A matrix task's aliases name all of it: its aggregate.
                    aliases: if task.matrix.is_some() {
                        Vec::new()
                    } else {
                        task.aliases.clone()
                    },
                    handlers: handlers_of(task, &namespace, &known),
                    output_refs,
                    task: task_model,
                    problems,
                });
            }
            if task.matrix.is_some() {
                // `NAME` is every instance: running it, or depending on it.
                let aggregate = RawTask {
                    description: task.description.clone(),
                    ..RawTask::default()
                };
                let (task_model, output_refs, _) =
                    shared.resolve(&qualified, &IndexMap::new(), None, &aggregate, &mut errors);
                pending.push(Pending {
                    file: file_index,
                    name: Spanned::new(name.span(), qualified.clone()),
                    deps: instances
                        .iter()
                        .map(|i| Spanned::new(name.span(), i.name.clone()))
                        .collect(),
                    aliases: task.aliases.clone(),
                    handlers: Handlers {
                        on_failure: Vec::new(),
                        finally: Vec::new(),
                    },
                    output_refs,
                    task: task_model,
                    problems: Problems::default(),
                });
            }
        }
    }

    let index: super::NameMap<&str, usize> = pending
        .iter()
        .enumerate()
        .map(|(i, p)| (p.name.get_ref().as_str(), i))
        .collect();
    let mut dep_ids: Vec<Vec<usize>> = Vec::with_capacity(pending.len());
    for p in &pending {
        let mut ids = Vec::with_capacity(p.deps.len());
        for dep in &p.deps {
            match index.get(dep.get_ref().as_str()) {
                Some(&id) if !ids.contains(&id) => ids.push(id),
                Some(_) => {}
                None => errors.push(LoadError::UnknownDependency {
                    src: files[p.file].named(),
                    span: span(dep.span()),
                    task: p.name.get_ref().clone(),
                    dep: dep.get_ref().clone(),
                    help: suggestion(dep.get_ref(), index.keys().copied()),
                }),
            }
        }
        dep_ids.push(ids);
    }
    // The raw files are read no more: left to the exit, like the task set (freeing
    // their thousands of small strings one by one was 5% of a load).
    std::mem::forget(raws);
    let handler_ids = handlers::resolve(&files, &pending, &index, &mut errors);
    aliases::check(&files, &pending, &index, &mut errors);
    aliases::check_usages(&files, &usage_aliases, &known, &pending, &mut errors);
    drop(index);

    for cycle in graph::cycles(&dep_ids) {
        errors.push(cycle_error(&files, &pending, &cycle));
    }
    handlers::check_order(&files, &pending, &dep_ids, &handler_ids, &mut errors);
    if !errors.is_empty() {
        return Err(LoadErrors { errors });
    }

    let refs: Vec<(usize, OutputRefs)> = pending.iter().map(|p| (p.file, p.output_refs.clone())).collect();
    let mut broken: HashMap<TaskId, Vec<LoadError>> = HashMap::new();
    let tasks = pending
        .into_iter()
        .zip(dep_ids)
        .zip(handler_ids)
        .enumerate()
        .map(|(i, ((p, deps), handlers))| {
            let Problems { own, inherited } = p.problems;
            if !own.is_empty() || !inherited.is_empty() {
                broken.insert(TaskId(i), own.iter().cloned().chain(inherited).collect());
                deferred.extend(own);
            }
            Task {
                deps: deps.into_iter().map(TaskId).collect(),
                on_failure: handlers.on_failure.into_iter().map(TaskId).collect(),
                finally: handlers.finally.into_iter().map(TaskId).collect(),
                ..p.task
            }
        })
        .collect();
    let set = TaskSet::new(root.to_path_buf(), files, tasks, declared_secrets)
        .with_usages(usages)
        .with_problems(deferred, broken);
    check_output_refs(&set, &refs, &mut errors);
    if errors.is_empty() {
        Ok(set)
    } else {
        Err(LoadErrors { errors })
    }
}

/// A `--var` must name a variable some task file declares: a typo would otherwise
/// be ignored, and the default used.
fn check_overrides(
    overrides: &Vars,
    declared: &IndexMap<String, vars::Declared>,
    errors: &mut Vec<LoadError>,
) {
    for name in overrides.0.keys().filter(|n| !declared.contains_key(*n)) {
        errors.push(LoadError::UnknownOverride {
            name: name.clone(),
            help: suggestion(name, declared.keys().map(String::as_str))
                .or_else(|| Some("`--var NAME=VALUE` overrides a variable declared under [vars]".into())),
        });
    }
}

/// What the tasks of one file share while they are resolved.
struct Shared<'a> {
    root: &'a Path,
    source: &'a SourceFile,
    vars: &'a IndexMap<String, String>,
    broken_vars: &'a HashMap<String, Vec<LoadError>>,
    lists: &'a IndexMap<String, Spanned<Vec<String>>>,
    secrets: &'a IndexMap<String, Spanned<SecretSource>>,
    overrides: &'a Vars,
    settings: &'a RawSettings,
    repository: &'a Repository,
    /// The file's namespace, and every task's full name.
    namespace: &'a str,
    known: &'a super::NameSet<String>,
}

impl Shared<'_> {
    /// Resolve `raw` as the task `name` (an instance of a matrix has its `values`).
    fn resolve(
        &mut self,
        name: &str,
        values: &IndexMap<String, String>,
        args: Option<&ArgValues>,
        raw: &RawTask,
        errors: &mut Vec<LoadError>,
    ) -> (Task, OutputRefs, Problems) {
        let mut own = Vec::new();
        let mut resolver = Resolver {
            root: self.root,
            source: self.source,
            vars: self.vars,
            broken_vars: self.broken_vars,
            used_broken: Vec::new(),
            inherited: Vec::new(),
            lists: self.lists,
            matrix: values,
            args,
            secrets: self.secrets,
            overrides: self.overrides,
            task: name,
            errors: &mut own,
            output_refs: Vec::new(),
            used_secrets: Vec::new(),
            settings: self.settings,
            repository: self.repository,
            namespace: self.namespace,
            known: self.known,
            interpreter: Vec::new(),
        };
        let mut task = resolver.task(raw);
        task.secrets = resolver.used_secrets;
        let output_refs = resolver.output_refs;
        task.uses_outputs_of = output_refs.iter().map(|r| r.task.clone()).collect();
        task.uses_outputs_of.dedup();
        task.output_refs = output_refs
            .iter()
            .map(|r| (r.task.clone(), r.key.clone()))
            .collect();
        task.output_refs.dedup();
        let inherited = resolver.inherited;
        // A placeholder that nothing defines makes only this task unrunnable; any other
        // problem is the files'.
        let (own, others): (Vec<_>, Vec<_>) = own
            .into_iter()
            .partition(|e| matches!(e, LoadError::UnknownVariable { .. }));
        errors.extend(others);
        (task, output_refs, Problems { own, inherited })
    }
}

/// `text` with the values of a matrix instance (`{{ matrix.KEY }}`) and variables put in.
fn matrix_expanded(text: &str, values: &IndexMap<String, String>, vars: &IndexMap<String, String>) -> String {
    Template::expand_known(text, |name| {
        name.strip_prefix("matrix.")
            .and_then(|key| values.get(key))
            .or_else(|| vars.get(name))
            .cloned()
    })
}

/// The dependencies of a matrix instance: `build[{{ matrix.container }}]` names the
/// instance of the same value.
fn matrix_deps(
    deps: &[Spanned<String>],
    values: &IndexMap<String, String>,
    vars: &IndexMap<String, String>,
) -> Vec<Spanned<String>> {
    deps.iter()
        .map(|dep| Spanned::new(dep.span(), matrix_expanded(dep.get_ref(), values, vars)))
        .collect()
}

/// A `{{ tasks.NAME.KEY }}` reference of a task: the task named, the key, and where.
#[derive(Clone, Debug)]
struct OutputRef {
    task: String,
    key: String,
    at: Range<usize>,
}

type OutputRefs = Vec<OutputRef>;

/// A task resolved but for its dependencies and handlers, which need every name first.
/// Why a task cannot run, though the others can: its own placeholders that nothing
/// defines, and those of the variables it uses.
#[derive(Default)]
struct Problems {
    own: Vec<LoadError>,
    inherited: Vec<LoadError>,
}

pub(super) struct Pending {
    pub(super) file: usize,
    pub(super) name: Spanned<String>,
    pub(super) deps: Vec<Spanned<String>>,
    pub(super) aliases: Vec<Spanned<String>>,
    pub(super) handlers: Handlers<Spanned<String>>,
    output_refs: OutputRefs,
    task: Task,
    problems: Problems,
}

/// The namespace of a task file: its directories below `tasks/`, joined with `:`
/// (`tasks/zitadel/day2.toml` → `zitadel`); empty for a file directly in `tasks/`.
/// An included file's is the include's name, then its directories below it.
fn namespace_of(shown: &str, included: &[(String, String)]) -> String {
    let (base, inner) = included
        .iter()
        .find_map(|(prefix, name)| {
            shown
                .strip_prefix(prefix.as_str())
                .map(|inner| (name.as_str(), inner))
        })
        .unwrap_or(("", shown.strip_prefix("tasks/").unwrap_or(shown)));
    let dirs = inner.rsplit_once('/').map_or("", |(dirs, _)| dirs);
    [base, &dirs.replace('/', ":")]
        .into_iter()
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(":")
}

/// A task's dependencies: its names resolved in its namespace, then the instances of
/// the tasks it gives arguments to.
fn full_deps(
    names: &[Spanned<String>],
    namespace: &str,
    known: &super::NameSet<String>,
    invoked: Option<&Vec<Spanned<String>>>,
) -> Vec<Spanned<String>> {
    names
        .iter()
        .map(|d| Spanned::new(d.span(), in_namespace(namespace, d.get_ref(), known)))
        .chain(invoked.into_iter().flatten().cloned())
        .collect()
}

/// A task's `on-failure` and `finally`, names resolved in its namespace.
fn handlers_of(task: &RawTask, namespace: &str, known: &super::NameSet<String>) -> Handlers<Spanned<String>> {
    let resolve = |names: &Vec<Spanned<String>>| {
        names
            .iter()
            .map(|n| Spanned::new(n.span(), in_namespace(namespace, n.get_ref(), known)))
            .collect()
    };
    Handlers {
        on_failure: resolve(&task.on_failure),
        finally: resolve(&task.finally),
    }
}

/// The full name of a task `name` of `namespace`.
fn qualify(namespace: &str, name: &str) -> String {
    if namespace.is_empty() {
        name.to_owned()
    } else {
        format!("{namespace}:{name}")
    }
}

/// `name` as written in `namespace`: the task of that namespace when there is one,
/// else the name as it is (a task of the root, or a qualified `ns:name`).
fn in_namespace(namespace: &str, name: &str, known: &super::NameSet<String>) -> String {
    if !namespace.is_empty() {
        let qualified = format!("{namespace}:{name}");
        let base = qualified.split('[').next().unwrap_or(&qualified);
        if known.contains(base) {
            return qualified;
        }
    }
    name.to_owned()
}

pub(super) fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':'))
}

fn read_files(root: &Path, errors: &mut Vec<LoadError>) -> Vec<SourceFile> {
    read_tree(&root.join("tasks"), "tasks", errors)
}

/// The task files under `dir` (shown as `shown/…`), subdirectories included.
pub(super) fn read_tree(dir: &Path, shown: &str, errors: &mut Vec<LoadError>) -> Vec<SourceFile> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            errors.push(LoadError::Read {
                path: format!("{shown}/"),
                reason: e.to_string(),
            });
            return Vec::new();
        }
    };
    // Subdirectories are namespaces (`tasks/zitadel/day2.toml`); symbolic links to
    // directories are not followed (a loop would never end).
    let mut paths: Vec<(String, PathBuf)> = Vec::new();
    let mut pending_dirs = vec![(shown.to_owned(), entries)];
    while let Some((shown_dir, entries)) = pending_dirs.pop() {
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            let shown = format!("{shown_dir}/{name}");
            let is_toml = path.extension().is_some_and(|ext| ext == "toml");
            let real_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            if real_dir && !is_toml && !name.starts_with('.') {
                if let Ok(inner) = std::fs::read_dir(&path) {
                    pending_dirs.push((shown, inner));
                }
            } else if is_toml {
                paths.push((shown, path));
            }
        }
    }
    paths.sort();
    let mut files = Vec::with_capacity(paths.len());
    for (shown, path) in paths {
        if path.is_dir() {
            errors.push(LoadError::Read {
                path: shown,
                reason: "is a directory, not a task file".into(),
            });
            continue;
        }
        match std::fs::read(&path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => files.push(SourceFile::new(shown, text)),
                Err(e) => {
                    let at = e.utf8_error().valid_up_to();
                    let before = std::str::from_utf8(&e.as_bytes()[..at]).unwrap_or_default();
                    let line = before.matches('\n').count() + 1;
                    let column = before.rsplit('\n').next().unwrap_or_default().chars().count() + 1;
                    errors.push(LoadError::Read {
                        path: shown,
                        reason: format!("not valid UTF-8 at line {line}, column {column} (byte {at})"),
                    });
                }
            },
            Err(e) => errors.push(LoadError::Read {
                path: shown,
                reason: e.to_string(),
            }),
        }
    }
    files
}

fn cycle_error(files: &[SourceFile], pending: &[Pending], cycle: &[usize]) -> LoadError {
    let mut path = String::new();
    for &i in cycle {
        let _ = write!(path, "{} → ", pending[i].name.get_ref());
    }
    path.push_str(pending[cycle[0]].name.get_ref());
    // Each edge of the cycle, located at the `deps` entry that creates it.
    let edge = |k: usize| {
        let from = &pending[cycle[k]];
        let to = &pending[cycle[(k + 1) % cycle.len()]];
        let dep_span = from
            .deps
            .iter()
            .find(|d| d.get_ref() == to.name.get_ref())
            .map_or_else(|| from.name.span(), Spanned::span);
        (from, to, dep_span)
    };
    let (from, to, first_span) = edge(0);
    let rest = (1..cycle.len())
        .map(|k| {
            let (f, t, s) = edge(k);
            LoadError::note(
                &files[f.file],
                s,
                format!("`{}` depends on `{}`", f.name.get_ref(), t.name.get_ref()),
                "this dependency",
            )
        })
        .collect();
    LoadError::Cycle {
        src: files[from.file].named(),
        span: span(first_span),
        from: from.name.get_ref().clone(),
        to: to.name.get_ref().clone(),
        path,
        rest,
    }
}

fn check_output_refs(set: &TaskSet, refs: &[(usize, OutputRefs)], errors: &mut Vec<LoadError>) {
    for ((id, task), (file, task_refs)) in set.iter().zip(refs) {
        for OutputRef {
            task: dep_name,
            key,
            at,
        } in task_refs
        {
            let source = &set.files()[*file];
            match set.find(dep_name) {
                Some(dep) if dep == id => errors.push(LoadError::InvalidValue {
                    src: source.named(),
                    span: span(at.clone()),
                    message: format!("task `{}` uses its own output", task.name),
                    label: "its own".into(),
                    help: Some(
                        "a task's values exist only after it ran; use them in a task that depends on it"
                            .into(),
                    ),
                }),
                Some(dep) if graph::depends_on(set, id, dep) => {
                    let produced = set
                        .get(dep)
                        .action
                        .as_ref()
                        .map(Action::produces)
                        .unwrap_or_default();
                    if set.get(dep).interactive {
                        errors.push(LoadError::InvalidValue {
                            src: source.named(),
                            span: span(at.clone()),
                            message: format!("task `{dep_name}` is interactive: it produces no value `{key}`"),
                            label: "not kept".into(),
                            help: Some(format!(
                                "the output of `{dep_name}` goes to the terminal and is not kept; have it write what dependents need to a file, or make it not interactive"
                            )),
                        });
                    } else if !produced.contains(key) {
                        let help = match suggestion(key, produced.iter().map(String::as_str)) {
                            Some(did_you_mean) => did_you_mean,
                            None if produced.is_empty() => format!("`{dep_name}` produces no values"),
                            None => format!("`{dep_name}` produces {}", produced.join(", ")),
                        };
                        errors.push(LoadError::InvalidValue {
                            src: source.named(),
                            span: span(at.clone()),
                            message: format!("task `{dep_name}` produces no value `{key}`"),
                            label: "no such value".into(),
                            help: Some(help),
                        });
                    }
                }
                Some(_) => errors.push(LoadError::OutputNotDependency {
                    src: source.named(),
                    span: span(at.clone()),
                    task: task.name.clone(),
                    dep: dep_name.clone(),
                }),
                None => errors.push(LoadError::UnknownDependency {
                    src: source.named(),
                    span: span(at.clone()),
                    task: task.name.clone(),
                    dep: dep_name.clone(),
                    help: suggestion(dep_name, set.names()),
                }),
            }
        }
    }
}

/// How a `shell` script runs when nothing says otherwise.
fn default_interpreter() -> Vec<String> {
    vec!["sh".into(), "-c".into()]
}

/// The longest duration a task file may give (a timeout, an interval): longer ones
/// are mistakes, and would overflow the clock.
const MAX_DURATION: std::time::Duration = std::time::Duration::from_secs(365 * 24 * 3600);

/// Resolves one raw task: variables, durations, the action. Problems go to `errors`.
pub(super) struct Resolver<'a> {
    /// Where tasks run (script files are read from it).
    root: &'a Path,
    source: &'a SourceFile,
    vars: &'a IndexMap<String, String>,
    /// The variables that use a name nothing defines, and the ones of them this task uses.
    broken_vars: &'a HashMap<String, Vec<LoadError>>,
    used_broken: Vec<String>,
    /// Their problems.
    inherited: Vec<LoadError>,
    /// The values of a matrix instance, as `{{ matrix.KEY }}`.
    matrix: &'a IndexMap<String, String>,
    /// The values of an invocation of a task that takes arguments, as `{{ args.NAME }}`.
    args: Option<&'a ArgValues>,
    /// The list variables (a string cannot use them; a matrix can).
    lists: &'a IndexMap<String, Spanned<Vec<String>>>,
    /// The namespace of the file, for task names written short, and every task's full name.
    namespace: &'a str,
    known: &'a super::NameSet<String>,
    secrets: &'a IndexMap<String, Spanned<SecretSource>>,
    overrides: &'a Vars,
    task: &'a str,
    errors: &'a mut Vec<LoadError>,
    output_refs: OutputRefs,
    used_secrets: Vec<(String, SecretSource)>,
    /// The file's `[settings]`.
    settings: &'a RawSettings,
    /// The repository's, from `ops.toml`.
    repository: &'a Repository,
    /// The interpreter of the task being resolved (its own, the file's, the
    /// repository's, or `sh -c`).
    interpreter: Vec<String>,
}

impl Resolver<'_> {
    fn task(&mut self, raw: &RawTask) -> Task {
        self.interpreter = match raw.interpreter.as_ref().or(self.settings.interpreter.as_ref()) {
            Some(argv) if argv.get_ref().is_empty() => {
                self.invalid(
                    argv.span(),
                    "an empty `interpreter`".into(),
                    "no program",
                    Some("give the program and its arguments; the script comes last: `[\"bash\", \"-euo\", \"pipefail\", \"-c\"]`".into()),
                );
                default_interpreter()
            }
            Some(argv) => argv.get_ref().iter().map(|a| self.text(a)).collect(),
            None => self
                .repository
                .interpreter
                .clone()
                .unwrap_or_else(default_interpreter),
        };
        let timeout = raw.timeout.as_ref().and_then(|t| self.duration(t));
        for key in raw.env.keys() {
            let name = key.get_ref();
            if name.is_empty() || name.contains(['=', '\0']) {
                self.invalid(
                    key.span(),
                    format!("`{name}` cannot be the name of an environment variable"),
                    "not a variable name",
                    Some(
                        "a name is not empty and has no `=` or NUL byte: `env = { NAME = \"value\" }`".into(),
                    ),
                );
            }
        }
        let env: Vec<(String, Template)> = raw
            .env
            .iter()
            .map(|(k, v)| {
                let value = Spanned::new(v.span(), v.get_ref().0.clone());
                let template = self.template(&value);
                (k.get_ref().clone(), self.with_environment(template, &value))
            })
            .collect();
        let mut env_files: Vec<EnvFile> = self.repository.env_files.clone();
        for file in [&self.settings.env_file, &raw.env_file]
            .into_iter()
            .flatten()
            .flat_map(Spanned::get_ref)
        {
            let mut env_file = file.get_ref().resolve();
            env_file.path = self.text_at(&env_file.path, file.span());
            env_files.push(env_file);
        }
        let action = executor::resolve(&raw.steps, &raw_command(raw), self);
        let sources: Vec<String> = raw.sources.iter().map(|s| self.text(s)).collect();
        let outputs: Vec<String> = raw.outputs.iter().map(|s| self.text(s)).collect();
        let dir = raw.dir.as_ref().map(|d| {
            let text = self.text(d);
            self.with_environment(Template::literal(text), d)
        });
        let nix_tools = match raw.nix_tools.as_ref().or(self.settings.nix_tools.as_ref()) {
            Some(tools) => {
                let mut problems = Vec::new();
                let resolved = RawNixTools::resolve(tools, &mut |s| self.text(s), &mut |at, message| {
                    problems.push((at, message));
                });
                for (at, message) in problems {
                    self.invalid(at, message, "not one of the two forms", None);
                }
                resolved
            }
            None => self.repository.nix_tools.clone(),
        };
        let script_digest = self.script_digest(action.as_ref(), dir.as_ref());
        Task {
            name: self.task.to_owned(),
            description: raw.description.as_ref().map(|d| self.text(d)),
            deps: Vec::new(),
            sources,
            outputs,
            timeout,
            retries: raw.retries.as_ref().map_or(0, |r| *r.get_ref()),
            env,
            env_files,
            nix_tools,
            dir,
            confirm: raw
                .confirm
                .as_ref()
                .map(|c| self.text(c))
                .or_else(|| action.as_ref().and_then(Action::question).map(str::to_owned)),
            lock: raw
                .lock
                .as_ref()
                .and_then(|l| super::lock::RawLock::resolve(l, self)),
            uses_outputs_of: Vec::new(),
            output_refs: Vec::new(),
            secrets: Vec::new(),
            interactive: action.as_ref().is_some_and(Action::interactive),
            aliases: raw.aliases.iter().map(|a| a.get_ref().clone()).collect(),
            hidden: raw.hidden.as_ref().is_some_and(|h| *h.get_ref()),
            on_failure: Vec::new(),
            finally: Vec::new(),
            action,
            file: self.source.name().to_owned(),
            script_digest,
            fingerprint: std::sync::OnceLock::new(),
            usage: None,
        }
    }

    /// Parse a string with the variables of this file: a NUL byte and unknown names
    /// (unless `foreign`) are reported; nothing is recorded as used yet.
    fn parse(&mut self, value: &str, at: Range<usize>, foreign: bool) -> Template {
        if value.contains('\0') {
            let nul = vars::locate(self.source, at.clone(), "\\u0000");
            self.invalid(
                nul,
                "a task string cannot contain a NUL byte: no program can receive it".into(),
                "NUL byte",
                Some("remove it (`\\u0000` in a TOML string is a NUL byte)".into()),
            );
        }
        // A matrix instance may name the output of its own dependency's instance:
        // `{{ tasks.build[{{ matrix.container }}].out }}`; its values go in first.
        let nested;
        let value = if !self.matrix.is_empty() && value.contains("tasks.") {
            nested = Template::expand_known(value, |name| {
                name.strip_prefix("matrix.")
                    .and_then(|key| self.matrix.get(key))
                    .cloned()
            });
            nested.as_str()
        } else {
            value
        };
        let broken = std::cell::RefCell::new(Vec::new());
        let lookup = |name: &str| {
            if self.broken_vars.contains_key(name) && !self.overrides.0.contains_key(name) {
                broken.borrow_mut().push(name.to_owned());
            }
            self.overrides
                .0
                .get(name)
                .or_else(|| self.vars.get(name))
                .or_else(|| name.strip_prefix("matrix.").and_then(|key| self.matrix.get(key)))
                .cloned()
                .or_else(|| {
                    let arg = name.strip_prefix("args.")?;
                    self.args?.text(arg, true)
                })
        };
        let template = if foreign {
            Template::parse_foreign(value, lookup)
        } else {
            match Template::parse(value, lookup) {
                Ok(template) => template,
                Err(unknown) => {
                    self.unknown(value, &at, unknown);
                    Template::literal(value.to_owned())
                }
            }
        };
        for name in broken.into_inner() {
            if !self.used_broken.contains(&name) {
                self.inherited.extend(self.broken_vars[&name].iter().cloned());
                self.used_broken.push(name);
            }
        }
        template
    }

    /// Report the names a string uses that nothing defines.
    fn unknown(&mut self, value: &str, at: &Range<usize>, unknown: Vec<UnknownName>) {
        for u in unknown {
            let place = vars::locate(self.source, at.clone(), &value[u.range.clone()]);
            let candidates = self
                .vars
                .keys()
                .chain(self.overrides.0.keys())
                .map(String::as_str);
            self.errors.push(LoadError::UnknownVariable {
                        src: self.source.named(),
                        span: span(place),
                        help: match () {
                            () if self.lists.contains_key(&u.name) => Some(format!(
                                "`{}` is a list: a string takes one value; a `matrix` takes a list (`matrix = {{ x = \"{}\" }}`)",
                                u.name, u.name
                            )),
                            () if u.name.starts_with("args.") => Some(format!(
                                "declare the argument: args = [{{ name = \"{}\", help = \"…\" }}]",
                                u.name.trim_start_matches("args.")
                            )),
                            () if u.name.starts_with("matrix.") && self.matrix.is_empty() => Some(format!(
                                "`{{{{ {} }}}}` is a value of a matrix: give the task `matrix = {{ {} = [\"a\", \"b\"] }}`",
                                u.name,
                                u.name.trim_start_matches("matrix.")
                            )),
                            () => suggestion(&u.name, candidates).or_else(|| {
                                Some(undefined_help(&u.name))
                            }),
                        },
                        name: u.name,
                    });
        }
    }

    /// Record the task outputs and secrets a template uses.
    fn record(&mut self, template: &Template, at: &Range<usize>) {
        for (task, key) in template.output_refs() {
            let placeholder = format!("tasks.{task}.{key}");
            self.output_refs.push(OutputRef {
                task: task.to_owned(),
                key: key.to_owned(),
                at: vars::locate(self.source, at.clone(), &placeholder),
            });
        }
        for name in template.secret_refs() {
            self.use_secret(name, at);
        }
    }

    fn use_secret(&mut self, name: &str, value: &Range<usize>) {
        if let Some(source) = self.secrets.get(name) {
            if !self.used_secrets.iter().any(|(n, _)| n == name) {
                self.used_secrets
                    .push((name.to_owned(), source.get_ref().clone()));
            }
            return;
        }
        let placeholder = format!("secrets.{name}");
        let at = vars::locate(self.source, value.clone(), &placeholder);
        self.errors.push(LoadError::UnknownVariable {
            src: self.source.named(),
            span: span(at),
            name: placeholder,
            help: suggestion(name, self.secrets.keys().map(String::as_str)).or_else(|| {
                Some(format!(
                    "declare it under [secrets]: {name} = \"op://vault/item/field\""
                ))
            }),
        });
    }

    /// The contents of the script file a task runs, hashed: part of its definition,
    /// so that an edit of the script makes it stale. Empty for other tasks; a file
    /// that cannot be read hashes as missing (the run says why when it starts).
    fn script_digest(&self, action: Option<&Action>, dir: Option<&Template>) -> String {
        let Some(Action::Command(command)) = action else {
            return String::new();
        };
        let Some(path) = command.script_file() else {
            return String::new();
        };
        let dir = dir.map_or_else(String::new, |d| d.display_with(|name| std::env::var(name).ok()));
        match std::fs::read(self.root.join(dir).join(path)) {
            Ok(bytes) => blake3::hash(&bytes).to_hex().to_string(),
            Err(_) => "missing".to_owned(),
        }
    }

    /// `template` with the environment variables of `ops` it names (`$HOME`, `~`);
    /// bad syntax is reported in `value`.
    fn with_environment(&mut self, template: Template, value: &Spanned<String>) -> Template {
        match template.clone().with_environment() {
            Ok(expanded) => expanded,
            Err(e) => {
                let at = vars::locate(self.source, value.span(), &e.found);
                self.invalid(
                    at,
                    e.message,
                    "not a variable",
                    Some(
                        "environment variables are `$NAME`, `${NAME}` or `${NAME:-default}`; `$$` is a `$`"
                            .into(),
                    ),
                );
                template
            }
        }
    }

    fn error_bad_duration(&mut self, value: &Spanned<String>, text: &str, reason: &str) {
        self.errors.push(LoadError::BadDuration {
            src: self.source.named(),
            span: span(value.span()),
            task: self.task.to_owned(),
            value: text.to_owned(),
            reason: reason.to_owned(),
        });
    }
}

impl Resolve for Resolver<'_> {
    /// The task being resolved.
    fn task_name(&self) -> &str {
        self.task
    }

    fn interpreter(&self) -> Vec<String> {
        self.interpreter.clone()
    }

    fn nix_defaults(&mut self) -> crate::executor::NixRemote {
        let repository = self.repository.nix.clone();
        let Some(raw) = self.settings.nix.as_ref() else {
            return repository;
        };
        let (file, problems) = raw.get_ref().resolve(&mut |s| self.text(s));
        for (at, message) in problems {
            self.invalid(at, message, "store", None);
        }
        file.or(repository)
    }

    fn template_at(&mut self, value: &str, at: Range<usize>) -> Template {
        let mut template = self.parse(value, at.clone(), false);
        template.rename_tasks(|task| in_namespace(self.namespace, task, self.known));
        self.record(&template, &at);
        template
    }

    fn arg_words(&self, element: &str) -> Option<Vec<String>> {
        let name = element
            .trim()
            .strip_prefix("{{")?
            .strip_suffix("}}")?
            .trim()
            .strip_prefix("args.")?;
        self.args?.words(name).map(<[String]>::to_vec)
    }

    fn foreign_at(&mut self, value: &str, at: Range<usize>) -> Template {
        let mut template = self.parse(value, at.clone(), true);
        template.rename_tasks(|task| in_namespace(self.namespace, task, self.known));
        self.record(&template, &at);
        template
    }

    fn text_at(&mut self, value: &str, at: Range<usize>) -> String {
        let template = self.parse(value, at.clone(), false);
        let runtime = template
            .output_refs()
            .map(|(task, key)| format!("tasks.{task}.{key}"))
            .chain(template.secret_refs().map(|name| format!("secrets.{name}")))
            .next();
        if let Some(placeholder) = runtime {
            let place = vars::locate(self.source, at, &placeholder);
            let what = if placeholder.starts_with("secrets.") {
                "a secret"
            } else {
                "a task's output"
            };
            self.invalid(
                place,
                format!(
                    "this value of task `{}` is read when the task files load, before any task runs: it cannot use {what}",
                    self.task
                ),
                "known only when a task runs",
                Some("use a variable here (`[vars]`, `--var`); task outputs and secrets go into the keys a step reads when it runs (`cmd`, `shell`, `env`, a step's paths and arguments)".into()),
            );
        }
        template.display()
    }

    /// A Kubernetes context named by a step, after `--context-map`.
    fn context(&mut self, value: &Spanned<String>) -> Context {
        let named = self.text(value);
        Context::new(named, &self.overrides.1, value.span())
    }

    /// A duration such as `30m`.
    fn duration(&mut self, value: &Spanned<String>) -> Option<std::time::Duration> {
        let text = self.text(value);
        match humantime::parse_duration(&text) {
            Ok(d) if d > MAX_DURATION => {
                self.error_bad_duration(value, &text, "longer than the longest allowed, 365 days");
                None
            }
            Ok(d) => Some(d),
            Err(e) => {
                self.error_bad_duration(value, &text, &e.to_string());
                None
            }
        }
    }

    /// Report a problem with a value of this task.
    fn invalid(&mut self, at: Range<usize>, message: String, label: &str, help: Option<String>) {
        self.errors.push(LoadError::InvalidValue {
            src: self.source.named(),
            span: span(at),
            message,
            label: label.to_owned(),
            help,
        });
    }

    /// Report two action keys on one task.
    fn multiple_actions(&mut self, first: (&str, Range<usize>), second: (&str, Range<usize>)) {
        self.errors.push(LoadError::MultipleActions {
            src: self.source.named(),
            first: span(first.1),
            second: span(second.1),
            task: self.task.to_owned(),
            first_key: first.0.to_owned(),
            second_key: second.0.to_owned(),
        });
    }
}

fn raw_command(raw: &RawTask) -> RawCommand<'_> {
    RawCommand {
        cmd: raw.cmd.as_ref(),
        shell: raw.shell.as_ref(),
        script: raw.script.as_ref(),
        args: raw.script_args.as_ref(),
        check: raw.check.as_ref(),
        check_shell: raw.check_shell.as_ref(),
        read_only: raw.read_only.as_ref(),
        interactive: raw.interactive.as_ref(),
    }
}

/// Hash of everything that defines a task, given as the Debug text of its parts:
/// deterministic for these types; a change of `ops` version that changes it only
/// makes tasks run once more.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::executor::RawSteps;

    fn load_one(text: &str) -> Result<TaskSet, LoadErrors> {
        let file = SourceFile::new("tasks/t.toml", text.to_owned());
        load_sources(Path::new("/repo"), vec![file], &Vars::default())
    }

    /// Every declared step kind loads from its example as that kind, never as an
    /// aggregate: a kind whose table is not read or not resolved fails here.
    #[test]
    fn every_step_kind_loads_from_its_example() {
        assert!(RawSteps::EXAMPLES.len() >= 11);
        for (key, example) in RawSteps::EXAMPLES {
            let set = load_one(&format!("[tasks.t]\n{key} = {example}\n"))
                .unwrap_or_else(|e| panic!("{key} = {example} does not load: {e:?}"));
            let task = set.get(set.find("t").unwrap());
            assert_eq!(task.action.as_ref().map(Action::key), Some(*key), "{key}");
        }
    }

    /// Two step kinds on one task are reported, whichever two they are.
    #[test]
    fn any_two_step_kinds_are_reported() {
        let kinds = RawSteps::EXAMPLES;
        for (i, (first, a)) in kinds.iter().enumerate() {
            let (second, b) = kinds[(i + 1) % kinds.len()];
            let text = format!("[tasks.t]\n{first} = {a}\n{second} = {b}\n");
            let errors = load_one(&text).expect_err(&text).errors;
            assert!(
                errors
                    .iter()
                    .any(|e| matches!(e, LoadError::MultipleActions { .. })),
                "{first} and {second}: {errors:?}"
            );
        }
        let errors = load_one("[tasks.t]\nshell = \"true\"\ngate = { confirm = \"ok?\" }\n")
            .expect_err("shell and gate")
            .errors;
        assert!(
            errors
                .iter()
                .any(|e| matches!(e, LoadError::MultipleActions { .. }))
        );
    }

    #[test]
    fn interactive_is_part_of_the_fingerprint() {
        let fingerprint = |extra: &str| {
            let set = load_one(&format!("[tasks.t]\nshell = \"read -r x\"\n{extra}")).unwrap();
            let task = set.get(set.find("t").unwrap());
            (task.interactive, task.fingerprint().to_owned())
        };
        let (plain, before) = fingerprint("");
        let (interactive, after) = fingerprint("interactive = true\n");
        assert!(!plain && interactive);
        assert_ne!(before, after);
        assert_eq!(fingerprint("interactive = false\n"), (false, before));
    }

    #[test]
    fn a_misspelt_step_key_suggests_the_kind() {
        let errors = load_one("[tasks.t]\nnix-buld = { file = \"default.nix\" }\n")
            .expect_err("unknown key")
            .errors;
        let text = format!("{:?}", errors[0]);
        assert!(text.contains("nix-build"), "{text}");
    }
}
