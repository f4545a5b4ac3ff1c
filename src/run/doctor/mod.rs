//! `ops doctor`, and the checks `ops run` makes before it starts anything: what this
//! machine lacks for the tasks about to run, each with the way out.
//!
//! Each step kind lists what it needs ([`crate::executor::Need`]); the task adds the
//! variables its `env` and `dir` read, its env files and its secrets' sources. Each
//! kind of need has one check: [`program`] (the one place that says where a task's
//! programs are), [`kube`] (the kubeconfig, no cluster contacted), [`endpoint`]
//! (services, connected to with a short timeout), files and variables here. The
//! advice is the table of [`lack`].
//!
//! A missing file or a service that does not answer may be provided by a task this
//! one depends on that runs earlier in the same run (a playbook renders the file,
//! starts the service): then it is a warning. Anything else (a program, a context, a
//! secret's source, a variable) means the task cannot possibly succeed.

mod endpoint;
mod kube;
mod lack;
mod program;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use endpoint::Address;
use lack::{Lack, Service};
use program::program_available;

use super::environment;
use crate::executor::{Need, Needed};
use crate::report::{Missing, Mode, Name};
use crate::task::{SecretSource, Task, TaskId, TaskSet};

/// A task as the checks see it, before it runs.
pub(super) struct Subject<'a> {
    pub task: &'a Task,
    /// Its directory, when it is known before the run.
    pub dir: Option<PathBuf>,
    /// The variables it sets that are known before the run (env files, then `env`).
    pub env: Vec<(String, String)>,
}

impl<'a> Subject<'a> {
    fn new(root: &Path, task: &'a Task) -> Self {
        let dir = match &task.dir {
            None => Some(root.to_path_buf()),
            Some(dir) => dir.known().map(|d| root.join(d)),
        };
        let mut env = environment::read_files(root, &task.env_files).unwrap_or_default();
        env.extend(
            task.env
                .iter()
                .filter_map(|(key, value)| Some((key.clone(), value.known()?))),
        );
        Self { task, dir, env }
    }

    /// A variable the task sets itself.
    fn own_var(&self, name: &str) -> Option<String> {
        self.env
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    }
}

/// A service to connect to, for a task.
struct Probe {
    task: TaskId,
    service: Service,
    address: Address,
    key: String,
}

/// What this machine lacks for the tasks of `order` (a closure, dependencies first)
/// that `runs` says run, for a run in `mode`: nothing for `--dry-run`, what the steps
/// read for `--diff`, everything for apply. Tasks in run order; a task's findings
/// in the order of its keys, the services last.
pub(crate) fn check(
    set: &TaskSet,
    order: &[TaskId],
    mode: Mode,
    runs: &dyn Fn(&Task) -> bool,
) -> Vec<Missing> {
    if mode == Mode::DryRun {
        return Vec::new();
    }
    let running: Vec<TaskId> = order.iter().copied().filter(|&id| runs(set.get(id))).collect();
    let mut kubeconfigs = kube::Kubeconfigs::default();
    let mut found: Vec<(TaskId, Vec<Lack>)> = Vec::new();
    let mut probes: Vec<Probe> = Vec::new();
    for &id in &running {
        let task = set.get(id);
        let subject = Subject::new(set.root(), task);
        // The lease of an apply is taken with the kubeconfig of ops itself.
        let lease = task
            .lock
            .as_ref()
            .filter(|_| mode == Mode::Apply)
            .and_then(|lock| {
                let at = location(set, task, lock.context.at.start);
                kubeconfigs.check(&lock.context, at, &[]).err()
            });
        let Some(action) = &task.action else {
            if let Some(lack) = lease {
                found.push((id, vec![lack]));
            }
            continue;
        };
        let mut lacks = task_lacks(set.root(), &subject);
        lacks.extend(lease);
        let dir_missing = lacks.iter().any(|l| matches!(l, Lack::NoDir { .. }));
        let dir = subject.dir.clone().unwrap_or_else(|| set.root().to_path_buf());
        let mut needs: Vec<Need> = Vec::new();
        // Its tools from Nix are built with Nix's own programs.
        let tools = match &task.nix_tools {
            Some(crate::executor::NixTools::File { .. }) => &["nix-instantiate", "nix-store"][..],
            Some(crate::executor::NixTools::Installables(_)) => &["nix"][..],
            None => &[][..],
        };
        let tool_needs = tools.iter().map(|program| Need {
            key: "nix-tools".to_owned(),
            what: Needed::Program((*program).to_owned()),
        });
        for need in tool_needs.chain(action.needs(mode, &dir)) {
            if !needs.contains(&need) {
                needs.push(need);
            }
        }
        for Need { key, what } in needs {
            let lack = match what {
                Needed::Program(name) => program_available(&subject, &name, &key).and_then(Result::err),
                Needed::File(path) => subject
                    .dir
                    .as_ref()
                    .filter(|dir| !dir_missing && !dir.join(&path).exists())
                    .map(|_| Lack::NoFile { path, key }),
                Needed::KubeContext(context) => {
                    let at = location(set, task, context.at.start);
                    kubeconfigs.check(&context, at, &subject.env).err()
                }
                Needed::Env(var) => std::env::var_os(&var)
                    .is_none()
                    .then_some(Lack::StepEnvUnset { var, key }),
                Needed::CaddyAdmin(url) => {
                    probes.push(Probe {
                        task: id,
                        service: Service::CaddyAdmin,
                        address: Address::of_url(&url),
                        key,
                    });
                    None
                }
                Needed::Postgres { host, port } => {
                    probes.push(Probe {
                        task: id,
                        service: Service::Postgres,
                        address: Address::postgres(&host, port),
                        key,
                    });
                    None
                }
            };
            if let Some(lack) = lack
                && !lacks.last_mut().is_some_and(|last| last.absorb(&lack))
            {
                lacks.push(lack);
            }
        }
        found.push((id, lacks));
    }
    for (probe, answer) in probe(probes) {
        if let Err(why) = answer
            && let Some((_, lacks)) = found.iter_mut().find(|(id, _)| *id == probe.task)
        {
            lacks.push(Lack::Silent {
                service: probe.service,
                address: probe.address.shown().to_owned(),
                key: probe.key,
                why,
            });
        }
    }
    let position: HashMap<TaskId, usize> = order.iter().enumerate().map(|(i, &id)| (id, i)).collect();
    let running: HashSet<TaskId> = running.into_iter().collect();
    found
        .into_iter()
        .flat_map(|(id, lacks)| {
            let task: Name = Arc::from(set.get(id).name.as_str());
            let earlier = earlier(set, &running, &position, id);
            lacks.into_iter().map(move |lack| Missing {
                task: task.clone(),
                what: lack.what(),
                way_out: lack.way_out(),
                earlier: if lack.may_come_earlier() {
                    earlier.clone()
                } else {
                    Vec::new()
                },
            })
        })
        .collect()
}

