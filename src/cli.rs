//! The command line, as clap parses it. Raw flags only: `commands` turns them
//! into validated settings.

use std::num::NonZeroUsize;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use clap_complete::engine::{ArgValueCompleter, CompletionCandidate};

use crate::report::OutputMode;

/// `0.1.0 (3f2a9c1d4e5b 2026-12-02)`: the version, and the commit it was built from
/// when the build knew it (`build.rs`).
fn version() -> &'static str {
    static VERSION: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(
            || match (option_env!("OPS_COMMIT"), option_env!("OPS_COMMIT_DATE")) {
                (Some(commit), Some(date)) => format!("{} ({commit} {date})", env!("CARGO_PKG_VERSION")),
                (Some(commit), None) => format!("{} ({commit})", env!("CARGO_PKG_VERSION")),
                _ => env!("CARGO_PKG_VERSION").to_owned(),
            },
        );
    &VERSION
}

#[derive(Debug, Parser)]
#[command(
    name = "ops",
    version = version(),
    about = "Runbooks as task graphs, for GitOps repositories",
    long_about = "Runs the task graphs in `tasks/*.toml` in dependency order, in parallel where the \
                  graph allows, in three modes: --dry-run (print the plan), --diff (report what would \
                  change) and apply.",
    after_help = "Examples:\n  ops list\n  ops run deploy-authentik --dry-run\n  ops run deploy-authentik --diff\n  ops run deploy-authentik --yes"
)]
pub(crate) struct Cli {
    /// Change to DIR before anything else (as `git -C` and `make -C` do)
    #[arg(short = 'C', global = true, value_name = "DIR")]
    pub directory: Option<PathBuf>,

    /// When to color the output: `auto` on a terminal; NO_COLOR, CLICOLOR=0,
    /// CLICOLOR_FORCE and FORCE_COLOR are honoured when this is not given
    #[arg(long, global = true, value_enum, value_name = "WHEN")]
    pub color: Option<crate::diagnostic::ColorChoice>,

    /// Repository root (default: the nearest directory upwards that holds `tasks/`)
    #[arg(long, global = true, value_name = "DIR")]
    pub root: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

/// What loading the task files takes: given to the commands that load them (`run`,
/// `doctor`, `list`, `graph`, `validate`), and only to those.
#[derive(Clone, Debug, PartialEq, Eq, Args)]
pub(crate) struct LoadArgs {
    /// Set a variable, overriding `[vars]` (repeatable)
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,

    /// Use kubeconfig context OTHER wherever a task names context NAME (repeatable;
    /// for CI and test clusters)
    #[arg(long = "context-map", value_name = "NAME=OTHER", value_parser = parse_var)]
    pub context_map: Vec<(String, String)>,
}

impl LoadArgs {
    pub(crate) fn vars(&self) -> crate::task::Vars {
        crate::task::Vars::new(self.vars.clone())
            .with_context_map(crate::kube::ContextMap::new(self.context_map.clone()))
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run tasks and their dependencies
    #[command(
        after_help = "Examples:
  ops run deploy-authentik --dry-run        print the plan; run nothing
  ops run deploy-authentik --diff           report what each step would change
  ops run deploy-authentik --diff --detailed-exitcode   exit 3 when changes are pending
  ops run deploy-authentik -j 4 --keep-going
  ops run deploy-authentik --skip 'build-*'   the rest, the builds counted as done
  ops run release-authentik --no-deps       only that task
  ops run release --var version=2026.2.1 --yes
  ops run build --format json | jq .

Before anything starts, the checks of `ops doctor` run for the tasks about to run: a task
that cannot possibly succeed here stops the run (with --keep-going, the others run; with
--diff, it is unknown).

When a task fails, the tasks of its `on-failure` run (of an aggregate: when a task under it
fails), then those of the `finally` of every task reached; the exit code stays the
failure's. An interrupted run runs neither; --diff runs no handlers.

Exit codes: 0 ok, 1 a task failed or cannot run here, 2 invalid input (nothing ran),
3 changes pending (--diff --detailed-exitcode), 130 interrupted.",
        disable_help_flag = true
    )]
    Run(RunArgs),

