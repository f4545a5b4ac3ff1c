//! `ops`: runbooks as task graphs, and policy checks for GitOps repositories.
//!
//! The binary is a thin wrapper around [`main`]; the modules are public so that
//! benchmarks and integration tests can drive the same code paths.

pub(crate) mod argocd;
pub mod cli;
pub mod commands;
pub mod diagnostic;
pub mod executor;
pub mod exit;
pub mod http;
pub mod kube;
pub mod policy;
pub mod process;
pub mod report;
pub mod root;
pub mod run;
pub mod scalar;
pub mod task;
pub mod template;
pub mod yaml;

use std::process::ExitCode;

use clap::Parser;

/// Parse the command line, run the command and map the outcome to an exit code.
pub fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    diagnostic::install_handler();
    match commands::dispatch(&cli) {
        Ok(status) => status.into(),
        Err(err) => {
            let code = err.exit_status();
            eprintln!("{:?}", miette::Report::new(err));
            code.into()
        }
    }
}
