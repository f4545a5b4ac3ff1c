//! One file per subcommand; [`dispatch`] maps the parsed command line onto them.

mod doctor;
mod error;
mod graph;
mod lint;
mod list;
mod run;
mod runs;

pub(crate) use error::Error;
pub(crate) use lint::LintError;
pub(crate) use runs::UnknownRun;

use crate::cli::{Cli, Command};
use crate::exit::ExitStatus;
use crate::kube::ContextMap;
use crate::task::{self, TaskSet, Vars};

pub(crate) fn dispatch(cli: &Cli) -> Result<ExitStatus, Error> {
    let load = || -> Result<TaskSet, Error> {
        let root = crate::root::find(cli.root.as_deref())?;
        let vars = Vars::new(cli.vars.clone()).with_context_map(ContextMap::new(cli.context_map.clone()));
        Ok(task::load(&root, &vars)?)
    };
    match &cli.command {
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(*shell, &mut command, "ops", &mut std::io::stdout());
            Ok(ExitStatus::Success)
        }
        Command::Validate => load().map(|_| ExitStatus::Success),
        Command::Lint(args) => Ok(lint::lint(cli.root.as_deref(), args)?),
        Command::Rules => Ok(lint::rules(cli.root.as_deref())?),
        Command::Rule { id } => Ok(lint::show_rule(cli.root.as_deref(), id)?),
        Command::Runs(args) => {
            let root = crate::root::find(cli.root.as_deref())?;
            Ok(runs::run(&root, args)?)
        }
        Command::Doctor(args) => doctor::run(&load()?, args),
        Command::List(args) => Ok(list::run(&load()?, args)),
        Command::Graph(args) => graph::run(&load()?, args),
        Command::Run(args) => run::run(&load()?, args),
    }
}