    /// Say what this machine lacks for tasks: programs, files, kube contexts,
    /// secret sources, services that do not answer
    #[command(after_help = "Examples:
  ops doctor                        every task
  ops doctor deploy-authentik       a task and what it depends on
  ops doctor --format json

One line per finding: `task: what — way out`. A file or a service that a task it
depends on may provide first is a warning (!); anything else means the task cannot
run here (✗). `ops run` makes the same checks before it starts anything.

Exit codes: 0 nothing missing (or only warnings), 1 a task cannot run here, 2 invalid input.")]
    Doctor(DoctorArgs),

    /// List every task with its aliases and description (hidden tasks with --all)
    #[command(after_help = "Examples:\n  ops list\n  ops list --all\n  ops list --format json")]
    List(ListArgs),

    /// Show the dependency graph below a task
    #[command(
        after_help = "Examples:\n  ops graph deploy-authentik\n  ops graph deploy-authentik --format dot | dot -Tsvg > graph.svg\n  ops graph deploy-authentik --format mermaid"
    )]
    Graph(GraphArgs),

    /// List recorded runs, or show one (`ops runs show ID`)
    #[command(
        after_help = "Examples:\n  ops runs\n  ops runs show 20261122T183012.530-4f2a\n  ops runs --format json | jq '.runs[0].status'\n  ops run deploy-authentik --resume"
    )]
    Runs(RunsArgs),

    /// Check the repository's manifests against its policies (policies/*.toml)
    #[command(after_help = "Examples:
  ops lint                                   the whole repository
  ops lint argocd/manifests/authentik        one directory
  ops lint --format sarif > ops.sarif        for code scanning
  ops lint --format github                   annotations in Forgejo/GitHub Actions
  ops lint --format rdjson | reviewdog -f=rdjson -reporter=gitea-pr-review
  ops lint --rule pinned-image               one rule

Exit codes: 0 no error-level finding, 1 findings, 2 invalid configuration or usage.")]
    Lint(LintArgs),

    /// List the lint rules, with the severity this repository's policies give them
    #[command(after_help = "Examples:
  ops rules
  ops rules --default-policy > policies/default.toml   the default policy, commented, as a start")]
    Rules {
        /// Print the default policy (every rule, its options in comments) instead
        #[arg(long)]
        default_policy: bool,
    },

    /// Show what a lint rule checks, why, an example and the fix
    #[command(after_help = "Example:\n  ops rule pinned-image")]
    Rule {
        /// The rule id, e.g. pinned-image
        id: String,
    },

    /// Load and validate every task file; print only problems
    #[command(after_help = "Exit codes: 0 valid, 2 problems found.")]
    Validate(ValidateArgs),

    /// Print a shell completion script
    #[command(
        after_help = "Examples:\n  ops completions bash > /etc/bash_completion.d/ops\n  ops completions zsh > \"${fpath[1]}/_ops\""
    )]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },

    /// Print the JSON Schema of a JSON document ops prints, or list them
    #[command(after_help = "Examples:
  ops schema                       the documents and what prints each
  ops schema run-events            the events of `ops run --format json`
  ops schema lint > lint.schema.json

The same schemas are in the repository of ops under schemas/.")]
    Schema {
        /// The document (all of them are listed without it)
        #[arg(value_enum)]
        name: Option<SchemaDocument>,
    },

    /// Print the manual page (roff), for `man -l -` or to install as ops.1
    #[command(hide = true)]
    Man,
}

