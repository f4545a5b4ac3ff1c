//! The words of `ops run` after a task that takes arguments are that task's:
//! `ops run build-image authentik --push --tag v1 --dry-run`. The flags of `ops run`
//! itself may stand anywhere (clap reads them first; a task cannot take a flag of the
//! same name, which load refuses), every other word is a target or, after a task
//! that takes arguments, one of its arguments. Each invocation becomes a task of its
//! own, named by its values.

use clap::CommandFactory as _;
use miette::Diagnostic;
use thiserror::Error;

use crate::cli::RunArgs;
use crate::task::TaskSet;
use crate::task::Usage;
use crate::task::args::{self, Kind, Values};

/// Words that do not fit a task's arguments: exit 2, with its usage.
#[derive(Debug, Error, Diagnostic)]
#[error("task `{task}`: {message}")]
#[diagnostic(code(ops::run::arguments))]
pub(crate) struct ArgumentsError {
    task: String,
    message: String,
    #[help]
    help: String,
}

/// What the command line asks for.
pub(super) enum Invocation {
    /// Run these: the flags picked out of the targets' words (to parse again), the
    /// targets, the invocations of tasks that take arguments.
    Run {
        flags: Vec<String>,
        targets: Vec<String>,
        invocations: Vec<(String, Values)>,
    },
    /// `ops run TASK --help`: print this.
    Help(String),
}

/// Read the targets of `args` against the tasks of `set`. clap takes every word after
/// the first target as a target (it has to allow words that start with `-`, for a
/// task's own flags): here the flags of `ops run` and `ops` are picked out again,
/// wherever they stand, and the command line is parsed once more with them in front.
/// After a task that takes arguments, the other words are its own; `rest` words
/// followed a `--`.
pub(super) fn read(set: &TaskSet, args: &RunArgs, rest: usize) -> Result<Invocation, ArgumentsError> {
    // clap keeps a `--` that follows a target as a word, and drops one before them.
    let (words, after_dashes) = if let Some(at) = args.tasks.iter().position(|w| w == "--") {
        (&args.tasks[..at], &args.tasks[at + 1..])
    } else {
        let at = args.tasks.len() - rest.min(args.tasks.len());
        (&args.tasks[..at], &args.tasks[at..])
    };
    if args.help && !words.iter().any(|w| set.usage(w).is_some()) {
        return Ok(Invocation::Help(run_help()));
    }
    let mut flags: Vec<String> = Vec::new();
    let mut targets: Vec<String> = Vec::new();
    let mut current: Option<(&Usage, Vec<String>)> = None;
    let mut i = 0;
    while i < words.len() {
        let word = &words[i];
        i += 1;
        let own = current
            .as_ref()
            .is_some_and(|(usage, _)| declares(&usage.specs, word));
        if !own && let Some(takes_value) = run_flag(word).or_else(|| global_flag(word)) {
            if let Some((usage, _)) = &current
                && (word == "--help" || word == "-h")
            {
                return Ok(Invocation::Help(args::help(
                    &usage.name,
                    usage.description.as_deref(),
                    &usage.specs,
                )));
            }
            // `-Csub` as `-C sub`: clap would read the attached form as a task name here.
            let short = word.len() > 2 && !word.starts_with("--") && word.is_char_boundary(2);
            if short && run_flag(&word[..2]).or_else(|| global_flag(&word[..2])) == Some(true) {
                flags.extend([word[..2].to_owned(), word[2..].to_owned()]);
            } else {
                flags.push(word.clone());
            }
            if takes_value && let Some(value) = words.get(i) {
                flags.push(value.clone());
                i += 1;
            }
            continue;
        }
        match &mut current {
            Some((_, task_words)) => task_words.push(word.clone()),
            None => match set.usage(word) {
                Some(usage) => current = Some((usage, Vec::new())),
                None => targets.push(word.clone()),
            },
        }
    }
    let mut invocations = Vec::new();
    match current {
        Some((usage, mut task_words)) => {
            if !after_dashes.is_empty() {
                task_words.push("--".into());
                task_words.extend(after_dashes.iter().cloned());
            }
            let values = args::parse(&usage.specs, &task_words).map_err(|e| ArgumentsError {
                task: usage.name.clone(),
                message: e.message,
                help: match e.help {
                    Some(help) => format!(
                        "{help}\nusage: ops run {}",
                        args::usage_line(&usage.name, &usage.specs)
                    ),
                    None => format!("usage: ops run {}", args::usage_line(&usage.name, &usage.specs)),
                },
            })?;
            targets.push(values.instance_name(&usage.name, &usage.specs));
            invocations.push((usage.name.clone(), values));
        }
        None => targets.extend(after_dashes.iter().cloned()),
    }
    Ok(Invocation::Run {
        flags,
        targets,
        invocations,
    })
}

