//! What a step needs of the machine it runs on: programs, files, a kubeconfig
//! context, services that must answer, environment variables. Each step kind lists
//! its own ([`super::Executor::needs`]); `ops doctor` and the checks before a run
//! look for them, so that a run refuses a task that cannot possibly succeed before
//! anything starts.
//!
//! Only what is known before the run is listed: a value that uses a task output
//! (`{{ tasks.build.out }}`) or a secret is left out.

use std::path::Path;

use crate::kube::Context;
use crate::template::Template;

/// One thing a step needs, with the key of the task file that names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Need {
    /// Where it comes from, as the user wrote it: `cmd`, `playbook`, `routes-file`,
    /// `the #! line of scripts/x.sh`.
    pub key: String,
    pub what: Needed,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Needed {
    /// A program: a name looked up on `PATH`, or a path (it has a `/`), relative to
    /// the task's directory.
    Program(String),
    /// A file or directory, relative to the task's directory.
    File(String),
    /// A context of the kubeconfig.
    KubeContext(Context),
    /// The Caddy admin API (`http://127.0.0.1:2019`): it must answer.
    CaddyAdmin(String),
    /// A PostgreSQL server: a host (or a socket directory) and a port.
    Postgres { host: String, port: u16 },
    /// An environment variable of `ops`.
    Env(String),
}

impl Need {
    pub(crate) fn new(key: impl Into<String>, what: Needed) -> Self {
        Self {
            key: key.into(),
            what,
        }
    }

    pub(crate) fn program(key: impl Into<String>, name: impl Into<String>) -> Self {
        Self::new(key, Needed::Program(name.into()))
    }

    pub(crate) fn file(key: impl Into<String>, path: impl Into<String>) -> Self {
        Self::new(key, Needed::File(path.into()))
    }

    /// A file named by a template, if its value is known before the run.
    pub(crate) fn file_of(key: &str, path: &Template) -> Option<Self> {
        path.known().map(|p| Self::file(key, p))
    }

    /// A program need for each of `names`.
    pub(crate) fn programs(key: &str, names: &[&str]) -> Vec<Self> {
        names.iter().map(|name| Self::program(key, *name)).collect()
    }
}

/// The programs of a `#!` line: its interpreter, and for `/usr/bin/env NAME` (or
/// `env -S NAME ARGS`) the program `env` looks up.
pub(crate) fn shebang_programs(key: &str, program: &str, argument: Option<&str>) -> Vec<Need> {
    let mut needs = vec![Need::program(key, program)];
    if Path::new(program).file_name().is_some_and(|name| name == "env")
        && let Some(argument) = argument
    {
        let mut words = argument.split_whitespace();
        let looked_up = match words.next() {
            Some("-S" | "--split-string") => words.next(),
            Some(word) if word.starts_with("-S") => Some(&word[2..]),
            Some(word) if !word.starts_with('-') && !word.contains('=') => Some(word),
            _ => None,
        };
        if let Some(name) = looked_up.filter(|n| !n.is_empty()) {
            needs.push(Need::program(key, name));
        }
    }
    needs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn programs(needs: &[Need]) -> Vec<&str> {
        needs
            .iter()
            .filter_map(|n| match &n.what {
                Needed::Program(p) => Some(p.as_str()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn env_in_a_shebang_needs_the_program_it_looks_up() {
        assert_eq!(
            programs(&shebang_programs("k", "/usr/bin/env", Some("python3"))),
            ["/usr/bin/env", "python3"]
        );
        assert_eq!(
            programs(&shebang_programs("k", "/usr/bin/env", Some("-S uv run --script"))),
            ["/usr/bin/env", "uv"]
        );
        assert_eq!(
            programs(&shebang_programs("k", "/bin/bash", Some("-eu"))),
            ["/bin/bash"]
        );
        assert_eq!(
            programs(&shebang_programs("k", "/usr/bin/env", None)),
            ["/usr/bin/env"]
        );
    }
}
