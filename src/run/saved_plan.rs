//! Saved plans: `ops run TASK --diff --save-plan FILE` records what every task would
//! change; `ops run --plan FILE` applies exactly that, skipping the tasks whose diff
//! said "no change", and refuses a stale plan (a task definition, the graph or a
//! task's sources changed since), naming what changed.

use std::collections::{BTreeMap, HashMap};
use std::io::Write as _;
use std::path::Path;

use miette::Diagnostic;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::Resume;
use super::journal;
use super::uptodate;
use crate::redact::Redactor;
use crate::report::{Status, Summary};
use crate::task::{TaskId, TaskSet};

/// The version of the plan format: the version of every JSON document of `ops`.
const VERSION: u32 = crate::schema::JSON_VERSION;

#[derive(Clone, Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(title = "ops run --save-plan FILE", deny_unknown_fields)]
pub(crate) struct SavedPlan {
    /// The version of the plan format (`ops_plan` in plans of ops 0.1).
    #[serde(alias = "ops_plan")]
    pub version: u32,
    /// When the plan was made (RFC 3339, UTC).
    pub created_at: String,
    /// Hash of the task graph the plan was made from: the plan is stale once it changes.
    pub graph: String,
    /// The tasks asked for.
    pub targets: Vec<String>,
    /// Every task of the run, in the order they would run.
    pub tasks: Vec<PlannedStep>,
    /// blake3 of the plan as written (with this field empty): an edited plan is refused.
    #[serde(default)]
    pub digest: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct PlannedStep {
    pub task: String,
    /// Hash of the task's definition, variables filled in.
    pub fingerprint: String,
    /// Hash of the task's `sources`, when it has some.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sources: Option<String>,
    /// What the diff found: `changes`, `no_change`, `unknown`, `up_to_date`.
    pub diff: Status,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub outputs: BTreeMap<String, String>,
    /// Keys of `outputs` whose values held a secret (stored as `***`): the task runs
    /// again when the plan is applied, to produce them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redacted: Vec<String>,
}

#[derive(Debug, Error, Diagnostic)]
pub(crate) enum PlanError {
    #[error("cannot read the plan {path}: {reason}")]
    #[diagnostic(code(ops::plan::unreadable))]
    Unreadable { path: String, reason: String },

    #[error("the plan {path} is for `{planned}`, not `{asked}`")]
    #[diagnostic(
        code(ops::plan::other_targets),
        help(
            "apply it with `ops run --plan {path}`, or make a plan for `{asked}` with `ops run {asked} --diff --save-plan FILE`; nothing was run"
        )
    )]
    OtherTargets {
        path: String,
        planned: String,
        asked: String,
    },

    #[error("`{task}` is not a task of the plan {path}")]
    #[diagnostic(
        code(ops::plan::not_in_plan),
        help("the plan's tasks: {tasks}; nothing was run")
    )]
    NotInPlan {
        path: String,
        task: String,
        tasks: String,
    },

    #[error("the plan {path} was edited after it was saved")]
    #[diagnostic(
        code(ops::plan::edited),
        help(
            "a plan is applied as `--diff` saved it; make a new one with `ops run TASK --diff --save-plan FILE`; nothing was run"
        )
    )]
    Edited { path: String },

    #[error("the plan {path} was applied already ({at})")]
    #[diagnostic(
        code(ops::plan::applied),
        help(
            "a plan is applied once; make a new one with `ops run {targets} --diff --save-plan FILE`; nothing was run"
        )
    )]
    Applied {
        path: String,
        at: String,
        targets: String,
    },

    #[error("the plan {path} is stale: {changes}")]
    #[diagnostic(
        code(ops::plan::stale),
        help("make a new one with `ops run {targets} --diff --save-plan {path}`; nothing was run")
    )]
    Stale {
        path: String,
        targets: String,
        changes: String,
    },
}

