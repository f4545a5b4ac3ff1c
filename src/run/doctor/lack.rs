//! What a task lacks on this machine, and the way out of each: the one table of
//! the advice `ops doctor` gives.

/// Something a task needs that this machine does not have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Lack {
    /// Programs named by one key, not found on `PATH` (the task's own `PATH`
    /// when it sets one); several when they come from one package.
    NotOnPath {
        names: Vec<String>,
        key: String,
        task_path: bool,
    },
    /// A program given as a path that is not an executable file.
    NotExecutable { path: String, key: String, exists: bool },
    /// A file or directory a step names, relative to the task's directory.
    NoFile { path: String, key: String },
    /// The task's directory (`dir`).
    NoDir { path: String },
    /// An env file that is not optional.
    NoEnvFile { path: String },
    /// No kubeconfig file exists where the kubeconfig is looked for.
    NoKubeconfig { context: Context, paths: String },
    /// The kubeconfig has no such context.
    UnknownContext {
        context: Context,
        kubeconfig: String,
        available: Vec<String>,
    },
    /// The kubeconfig cannot be read.
    BadKubeconfig { reason: String },
    /// A service that must answer does not.
    Silent {
        service: Service,
        address: String,
        key: String,
        why: String,
    },
    /// An environment variable the task's `env` or `dir` reads, with no default.
    EnvUnset { var: String, key: String },
    /// An environment variable a step reads (a password).
    StepEnvUnset { var: String, key: String },
    /// A secret read from an environment variable that is not set.
    SecretEnvUnset { secret: String, var: String },
    /// A secret read with `op`, which is not on `PATH`.
    NoOp { secret: String },
}

/// A kubeconfig context: as the task names it, and as used after `--context-map`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Context {
    pub named: String,
    pub used: String,
    /// Where the task file names it: `tasks/deploy.toml:12`.
    pub at: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Service {
    CaddyAdmin,
    Postgres,
}

/// How to get the programs the step kinds run (a name, or a prefix ending in `-`).
const INSTALL: &[(&str, &str)] = &[
    (
        "nix-",
        "install Nix: apt-get install nix-bin (or https://nixos.org/download)",
    ),
    ("ansible", "pip install ansible-core"),
    ("git", "apt-get install git"),
    (
        "kubectl",
        "apt-get install kubernetes-client (or https://kubernetes.io/docs/tasks/tools/)",
    ),
    ("helm", "install Helm: https://helm.sh/docs/intro/install/"),
    ("caddy", "apt-get install caddy"),
    ("psql", "apt-get install postgresql-client"),
    ("pg_dump", "apt-get install postgresql-client"),
    ("pg_restore", "apt-get install postgresql-client"),
    ("bash", "apt-get install bash"),
    ("python3", "apt-get install python3"),
    ("op", ONE_PASSWORD),
];

const ONE_PASSWORD: &str =
    "install the 1Password CLI and sign in: https://developer.1password.com/docs/cli/get-started/";

/// The advice for installing `program`.
fn install(program: &str) -> Option<&'static str> {
    INSTALL
        .iter()
        .find(|(name, _)| match name.strip_suffix('-') {
            Some(prefix) => program.starts_with(prefix) && program[prefix.len()..].starts_with('-'),
            None => program == *name || program.starts_with(&format!("{name}-")),
        })
        .map(|(_, how)| *how)
}