/// Whether `word` is one of the task's own flags (`--push`, `--tag`, `--tag=v1`).
fn declares(specs: &[args::Spec], word: &str) -> bool {
    let Some(long) = word.strip_prefix("--") else {
        return false;
    };
    let name = long.split_once('=').map_or(long, |(n, _)| n);
    specs
        .iter()
        .any(|s| s.name == name && matches!(s.kind, Kind::Flag | Kind::Option))
}

/// Whether `word` is a flag of `ops run`, and whether it takes the next word as its value.
/// The help of `ops run` itself (its own `--help` is handled here, so that a task's
/// help can take its place).
pub(super) fn run_help() -> String {
    let mut command = crate::cli::Cli::command();
    // Built, so that the usage line says `ops run`, not `run`.
    command.build();
    let run = command.find_subcommand_mut("run").expect("the run command");
    run.render_help().to_string()
}

fn run_flag(word: &str) -> Option<bool> {
    let command = crate::cli::Cli::command();
    flag_of(command.find_subcommand("run")?, word)
}

/// The same for the flags of `ops` itself, which may follow `run` (`--var`, `--root`).
fn global_flag(word: &str) -> Option<bool> {
    flag_of(&crate::cli::Cli::command(), word)
}

fn flag_of(command: &clap::Command, word: &str) -> Option<bool> {
    let (arg, inline) = if let Some(long) = word.strip_prefix("--") {
        let (name, inline) = long.split_once('=').map_or((long, false), |(n, _)| (n, true));
        (
            command.get_arguments().find(|a| {
                a.get_long() == Some(name) || a.get_all_aliases().is_some_and(|all| all.contains(&name))
            })?,
            inline,
        )
    } else {
        let mut chars = word.strip_prefix('-')?.chars();
        let short = chars.next()?;
        let attached = chars.next().is_some();
        (
            command.get_arguments().find(|a| a.get_short() == Some(short))?,
            attached,
        )
    };
    Some(arg.get_action().takes_values() && !inline)
}

/// `-C DIR` and `--root DIR` (also `-CDIR`, `--root=DIR`) among the words of `ops run`
/// before `--`: the last of each.
pub(super) fn location_flags(words: &[String]) -> (Option<std::path::PathBuf>, Option<std::path::PathBuf>) {
    let (mut dir, mut root) = (None, None);
    let mut words = words.iter().take_while(|w| *w != "--");
    while let Some(word) = words.next() {
        let (slot, value) = match word.as_str() {
            "-C" => (&mut dir, words.next().cloned()),
            "--root" => (&mut root, words.next().cloned()),
            w if w.starts_with("--root=") => (&mut root, Some(w["--root=".len()..].to_owned())),
            w if w.starts_with("-C") => (&mut dir, Some(w[2..].to_owned())),
            _ => continue,
        };
        if let Some(value) = value {
            *slot = Some(value.into());
        }
    }
    (dir, root)
}

#[cfg(test)]
mod tests {
    /// A task's flag may not shadow one of `ops run` or `ops`: the list the loader
    /// refuses holds every one of them.
    #[test]
    fn the_reserved_names_are_the_flags_of_ops_run() {
        let command = <crate::cli::Cli as clap::CommandFactory>::command();
        let run = command.find_subcommand("run").expect("run");
        for arg in run.get_arguments().chain(command.get_arguments()) {
            if let Some(long) = arg.get_long() {
                assert!(
                    crate::task::args::RESERVED.contains(&long),
                    "`--{long}` is missing from RESERVED"
                );
            }
        }
    }
}
