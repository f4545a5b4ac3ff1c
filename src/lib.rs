//! `ops`: runbooks as task graphs, and policy checks for GitOps repositories.
//!
//! The binary is a thin wrapper around [`main`]. The few modules that are public are
//! the ones the fuzz targets drive.
//!
//! ## Layers
//!
//! Each module uses only modules on lower lines (a test reads this list and checks
//! every `crate::` path against it): the commands on top; the command line and the
//! runner (scheduler, journal, saved plans); task files; the step kinds; the cluster
//! client, the lint rules and the reporters; ArgoCD Applications, HTTP helpers and
//! PostgreSQL connections;
//! and at the bottom the shared pieces: positioned YAML, process spawning, templates,
//! TOML scalars, diagnostics, the repository root, exit codes and the JSON version, and under process
//! spawning the redaction of secrets and the coarse deadlines of timers.
//!
//! ```text
//! commands
//! cli run
//! task
//! executor
//! kube policy report
//! argocd http pg
//! yaml process template scalar diagnostic root exit schema
//! redact coarse
//! ```

mod argocd;
mod cli;
mod coarse;
mod commands;
pub mod diagnostic;
mod executor;
mod exit;
mod http;
mod kube;
mod pg;
pub mod policy;
mod process;
mod redact;
mod report;
mod root;
mod run;
mod scalar;
mod schema;
pub mod task;
mod template;
pub mod yaml;

use std::process::ExitCode;

use clap::Parser;

/// Parse the command line, run the command and map the outcome to an exit code.
pub fn main() -> ExitCode {
    // `COMPLETE=bash ops` prints the shell's completion script; the shell then calls
    // `ops` back with the words typed so far (task names come from the task files).
    clap_complete::CompleteEnv::with_factory(<cli::Cli as clap::CommandFactory>::command).complete();
    let cli = cli::Cli::parse();
    diagnostic::install_handler(cli.color);
    if let Some(dir) = &cli.directory
        && let Err(e) = std::env::set_current_dir(dir)
    {
        eprintln!("error: cannot change to directory {} (-C): {e}", dir.display());
        return exit::ExitStatus::Usage.into();
    }
    match commands::dispatch(&cli) {
        Ok(status) => status.into(),
        Err(err) => {
            let code = err.exit_status();
            eprintln!("{:?}", miette::Report::new(err));
            code.into()
        }
    }
}