/// The JSON documents `ops` prints, by the name of their schema (`schemas/NAME.json`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum SchemaDocument {
    /// `ops run --format json`, one event per line
    RunEvents,
    /// `ops run --diff --save-plan FILE`, the file
    Plan,
    /// `ops lint --format json`
    Lint,
    /// `ops runs --format json`
    Runs,
    /// `ops runs show ID --format json`
    RunsShow,
    /// `ops list --format json`
    List,
    /// `ops doctor --format json`
    Doctor,
    /// `ops graph TASK --format json`
    Graph,
}

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    #[command(flatten)]
    pub load: LoadArgs,

    /// Tasks to run, by name or alias (their dependencies run first); the words after a
    /// task that takes arguments are its arguments (`ops run build-image authentik --push`)
    #[arg(
        required_unless_present_any = ["plan", "help"],
        value_name = "TASK",
        allow_hyphen_values = true,
        add = ArgValueCompleter::new(task_names)
    )]
    pub tasks: Vec<String>,

    /// Print help (of the task, when the task named first takes arguments)
    #[arg(short = 'h', long)]
    pub help: bool,

    /// Print the plan: tasks in waves, resolved commands, what is up to date; run nothing
    #[arg(long, conflicts_with = "diff")]
    pub dry_run: bool,

    /// Run each step's read-only check and report what it would change
    #[arg(long)]
    pub diff: bool,

    /// With --diff: exit 0 when nothing would change, 3 when changes are pending, 1 on failure
    #[arg(long, requires = "diff")]
    pub detailed_exitcode: bool,

    /// Run at most N tasks at once (default: the number of CPUs)
    #[arg(short = 'j', long, value_name = "N")]
    pub jobs: Option<NonZeroUsize>,

    /// After a failure, keep running the tasks that do not depend on it
    #[arg(short = 'k', long)]
    pub keep_going: bool,

    /// Show only what fails (with its output), then the summary's last line
    #[arg(short = 'q', long, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Show each task's whole command when it starts, not only its first line
    #[arg(short = 'v', long)]
    pub verbose: bool,

    /// Answer yes to every confirmation; without a terminal, run interactive tasks
    /// anyway (their stdin is /dev/null, their output captured)
    #[arg(short = 'y', long)]
    pub yes: bool,

    /// Run tasks even when they are up to date
    #[arg(long)]
    pub force: bool,

    /// Do not run TASK, a name or a glob (`'build-*'`): it counts as done, so its
    /// dependents run, and what only it needs is not run either (repeatable)
    #[arg(long = "skip", value_name = "TASK", conflicts_with_all = ["plan", "save_plan"])]
    pub skip: Vec<String>,

    /// Run only the tasks named: their dependencies count as done
    #[arg(long, conflicts_with_all = ["plan", "save_plan"])]
    pub no_deps: bool,

    /// Continue the last failed or interrupted run of these tasks: what it finished is not run again
    #[arg(long, conflicts_with_all = ["dry_run", "diff"])]
    pub resume: bool,

    /// With --resume: stop the tasks a crashed run left running before resuming
    #[arg(long, requires = "resume")]
    pub kill_orphans: bool,

    /// Wait for another run in this repository to finish instead of failing
    #[arg(long)]
    pub wait_lock: bool,

    /// With --diff: save the plan (what each task would change) to FILE
    #[arg(long, value_name = "FILE", requires = "diff")]
    pub save_plan: Option<std::path::PathBuf>,

    /// Apply a plan saved by --save-plan: skip what it found unchanged; refuse it if stale
    #[arg(long, value_name = "FILE", conflicts_with_all = ["dry_run", "diff", "resume"])]
    pub plan: Option<std::path::PathBuf>,

    /// With --plan: apply only TASK of the plan (repeatable), after checking the whole
    /// plan is fresh; what it depends on counts as done, its values come from the plan
    #[arg(long, value_name = "TASK", requires = "plan", add = ArgValueCompleter::new(task_names))]
    pub only: Vec<String>,

    /// Output format (`--output` is an older name for it)
    #[arg(long = "format", alias = "output", value_enum, default_value_t = Format::Human)]
    pub format: Format,

    /// How task output is laid out (default: grouped in CI workflows, prefixed elsewhere)
    #[arg(long, value_enum)]
    pub output_mode: Option<OutputMode>,
}

#[derive(Debug, Args)]
pub(crate) struct LintArgs {
    /// Files or directories to check (default: the whole repository)
    pub paths: Vec<std::path::PathBuf>,

    /// Output format
    #[arg(long, value_enum, default_value_t = LintFormat::Human)]
    pub format: LintFormat,

    /// Run only this rule (repeatable)
    #[arg(long = "rule", value_name = "ID")]
    pub rules: Vec<String>,

    /// Run as a pre-commit hook: PATHS are the changed files; the files the commit
    /// deletes are found in git's index (their kustomizations are checked); a changed
    /// policies/*.toml checks everything; no paths and no deletions check nothing
    #[arg(long)]
    pub hook: bool,

    /// Neither read nor write the lint index (.ops/lint-index.json), which lets a
    /// partial lint skip walking and parsing the whole tree when it has not changed
    #[arg(long)]
    pub no_cache: bool,

