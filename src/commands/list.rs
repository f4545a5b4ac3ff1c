//! `ops list`: every task with its aliases and description, aligned; hidden tasks
//! (`hidden = true`) only with `--all`.

use std::fmt::Write as _;
use std::io::Write as _;

use schemars::JsonSchema;
use serde::Serialize;

use crate::cli::{Format, ListArgs};
use crate::exit::ExitStatus;
use crate::task::{Task, TaskId, TaskSet};

pub(super) fn run(set: &TaskSet, args: &ListArgs) -> ExitStatus {
    let shown: Vec<(TaskId, &Task)> = set.iter().filter(|(_, t)| args.all || !t.hidden).collect();
    let text = match args.format {
        Format::Human => render(&shown, set),
        Format::Json => format!("{}\n", json(&shown, set)),
    };
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    let broken = shown.iter().filter(|(id, _)| set.broken(*id).is_some()).count();
    if broken > 0 && args.format == Format::Human {
        eprintln!("{}", super::cannot_run_note(broken));
    }
    ExitStatus::Success
}

/// `ops list --format json`.
#[derive(Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
#[schemars(title = "ops list --format json")]
pub(crate) struct ListJson<'a> {
    /// The version of the format: raised when a field changes meaning or goes away.
    version: u32,
    tasks: Vec<TaskJson<'a>>,
    /// Tasks that take arguments (`ops run NAME ARG…`): one entry each, before expansion.
    tasks_with_arguments: Vec<UsageJson<'a>>,
}

#[derive(Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
struct TaskJson<'a> {
    name: &'a str,
    aliases: &'a [String],
    hidden: bool,
    description: Option<&'a str>,
    /// The step kind (`nix-build`, `kube-apply`, …) or `aggregate`.
    kind: &'a str,
    deps: Vec<&'a str>,
    /// The task file that defines it, relative to the root.
    file: &'a str,
    /// Why it cannot run (an undefined placeholder): empty when it can.
    problems: Vec<String>,
}

#[derive(Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
struct UsageJson<'a> {
    name: &'a str,
    aliases: &'a [String],
    description: Option<&'a str>,
    /// `NAME ARG [OPTIONAL]`.
    usage: String,
}

fn json(shown: &[(TaskId, &Task)], set: &TaskSet) -> String {
    let tasks = shown
        .iter()
        .map(|&(id, t)| TaskJson {
            name: &t.name,
            aliases: &t.aliases,
            hidden: t.hidden,
            description: t.description.as_deref(),
            kind: t
                .action
                .as_ref()
                .map_or("aggregate", crate::executor::Action::key),
            deps: t.deps.iter().map(|&d| set.get(d).name.as_str()).collect(),
            file: &t.file,
            problems: set
                .broken(id)
                .unwrap_or_default()
                .iter()
                .map(ToString::to_string)
                .collect(),
        })
        .collect();
    let tasks_with_arguments = set
        .usages()
        .iter()
        .map(|u| UsageJson {
            name: &u.name,
            aliases: &u.aliases,
            description: u.description.as_deref(),
            usage: crate::task::args::usage_line(&u.name, &u.specs),
        })
        .collect();
    let doc = ListJson {
        version: crate::schema::JSON_VERSION,
        tasks,
        tasks_with_arguments,
    };
    serde_json::to_string(&doc).unwrap_or_default()
}

/// `name (alias, alias)`, as the first column shows it.
fn title(task: &Task) -> String {
    if task.aliases.is_empty() {
        task.name.clone()
    } else {
        format!("{} ({})", task.name, task.aliases.join(", "))
    }
}

/// The tasks in the order of the files, then every task that takes arguments, by its
/// usage line.
fn render(tasks: &[(TaskId, &Task)], set: &TaskSet) -> String {
    let rows: Vec<(String, String)> = tasks
        .iter()
        .map(|&(id, t)| {
            let description = t.description.as_deref().unwrap_or("");
            let description = match set.broken(id) {
                // The first reason is enough here; `ops validate` shows every one, where.
                Some([first, ..]) => format!("{description} [cannot run: {first}]")
                    .trim_start()
                    .to_owned(),
                _ => description.to_owned(),
            };
            (title(t), description)
        })
        .chain(set.usages().iter().map(|u| {
            let line = crate::task::args::usage_line(&u.name, &u.specs);
            let line = if u.aliases.is_empty() {
                line
            } else {
                // `build-image (bi) CONTAINER`: the aliases beside the name, as for the others.
                line.replacen(&u.name, &format!("{} ({})", u.name, u.aliases.join(", ")), 1)
            };
            (line, u.description.clone().unwrap_or_default())
        }))
        .collect();
    let width = rows.iter().map(|(n, _)| n.chars().count()).max().unwrap_or(0);
    let mut out = String::new();
    for (name, description) in rows {
        let line = format!("{name:<width$}  {description}");
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out
}