fn quoted(names: &[String]) -> String {
    let names: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match names.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

impl Context {
    /// `` `k3s-ringtail` (context, tasks/a.toml:3) `` or, mapped,
    /// `` `k3s-ringtail` (→ `kind-ops`, --context-map; context, tasks/a.toml:3) ``.
    fn describe(&self) -> String {
        if self.named == self.used {
            format!("`{}` (context, {})", self.named, self.at)
        } else {
            format!(
                "`{}` (→ `{}`, --context-map; context, {})",
                self.named, self.used, self.at
            )
        }
    }
}

impl Lack {
    /// Whether an earlier task of the same run may provide it (write the file,
    /// start the service): then it is a warning, not a reason to refuse the task.
    pub(super) fn may_come_earlier(&self) -> bool {
        matches!(
            self,
            Self::NoFile { .. } | Self::NoDir { .. } | Self::Silent { .. }
        )
    }

    /// Put the programs of `other` into this one when both are missing from `PATH`
    /// for the same key and the same way out (`nix-store` and `nix-build`).
    pub(super) fn absorb(&mut self, other: &Self) -> bool {
        if let (
            Self::NotOnPath {
                names,
                key,
                task_path,
            },
            Self::NotOnPath {
                names: more,
                key: other_key,
                task_path: other_path,
            },
        ) = (&mut *self, other)
            && key == other_key
            && task_path == other_path
            && names.first().map(|n| install(n)) == more.first().map(|n| install(n))
            && install(&names[0]).is_some()
        {
            for name in more {
                if !names.contains(name) {
                    names.push(name.clone());
                }
            }
            return true;
        }
        false
    }

    /// What is missing, in a few words.
    pub(super) fn what(&self) -> String {
        match self {
            Self::NotOnPath {
                names,
                key,
                task_path,
            } => {
                let verb = if names.len() == 1 { "is" } else { "are" };
                let path = if *task_path { "the task's PATH" } else { "PATH" };
                format!("{} ({key}) {verb} not on {path}", quoted(names))
            }
            Self::NotExecutable { path, key, exists } => {
                let how = if *exists {
                    "is not executable"
                } else {
                    "does not exist"
                };
                format!("`{path}` ({key}) {how}")
            }
            Self::NoFile { path, key } => format!("`{path}` ({key}) does not exist"),
            Self::NoDir { path } => format!("its directory `{path}` (dir) does not exist"),
            Self::NoEnvFile { path } => format!("the env file `{path}` does not exist"),
            Self::NoKubeconfig { context, paths } => {
                format!("context {}: no kubeconfig at {paths}", context.describe())
            }
            Self::UnknownContext {
                context,
                kubeconfig,
                available,
            } => {
                let has = if available.is_empty() {
                    "no contexts".to_owned()
                } else {
                    available.join(", ")
                };
                format!(
                    "context {} is not in the kubeconfig {kubeconfig}, which has: {has}",
                    context.describe()
                )
            }
            Self::BadKubeconfig { reason } => format!("the kubeconfig cannot be read: {reason}"),
            Self::Silent {
                service,
                address,
                key,
                why,
            } => {
                let name = match service {
                    Service::CaddyAdmin => "the Caddy admin API",
                    Service::Postgres => "PostgreSQL",
                };
                format!("{name} at {address} ({key}) does not answer: {why}")
            }
            Self::EnvUnset { var, key } => format!("`${var}` (in `{key}`) is not set"),
            Self::StepEnvUnset { var, key } => format!("`${var}` ({key}) is not set"),
            Self::SecretEnvUnset { secret, var } => {
                format!("the secret `{secret}` is read from `${var}`, which is not set")
            }
            Self::NoOp { secret } => {
                format!("the secret `{secret}` is read with `op` (the 1Password CLI), which is not on PATH")
            }
        }
    }

    /// The way out: what to install, start, set or fix.
    pub(super) fn way_out(&self) -> String {
        match self {
            Self::NotOnPath { names, task_path, .. } => match install(&names[0]) {
                Some(how) => how.to_owned(),
                None if *task_path => "install it, or add its directory to the task's PATH".to_owned(),
                None => "install it, or add its directory to PATH".to_owned(),
            },
            Self::NotExecutable { path, key, exists } => {
                if *exists {
                    format!("make it executable: chmod +x {path}")
                } else {
                    format!("install it there, or fix `{key}`")
                }
            }
            Self::NoFile { key, .. } => format!("create it, or fix `{key}`"),
            Self::NoDir { .. } => "create it, or fix `dir`".to_owned(),
            Self::NoEnvFile { path } => {
                format!("create it, or mark it optional: {{ path = \"{path}\", optional = true }}")
            }
            Self::NoKubeconfig { context, .. } => format!(
                "create a kubeconfig with context `{}` (kind and k3d write one) or set KUBECONFIG; or map it: --context-map {}=OTHER",
                context.used, context.named
            ),
            Self::UnknownContext {
                context,
                kubeconfig,
                available,
            } => format!(
                "add the context to {kubeconfig} or map it: --context-map {}={}",
                context.named,
                available.first().map_or("OTHER", String::as_str)
            ),
            Self::BadKubeconfig { .. } => "fix the file, or point KUBECONFIG at another".to_owned(),
            Self::Silent { service, key, .. } => match service {
                Service::CaddyAdmin => format!("start Caddy, or fix `{key}` (its admin API)"),
                Service::Postgres => format!("start PostgreSQL there, or fix `{key}` (host and port)"),
            },
            Self::EnvUnset { var, .. } => format!("set {var}, or give a default: ${{{var}:-default}}"),
            Self::StepEnvUnset { var, .. } | Self::SecretEnvUnset { var, .. } => format!("set {var}"),
            Self::NoOp { .. } => ONE_PASSWORD.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_of_one_package_share_their_way_out() {
        assert_eq!(install("nix-build"), install("nix-store"));
        assert_eq!(install("ansible-playbook"), Some("pip install ansible-core"));
        assert_eq!(install("gitleaks"), None, "not git");
        assert_eq!(install("nixos-rebuild"), None, "not a nix- program");
        assert_eq!(install("op"), Some(ONE_PASSWORD));
    }

    #[test]
    fn missing_programs_of_one_step_make_one_line() {
        let missing = |name: &str| Lack::NotOnPath {
            names: vec![name.to_owned()],
            key: "nix-build".to_owned(),
            task_path: false,
        };
        let mut first = missing("nix-store");
        assert!(first.absorb(&missing("nix-build")));
        assert_eq!(
            first.what(),
            "`nix-store` and `nix-build` (nix-build) are not on PATH"
        );
        assert!(!first.absorb(&Lack::NotOnPath {
            names: vec!["git".to_owned()],
            key: "nix-build".to_owned(),
            task_path: false,
        }));
        let mut unknown = missing("frobnicate");
        assert!(!unknown.absorb(&missing("twiddle")), "no shared way out");
    }
}