    /// Print only the findings: no summary line, nothing when there are none
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum LintFormat {
    Human,
    Json,
    Sarif,
    Github,
    /// reviewdog's diagnostic format (pull-request review comments on Forgejo)
    Rdjson,
}

#[derive(Debug, Args)]
pub(crate) struct RunsArgs {
    #[command(subcommand)]
    pub command: Option<RunsCommand>,

    /// How many runs to list
    #[arg(long, default_value_t = 20)]
    pub limit: usize,

    /// Output format (`--output` is an older name for it)
    #[arg(long = "format", alias = "output", global = true, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

#[derive(Debug, Subcommand)]
pub(crate) enum RunsCommand {
    /// Every task of one run: status, duration, exit code, note
    Show {
        /// The run id (a unique prefix is enough)
        id: String,
    },
}

#[derive(Debug, Args)]
pub(crate) struct ValidateArgs {
    #[command(flatten)]
    pub load: LoadArgs,
}

#[derive(Debug, Args)]
pub(crate) struct DoctorArgs {
    #[command(flatten)]
    pub load: LoadArgs,

    /// Tasks to check, with what they depend on (default: every task)
    #[arg(value_name = "TASK", add = ArgValueCompleter::new(task_names))]
    pub tasks: Vec<String>,

    /// Output format (`--output` is an older name for it)
    #[arg(long = "format", alias = "output", value_enum, default_value_t = Format::Human)]
    pub format: Format,

    /// Print only what stops a task (no warnings, no count line)
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    #[command(flatten)]
    pub load: LoadArgs,

    /// Show hidden tasks too (`hidden = true`)
    #[arg(long)]
    pub all: bool,

    /// Output format (`--output` is an older name for it)
    #[arg(long = "format", alias = "output", value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub(crate) struct GraphArgs {
    #[command(flatten)]
    pub load: LoadArgs,

    /// The tasks at the top of the graph
    #[arg(required = true, value_name = "TASK", add = ArgValueCompleter::new(task_names))]
    pub tasks: Vec<String>,

    /// Graph format
    #[arg(long, value_enum, default_value_t = GraphFormat::Tree)]
    pub format: GraphFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    Human,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum GraphFormat {
    Tree,
    Dot,
    Mermaid,
    /// The tasks in waves, with kinds, needs and stable ids (for CI fan-out)
    Json,
}

fn parse_var(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_owned(), value.to_owned())),
        _ => Err(format!("expected NAME=VALUE, got `{s}`")),
    }
}

/// What `ops run <TAB>` offers (`source <(COMPLETE=bash ops)`): the tasks of the
/// repository around the working directory that start with `current`, with their
/// descriptions, their aliases, the tasks that take arguments, and the namespaces
/// (`zitadel:`). Nothing when the task files do not load.
fn task_names(current: &std::ffi::OsStr) -> Vec<CompletionCandidate> {
    let Some(current) = current.to_str() else {
        return Vec::new();
    };
    let Ok(root) = crate::root::find(None) else {
        return Vec::new();
    };
    let Ok(set) = crate::task::load(&root, &crate::task::Vars::default()) else {
        return Vec::new();
    };
    let mut names: Vec<(String, Option<String>)> = Vec::new();
    // An invocation of a task that takes arguments is offered as that task.
    for (_, task) in set.iter().filter(|(_, t)| !t.hidden && t.usage.is_none()) {
        names.push((task.name.clone(), task.description.clone()));
        names.extend(
            task.aliases
                .iter()
                .map(|a| (a.clone(), Some(format!("alias of {}", task.name)))),
        );
        if let Some((namespace, _)) = task.name.rsplit_once(':') {
            names.push((format!("{namespace}:"), None));
        }
    }
    for usage in set.usages() {
        names.push((usage.name.clone(), usage.description.clone()));
        names.extend(
            usage
                .aliases
                .iter()
                .map(|a| (a.clone(), Some(format!("alias of {}", usage.name)))),
        );
    }
    let mut seen = std::collections::HashSet::new();
    names
        .into_iter()
        .filter(|(name, _)| name.starts_with(current) && seen.insert(name.clone()))
        .map(|(name, help)| CompletionCandidate::new(name).help(help.map(Into::into)))
        .collect()
}
