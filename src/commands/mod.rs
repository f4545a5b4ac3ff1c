//! One file per subcommand; [`dispatch`] maps the parsed command line onto them.

mod doctor;
mod error;
mod graph;
pub(crate) mod graph_json;
mod invocation;
mod lint;
mod list;
mod man;
mod run;
mod runs;
mod schema;

pub(crate) use error::Error;
pub(crate) use lint::LintError;
pub(crate) use runs::UnknownRun;

use clap::Parser as _;

use crate::cli::{Cli, Command, LoadArgs};
use crate::exit::ExitStatus;
use crate::task::{self, TaskSet};

pub(crate) fn dispatch(cli: &Cli) -> Result<ExitStatus, Error> {
    let load = |load: &LoadArgs| -> Result<&'static TaskSet, Error> {
        let root = crate::root::find(cli.root.as_deref())?;
        Ok(kept(task::load(&root, &load.vars())?))
    };
    match &cli.command {
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(*shell, &mut command, "ops", &mut std::io::stdout());
            Ok(ExitStatus::Success)
        }
        Command::Man => {
            let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), &man::page());
            Ok(ExitStatus::Success)
        }
        Command::Schema { name } => Ok(schema::run(*name)),
        Command::Validate(args) => {
            let set = load(&args.load)?;
            match set.problems() {
                [] => Ok(ExitStatus::Success),
                problems => Err(task::LoadErrors {
                    errors: problems.to_vec(),
                }
                .into()),
            }
        }
        Command::Lint(args) => Ok(lint::lint(cli.root.as_deref(), args)?),
        Command::Rules { default_policy } => Ok(lint::rules(cli.root.as_deref(), *default_policy)?),
        Command::Rule { id } => Ok(lint::show_rule(cli.root.as_deref(), id)?),
        Command::Runs(args) => {
            let root = crate::root::find(cli.root.as_deref())?;
            Ok(runs::run(&root, args)?)
        }
        Command::Doctor(args) => doctor::run(load(&args.load)?, args),
        Command::List(args) => Ok(list::run(load(&args.load)?, args)),
        Command::Graph(args) => graph::run(load(&args.load)?, args),
        Command::Run(args) if args.help && args.tasks.is_empty() => {
            // `ops run --help` needs no repository.
            print!("{}", invocation::run_help());
            Ok(ExitStatus::Success)
        }
        Command::Run(args) => {
            // `-C DIR` and `--root DIR` among the words after the task names count
            // before the task files are read (the words are parsed in full later).
            let (dir, root) = invocation::location_flags(&args.tasks);
            if let Some(dir) = dir
                && let Err(e) = std::env::set_current_dir(&dir)
            {
                eprintln!("error: cannot change to directory {} (-C): {e}", dir.display());
                return Ok(ExitStatus::Usage);
            }
            let first_root = crate::root::find(root.as_deref().or(cli.root.as_deref()))?;
            let set = kept(task::load(&first_root, &args.load.vars())?);
            let first_load = args.load.clone();
            match invocation::read(set, args, words_after_dashes())? {
                invocation::Invocation::Help(text) => {
                    print!("{text}");
                    Ok(ExitStatus::Success)
                }
                invocation::Invocation::Run {
                    flags,
                    targets,
                    invocations,
                } => {
                    // Once more, with the flags found among the targets in front of them.
                    let again = Cli::try_parse_from(run_argv(args.tasks.first(), flags, targets))
                        .unwrap_or_else(|e| e.exit());
                    crate::diagnostic::set_color(again.color.or(cli.color));
                    let Command::Run(args) = &again.command else {
                        unreachable!("the command line names `run`")
                    };
                    if args.help {
                        print!("{}", invocation::run_help());
                        return Ok(ExitStatus::Success);
                    }
                    let root = crate::root::find(again.root.as_deref())?;
                    // The set read for the command line serves again unless what it
                    // was read with changed (1,000 tasks take 36 M instructions to read).
                    let set = if invocations.is_empty() && root == first_root && args.load == first_load {
                        set
                    } else {
                        kept(task::load_invoking(&root, &args.load.vars(), &invocations)?)
                    };
                    run::run(set, args)
                }
            }
        }
    }
}

/// A task set kept until the process exits, which frees it at once: dropping it
/// task by task costs a tenth of loading it, for nothing.
fn kept(set: TaskSet) -> &'static TaskSet {
    Box::leak(Box::new(set))
}

/// Said when `count` tasks of a listing cannot run (placeholders that nothing defines).
fn cannot_run_note(count: usize) -> String {
    if count == 1 {
        "note: 1 task cannot run until its placeholders are defined; `ops validate` shows where".into()
    } else {
        format!(
            "note: {count} tasks cannot run until their placeholders are defined; `ops validate` shows where"
        )
    }
}

/// The command line of `ops run` rebuilt: what stood before `run`, `run`, the flags
/// before the first target (`first`), the flags found among the targets, and the
/// targets after a `--`.
fn run_argv(first: Option<&String>, flags: Vec<String>, targets: Vec<String>) -> Vec<String> {
    let all: Vec<String> = std::env::args().collect();
    let at = all
        .iter()
        .skip(1)
        .position(|w| w == "run")
        .map_or(all.len(), |i| i + 1);
    let mut argv: Vec<String> = all[..at.min(all.len())].to_vec();
    argv.push("run".into());
    let after = all.get(at + 1..).unwrap_or_default();
    argv.extend(
        after
            .iter()
            .take_while(|w| Some(*w) != first && *w != "--")
            .cloned(),
    );
    argv.extend(flags);
    argv.push("--".into());
    argv.extend(targets);
    argv
}

/// How many words of the command line follow a `--` (clap drops the `--` itself; they
/// are the `{{ args.rest }}` of a task that takes arguments).
fn words_after_dashes() -> usize {
    let all: Vec<String> = std::env::args().collect();
    all.iter()
        .position(|w| w == "--")
        .map_or(0, |i| all.len() - i - 1)
}