impl SavedPlan {
    pub(crate) fn read(path: &Path) -> Result<Self, PlanError> {
        let unreadable = |reason: String| PlanError::Unreadable {
            path: path.display().to_string(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| unreadable(e.to_string()))?;
        let plan: Self =
            serde_json::from_str(&text).map_err(|e| unreadable(format!("not an ops plan: {e}")))?;
        if plan.version != VERSION {
            return Err(unreadable(format!(
                "plan format {} (this ops reads {VERSION})",
                plan.version
            )));
        }
        if plan.digest.is_empty() || plan.digest != plan.computed_digest() {
            return Err(PlanError::Edited {
                path: path.display().to_string(),
            });
        }
        Ok(plan)
    }

    /// The digest of the plan's content, its own digest left out.
    fn computed_digest(&self) -> String {
        let unsigned = Self {
            digest: String::new(),
            ..self.clone()
        };
        let bytes = serde_json::to_vec(&unsigned).unwrap_or_default();
        blake3::hash(&bytes).to_hex().to_string()
    }

    /// Record that this plan (or with `part`, the part of it `--only` names) is being
    /// applied; a plan, or a part of it, is applied once.
    pub(crate) fn mark_applied(&self, root: &Path, path: &Path, part: &[String]) -> Result<(), PlanError> {
        let dir = root.join(".ops").join("plans");
        let digest = &self.digest[..32.min(self.digest.len())];
        let record = if part.is_empty() {
            dir.join(format!("{digest}.applied"))
        } else {
            let mut names = part.to_vec();
            names.sort();
            let part = blake3::hash(names.join("\n").as_bytes()).to_hex();
            dir.join(format!("{digest}.{}.applied", &part[..16]))
        };
        let io = |e: std::io::Error| PlanError::Unreadable {
            path: record.display().to_string(),
            reason: e.to_string(),
        };
        std::fs::create_dir_all(&dir).map_err(io)?;
        match std::fs::File::options()
            .write(true)
            .create_new(true)
            .open(&record)
        {
            Ok(mut file) => {
                let _ = writeln!(file, "{}", journal::now());
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(PlanError::Applied {
                path: path.display().to_string(),
                at: std::fs::read_to_string(&record)
                    .unwrap_or_default()
                    .trim()
                    .to_owned(),
                targets: self.targets.join(" "),
            }),
            Err(e) => Err(io(e)),
        }
    }

    /// Written (with its digest) to a temporary file next to `path`, then renamed over
    /// it; a `path` that is there and is not a regular file is left alone.
    pub(crate) fn write(&self, path: &Path) -> std::io::Result<()> {
        if let Ok(meta) = std::fs::symlink_metadata(path)
            && !meta.file_type().is_file()
        {
            return Err(std::io::Error::other("it is there and is not a regular file"));
        }
        let signed = Self {
            digest: self.computed_digest(),
            ..self.clone()
        };
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        serde_json::to_writer_pretty(&mut tmp, &signed)?;
        tmp.write_all(b"\n")?;
        tmp.as_file().sync_all()?;
        tmp.persist(path).map_err(|e| e.error)?;
        Ok(())
    }

    /// Check the plan against the task files as they are now, for the `targets` asked
    /// for; `Ok` holds what to skip.
    pub(crate) fn check(
        &self,
        path: &Path,
        set: &TaskSet,
        targets: &[String],
        order: &[TaskId],
    ) -> Result<Resume, PlanError> {
        let sorted = |names: &[String]| {
            let mut names = names.to_vec();
            names.sort();
            names.dedup();
            names
        };
        if sorted(targets) != sorted(&self.targets) {
            return Err(PlanError::OtherTargets {
                path: path.display().to_string(),
                planned: self.targets.join(" "),
                asked: targets.join(" "),
            });
        }
        let mut changes = Vec::new();
        let planned: HashMap<&str, &PlannedStep> = self.tasks.iter().map(|t| (t.task.as_str(), t)).collect();
        for &id in order {
            let task = set.get(id);
            match planned.get(task.name.as_str()) {
                None => changes.push(format!("{} (not in the plan)", task.name)),
                Some(step) if step.fingerprint != task.fingerprint() => {
                    changes.push(format!("{} (definition changed)", task.name));
                }
                Some(step) => {
                    let now = (!task.sources.is_empty())
                        .then(|| uptodate::hash_sources(set.root(), task).ok())
                        .flatten();
                    if now != step.sources {
                        changes.push(format!("{} (sources changed)", task.name));
                    }
                }
            }
        }
        if changes.is_empty() && journal::graph_hash(set, order) != self.graph {
            changes.push("the dependency graph changed".to_owned());
        }
        if !changes.is_empty() {
            return Err(PlanError::Stale {
                path: path.display().to_string(),
                targets: self.targets.join(" "),
                changes: changes.join(", "),
            });
        }
        let done = self
            .tasks
            .iter()
            .filter(|t| matches!(t.diff, Status::NoChange | Status::UpToDate) && t.redacted.is_empty())
            .map(|t| (t.task.clone(), (t.fingerprint.clone(), t.outputs.clone())))
            .collect();
        Ok(Resume::planned(format!("plan {}", path.display()), done))
    }

    /// The values the plan holds of each task (none that held a secret).
    pub(crate) fn values(&self) -> HashMap<String, BTreeMap<String, String>> {
        self.tasks
            .iter()
            .map(|t| {
                let values = t
                    .outputs
                    .iter()
                    .filter(|(k, _)| !t.redacted.contains(k))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                (t.task.clone(), values)
            })
            .collect()
    }

    /// `--only`: the named tasks must be tasks of the plan.
    pub(crate) fn check_part(&self, path: &Path, part: &[String]) -> Result<(), PlanError> {
        for name in part {
            if !self.tasks.iter().any(|t| &t.task == name) {
                return Err(PlanError::NotInPlan {
                    path: path.display().to_string(),
                    task: name.clone(),
                    tasks: self
                        .tasks
                        .iter()
                        .map(|t| t.task.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
        }
        Ok(())
    }
}

/// The plan `--save-plan` writes, from the summary of a `--diff` run: each task's
/// diff status and the values it produced (secrets redacted).
pub(crate) fn from_summary(
    set: &TaskSet,
    order: &[TaskId],
    summary: &Summary,
    targets: Vec<String>,
    redactor: &Redactor,
) -> SavedPlan {
    let tasks = order
        .iter()
        .zip(&summary.results)
        .map(|(&id, result)| {
            let task = set.get(id);
            PlannedStep {
                task: task.name.clone(),
                fingerprint: task.fingerprint().to_owned(),
                sources: (!task.sources.is_empty())
                    .then(|| uptodate::hash_sources(set.root(), task).ok())
                    .flatten(),
                diff: result.status,
                commands: task.action.as_ref().map(|a| a.plan().lines).unwrap_or_default(),
                outputs: result
                    .outputs
                    .iter()
                    .map(|(k, v)| (k.clone(), redactor.redact(v).into_owned()))
                    .collect(),
                redacted: result
                    .outputs
                    .iter()
                    .filter(|(_, v)| redactor.reveals(v))
                    .map(|(k, _)| k.clone())
                    .collect(),
            }
        })
        .collect();
    SavedPlan {
        version: VERSION,
        created_at: journal::now(),
        graph: journal::graph_hash(set, order),
        targets,
        tasks,
        digest: String::new(),
    }
}