/// `tasks/deploy.toml:12`: the line of the task's file that holds byte `offset`.
fn location(set: &TaskSet, task: &Task, offset: usize) -> String {
    let line = set
        .files()
        .iter()
        .find(|f| f.name() == task.file)
        .map(|f| f.text().get(..offset).unwrap_or_default().matches('\n').count() + 1);
    match line {
        Some(line) => format!("{}:{line}", task.file),
        None => task.file.clone(),
    }
}

/// What the task itself needs, whatever its step: its directory, the variables its
/// `env` and `dir` read, its env files, its secrets' sources.
fn task_lacks(root: &Path, subject: &Subject<'_>) -> Vec<Lack> {
    let task = subject.task;
    let mut lacks = Vec::new();
    if let (Some(dir), Some(shown)) = (
        &subject.dir,
        task.dir.as_ref().and_then(crate::template::Template::known),
    ) && !dir.is_dir()
    {
        lacks.push(Lack::NoDir { path: shown });
    }
    for (var, key) in task.required_env() {
        if std::env::var_os(var).is_none() {
            lacks.push(Lack::EnvUnset {
                var: var.to_owned(),
                key: key.to_owned(),
            });
        }
    }
    for file in task.env_files.iter().filter(|f| !f.optional) {
        if !root.join(&file.path).exists() {
            lacks.push(Lack::NoEnvFile {
                path: file.path.clone(),
            });
        }
    }
    for (secret, source) in &task.secrets {
        match source {
            SecretSource::Env(var) if std::env::var_os(var).is_none() => lacks.push(Lack::SecretEnvUnset {
                secret: secret.clone(),
                var: var.clone(),
            }),
            // `ops` reads it, not the task: on the PATH of `ops`.
            SecretSource::OnePassword(_)
                if crate::process::find_on_path("op", &std::env::var_os("PATH").unwrap_or_default())
                    .is_none() =>
            {
                lacks.push(Lack::NoOp {
                    secret: secret.clone(),
                });
            }
            SecretSource::Env(_) | SecretSource::OnePassword(_) => {}
        }
    }
    lacks
}

/// Connect to every service once (several tasks may name one), all at once.
fn probe(probes: Vec<Probe>) -> Vec<(Probe, Result<(), String>)> {
    let mut addresses: Vec<Address> = Vec::new();
    for probe in &probes {
        if !addresses.contains(&probe.address) {
            addresses.push(probe.address.clone());
        }
    }
    let answers = endpoint::probe_all(&addresses);
    probes
        .into_iter()
        .map(|probe| {
            let i = addresses.iter().position(|a| *a == probe.address).unwrap_or(0);
            let answer = answers[i].clone();
            (probe, answer)
        })
        .collect()
}

/// The nearest tasks below `id` that run in this run and have a step (aggregates
/// are looked through), in run order: what may provide a file or a service first.
fn earlier(
    set: &TaskSet,
    running: &HashSet<TaskId>,
    position: &HashMap<TaskId, usize>,
    id: TaskId,
) -> Vec<Name> {
    let mut found: Vec<TaskId> = Vec::new();
    let mut seen: HashSet<TaskId> = HashSet::new();
    let mut stack: Vec<TaskId> = set.get(id).deps.clone();
    while let Some(dep) = stack.pop() {
        if !seen.insert(dep) {
            continue;
        }
        let task = set.get(dep);
        if running.contains(&dep) && task.action.is_some() {
            found.push(dep);
        } else {
            stack.extend(task.deps.iter().copied());
        }
    }
    found.sort_by_key(|id| position.get(id).copied().unwrap_or(usize::MAX));
    found
        .into_iter()
        .map(|id| Arc::from(set.get(id).name.as_str()))
        .collect()
}
