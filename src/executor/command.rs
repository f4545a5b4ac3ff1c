//! `cmd` and `shell`: run a command.
//!
//! ```toml
//! [tasks.build-image]
//! cmd = ["nix-build", "containers/authentik/default.nix", "-o", "result-authentik"]
//! check = ["nix-build", "--dry-run", "containers/authentik/default.nix"]   # optional, for --diff
//!
//! [tasks.announce]
//! shell = "echo built {{ version }}"        # run by `sh -c`
//! check-shell = "test -e result-authentik"  # optional, for --diff
//!
//! [tasks.branch-cleanup]
//! script = "scripts/branch-cleanup.sh"      # a file of the repository
//! args = ["--cutoff", "30d"]
//!
//! [tasks.login]
//! cmd = ["gh", "auth", "login"]             # asks its questions at the terminal
//! interactive = true                        # so it gets the terminal, and runs alone
//! ```
//!
//! - A `shell` script that starts with `#!` is written to a private temporary file and
//!   run by the program its first line names, as the kernel would (`#!/usr/bin/env
//!   python3`: `env` gets `python3` and the file), whatever the `interpreter`.
//! - `script` runs a file, relative to the task's directory, with `args`: by its `#!`
//!   line, or directly when it is an executable without one, or else by the
//!   task's `interpreter` without its `-c` (`sh FILE ARGS…`). Its contents are part of
//!   the task's definition: a task up to date or a saved plan is stale once it changes.
//! - apply: runs the command; a non-zero exit fails the task. Its trimmed standard
//!   output is available to dependents as `{{ tasks.NAME.stdout }}`. Its standard
//!   input is `/dev/null` (a `read` gets end-of-file at once), its output is shown
//!   prefixed with the task's name: every command but an interactive one.
//! - `interactive = true`: the command gets the terminal, the stdin, stdout and
//!   stderr of `ops` as they are (no prefix, nothing captured, so no
//!   `{{ tasks.NAME.stdout }}`, and no secret redacted from what it prints), and
//!   runs alone: it starts when nothing else runs, and nothing starts until it
//!   ends. A run without a terminal (stdin is not one) refuses to start unless
//!   `--yes`, which accepts that the command runs like any other: stdin
//!   `/dev/null`, so its prompts get end-of-file (or their defaults), and its
//!   output captured and prefixed.
//! - `--diff`: runs the read-only `check` (or `check-shell`) instead, with the
//!   convention of `diff(1)` and `kubectl diff`: exit 0 means no change, 1 means
//!   changes are pending (its output is the report), anything else is a failure.
//!   Without a check the step says it cannot tell.
//!   A command that changes nothing (a lint, a query) says `read-only = true`:
//!   `--diff` then runs it as it is, and its failure is a failure. An interactive
//!   command is never run by `--diff`, read-only or not (it would wait for a person
//!   and its output could not be judged): it is unknown, unless it has a `check`.
//! - `--dry-run`: shows the command, and that it is interactive.

use std::path::Path;

use toml::Spanned;

use super::need::{Need, shebang_programs};
use super::{Applied, Diff, Executor, Resolve, StepContext, StepError, StepPlan};
use crate::report::Mode;
use crate::template::Template;

/// A command and the optional read-only check that `--diff` runs instead.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Command {
    pub program: Program,
    pub check: Option<Program>,
    /// The command itself changes nothing; `--diff` runs it.
    pub read_only: bool,
    /// It gets the terminal and runs alone.
    pub interactive: bool,
}

/// How a command is given.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Program {
    /// argv, run directly.
    Argv(Vec<Template>),
    /// A script, run by `interpreter` (the script passed last), or by its `#!` line.
    Shell {
        script: Template,
        interpreter: Vec<String>,
    },
    /// A script file, relative to the task's directory, with arguments.
    File {
        path: String,
        args: Vec<Template>,
        interpreter: Vec<String>,
    },
}

/// A program ready to start: what to run, and the temporary script file it reads
/// (removed when this is dropped, after the process ended).
pub(super) struct Prepared {
    pub program: String,
    pub args: Vec<String>,
    #[allow(dead_code)] // held, not read: dropping it removes the file
    script: Option<tempfile::TempPath>,
}

impl Prepared {
    fn new(program: String, args: Vec<String>) -> Self {
        Self {
            program,
            args,
            script: None,
        }
    }
}

/// The interpreter of a `#!` line and its one optional argument (as Linux reads it:
/// everything after the program is a single argument).
fn shebang(first_line: &str) -> Option<(String, Option<String>)> {
    let line = first_line.strip_prefix("#!")?.trim();
    let (program, argument) = match line.split_once([' ', '\t']) {
        Some((program, argument)) => (
            program,
            Some(argument.trim().to_owned()).filter(|a| !a.is_empty()),
        ),
        None => (line, None),
    };
    (!program.is_empty()).then(|| (program.to_owned(), argument))
}

/// `program` with its `#!` argument, then the script file and its arguments.
fn by_shebang(interpreter: (String, Option<String>), file: &std::path::Path, args: Vec<String>) -> Prepared {
    let (program, argument) = interpreter;
    let mut all: Vec<String> = argument.into_iter().collect();
    all.push(file.display().to_string());
    all.extend(args);
    Prepared::new(program, all)
}

impl Program {
    /// Program and arguments with task outputs filled in; a `#!` script is written to
    /// a private temporary file first.
    pub(super) fn prepare(&self, cx: &StepContext<'_>) -> Result<Prepared, StepError> {
        match self {
            Self::Argv(parts) => {
                let mut rendered = parts.iter().map(|p| p.render(cx.outputs));
                let program = rendered.next().unwrap_or_default();
                Ok(Prepared::new(program, rendered.collect()))
            }
            Self::Shell { script, interpreter } => {
                let script = script.render(cx.outputs);
                if let Some(by) = shebang(script.lines().next().unwrap_or_default()) {
                    let file = write_script(&script)?;
                    let mut prepared = by_shebang(by, &file, Vec::new());
                    prepared.script = Some(file);
                    return Ok(prepared);
                }
                let mut args = interpreter.clone();
                let program = if args.is_empty() {
                    "sh".to_owned()
                } else {
                    args.remove(0)
                };
                args.push(script);
                Ok(Prepared::new(program, args))
            }
            Self::File {
                path,
                args,
                interpreter,
            } => {
                let file = cx.dir.join(path);
                let args: Vec<String> = args.iter().map(|a| a.render(cx.outputs)).collect();
                let head = read_head(&file)
                    .map_err(|e| StepError::Invalid(format!("cannot read the script `{path}`: {e}")))?;
                if let Some(by) = shebang(head.lines().next().unwrap_or_default()) {
                    return Ok(by_shebang(by, &file, args));
                }
                if crate::process::is_executable(&file) {
                    return Ok(Prepared::new(file.display().to_string(), args));
                }
                let mut all = interpreter.clone();
                if all.last().is_some_and(|a| a == "-c") {
                    all.pop();
                }
                let program = if all.is_empty() {
                    "sh".to_owned()
                } else {
                    all.remove(0)
                };
                all.push(file.display().to_string());
                all.extend(args);
                Ok(Prepared::new(program, all))
            }
        }
    }

    /// What running it needs, `key` naming it: the program (`argv[0]`, the
    /// interpreter, or the program of a `#!` line), and a script file itself.
    pub(super) fn needs(&self, key: &str, dir: &Path) -> Vec<Need> {
        match self {
            Self::Argv(parts) => parts
                .first()
                .and_then(Template::known)
                .filter(|program| !program.is_empty())
                .map(|program| Need::program(key, program))
                .into_iter()
                .collect(),
            Self::Shell { script, interpreter } => {
                let shown = script.display();
                let first = shown.lines().next().unwrap_or_default();
                if !first.starts_with("#!") {
                    let program = interpreter.first().map_or("sh", String::as_str);
                    return vec![Need::program("interpreter", program)];
                }
                match shebang(first).filter(|_| !first.contains("{{")) {
                    Some((program, argument)) => {
                        shebang_programs(&format!("the #! line of `{key}`"), &program, argument.as_deref())
                    }
                    None => Vec::new(),
                }
            }
            Self::File {
                path, interpreter, ..
            } => {
                let mut needs = vec![Need::file(key, path.as_str())];
                let file = dir.join(path);
                let Ok(head) = read_head(&file) else {
                    return needs;
                };
                if let Some((program, argument)) = shebang(head.lines().next().unwrap_or_default()) {
                    let key = format!("the #! line of {path}");
                    needs.extend(shebang_programs(&key, &program, argument.as_deref()));
                } else if !crate::process::is_executable(&file) {
                    let program = interpreter
                        .first()
                        .filter(|p| *p != "-c")
                        .map_or("sh", String::as_str);
                    needs.push(Need::program("interpreter", program));
                }
                needs
            }
        }
    }

    /// The command as a person would type it.
    pub(crate) fn display(&self) -> String {
        match self {
            Self::Argv(parts) => {
                let words: Vec<String> = parts.iter().map(Template::display).collect();
                shlex::try_join(words.iter().map(String::as_str)).unwrap_or_else(|_| words.join(" "))
            }
            Self::Shell { script, .. } => script.display(),
            Self::File { path, args, .. } => {
                let words: Vec<String> = std::iter::once(path.clone())
                    .chain(args.iter().map(Template::display))
                    .collect();
                shlex::try_join(words.iter().map(String::as_str)).unwrap_or_else(|_| words.join(" "))
            }
        }
    }
}

/// The first bytes of a file, enough for its `#!` line.
fn read_head(file: &std::path::Path) -> std::io::Result<String> {
    use std::io::Read as _;
    let mut head = Vec::with_capacity(256);
    std::fs::File::open(file)?.take(256).read_to_end(&mut head)?;
    Ok(String::from_utf8_lossy(&head).into_owned())
}

/// A script in a file only this user can read, for its `#!` interpreter.
fn write_script(script: &str) -> Result<tempfile::TempPath, StepError> {
    let failed =
        |e: std::io::Error| StepError::Failed(format!("cannot write the script to a temporary file: {e}"));
    let file = tempfile::Builder::new()
        .prefix("ops-script-")
        .tempfile()
        .map_err(failed)?;
    std::fs::write(file.path(), script).map_err(failed)?;
    Ok(file.into_temp_path())
}

impl Command {
    pub(crate) fn key(&self) -> &'static str {
        match self.program {
            Program::Argv(_) => "cmd",
            Program::Shell { .. } => "shell",
            Program::File { .. } => "script",
        }
    }

    /// The script file it runs, relative to the task's directory.
    pub(crate) fn script_file(&self) -> Option<&str> {
        match &self.program {
            Program::File { path, .. } => Some(path),
            Program::Argv(_) | Program::Shell { .. } => None,
        }
    }
}

impl Executor for Command {
    /// Apply runs the command; `--diff` its check, or a read-only command itself.
    fn needs(&self, mode: Mode, dir: &Path) -> Vec<Need> {
        match mode {
            Mode::Apply => self.program.needs(self.key(), dir),
            Mode::Diff => match &self.check {
                Some(check @ Program::Shell { .. }) => check.needs("check-shell", dir),
                Some(check) => check.needs("check", dir),
                None if self.read_only && !self.interactive => self.program.needs(self.key(), dir),
                None => Vec::new(),
            },
            Mode::DryRun => Vec::new(),
        }
    }

    /// `stdout`, except for an interactive command, whose output goes to the terminal.
    fn produces(&self) -> Vec<String> {
        if self.interactive {
            return Vec::new();
        }
        ["stdout"].map(String::from).to_vec()
    }

    fn plan(&self) -> StepPlan {
        let check = if self.read_only && !self.interactive {
            Some(&self.program)
        } else {
            self.check.as_ref()
        };
        StepPlan {
            lines: vec![format!("$ {}", self.program.display())],
            check: check.map(|c| format!("$ {}", c.display())),
        }
    }

    async fn diff(&self, cx: &StepContext<'_>) -> Result<Diff, StepError> {
        if self.interactive && self.check.is_none() {
            let why = if self.read_only {
                "interactive: `--diff` does not run it, read-only or not, as it would wait for input at the terminal"
            } else {
                "interactive, with no `check` defined: `--diff` does not run it"
            };
            return Ok(Diff::Unknown(format!(
                "{why}; would run `{}`",
                self.program.display()
            )));
        }
        if self.read_only {
            let output = self.run(cx).await?;
            if let Some(stdout) = kept_stdout(&output, cx) {
                cx.produce("stdout", stdout);
            }
            return Ok(Diff::NoChange);
        }
        let Some(check) = &self.check else {
            return Ok(Diff::Unknown(format!(
                "no `check` defined; would run `{}`",
                self.program.display()
            )));
        };
        let Prepared { program, args, .. } = &check.prepare(cx)?;
        let program = program.clone();
        let output = cx.run(&cx.spec(&program, args.clone())).await?;
        match output.code {
            Some(0) => Ok(Diff::NoChange),
            Some(1) => Ok(Diff::Changes),
            Some(code) => Err(StepError::Check { program, code }),
            None => Err(output.check(&program).map(|_| ()).unwrap_err().into()),
        }
    }

    async fn apply(&self, cx: &StepContext<'_>) -> Result<Applied, StepError> {
        let output = self.run(cx).await?;
        if self.interactive {
            return Ok(Applied::default());
        }
        Ok(Applied {
            outputs: kept_stdout(&output, cx)
                .map(|stdout| ("stdout".to_owned(), stdout.to_owned()))
                .into_iter()
                .collect(),
        })
    }
}

/// How much of a command's standard output `{{ tasks.NAME.stdout }}` keeps.
const MAX_STDOUT: usize = 16 * 1024 * 1024;

impl Command {
    async fn run(&self, cx: &StepContext<'_>) -> Result<crate::process::Output, StepError> {
        let prepared = self.program.prepare(cx)?;
        let mut spec = cx
            .spec(&prepared.program, prepared.args.clone())
            .capture(MAX_STDOUT);
        if self.interactive && cx.terminal {
            spec = spec.on_terminal();
        }
        Ok(cx.run(&spec).await?.check(&prepared.program)?)
    }
}

/// The output as `{{ tasks.NAME.stdout }}`, unless it was too long to keep whole: then
/// no value (a task that uses it fails, naming why) and a line that says so.
fn kept_stdout<'o>(output: &'o crate::process::Output, cx: &StepContext<'_>) -> Option<&'o str> {
    if output.stdout_cut {
        cx.report(format!(
            "its output is over {} MiB, more than `{{{{ tasks.NAME.stdout }}}}` keeps: no value",
            MAX_STDOUT >> 20
        ));
        return None;
    }
    Some(output.stdout_tail.trim())
}

/// The command keys of one task (`cmd`/`shell`, their checks), borrowed from the loader.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct RawCommand<'a> {
    pub cmd: Option<&'a Spanned<Vec<Spanned<String>>>>,
    pub shell: Option<&'a Spanned<String>>,
    pub script: Option<&'a Spanned<String>>,
    pub args: Option<&'a Spanned<Vec<Spanned<String>>>>,
    pub check: Option<&'a Spanned<Vec<Spanned<String>>>>,
    pub check_shell: Option<&'a Spanned<String>>,
    pub read_only: Option<&'a Spanned<bool>>,
    pub interactive: Option<&'a Spanned<bool>>,
}

pub(super) fn resolve(raw: &RawCommand<'_>, cx: &mut dyn Resolve) -> Option<Command> {
    let check = match (raw.check, raw.check_shell) {
        (Some(_), Some(shell)) => {
            cx.invalid(
                shell.span(),
                format!("task `{}` has both `check` and `check-shell`", cx.task_name()),
                "second check",
                Some("keep one: `check` (argv) or `check-shell` (a script for `sh -c`)".into()),
            );
            None
        }
        (Some(argv), None) => argv_program(argv, cx),
        (None, Some(shell)) => Some(shell_program(shell, cx)),
        (None, None) => None,
    };
    if let (Some(args), None) = (raw.args, raw.script) {
        cx.invalid(
            args.span(),
            format!("task `{}` has `args` but no `script`", cx.task_name()),
            "arguments of nothing",
            Some("`args` go with `script = \"scripts/NAME.sh\"`; with `cmd`, put them in the list".into()),
        );
    }
    let program = match (raw.cmd, raw.shell, raw.script) {
        (Some(argv), _, _) => argv_program(argv, cx)?,
        (None, Some(shell), _) => shell_program(shell, cx),
        (None, None, Some(path)) => Program::File {
            path: cx.text(path),
            args: raw
                .args
                .map(|a| a.get_ref().iter().map(|a| cx.template(a)).collect())
                .unwrap_or_default(),
            interpreter: cx.interpreter(),
        },
        (None, None, None) => {
            if let Some(at) = raw
                .check
                .map(Spanned::span)
                .or(raw.check_shell.map(Spanned::span))
            {
                cx.invalid(
                    at,
                    format!(
                        "task `{}` has a check but no `cmd`, `shell` or `script`",
                        cx.task_name()
                    ),
                    "check without a command",
                    Some(
                        "a check describes what its command would change; add `cmd`, `shell` or `script`"
                            .into(),
                    ),
                );
            }
            if let Some(at) = raw.interactive.filter(|i| *i.get_ref()).map(Spanned::span) {
                cx.invalid(
                    at,
                    format!("task `{}` is interactive but has no `cmd` or `shell`", cx.task_name()),
                    "nothing to run",
                    Some("`interactive` hands the terminal to the task's command; add `cmd` or `shell`, or remove it".into()),
                );
            }
            return None;
        }
    };
    let read_only = raw.read_only.is_some_and(|r| *r.get_ref());
    if read_only
        && let Some(at) = raw
            .check
            .map(Spanned::span)
            .or(raw.check_shell.map(Spanned::span))
    {
        cx.invalid(
            at,
            format!("task `{}` is read-only and has a check", cx.task_name()),
            "not needed",
            Some("a read-only command is its own check; remove `check`".into()),
        );
    }
    Some(Command {
        program,
        check,
        read_only,
        interactive: raw.interactive.is_some_and(|i| *i.get_ref()),
    })
}

/// A script for `sh -c`. Carriage returns (a file saved with Windows line endings)
/// would reach the shell as part of each command, so they are refused.
pub(super) fn shell_program(script: &Spanned<String>, cx: &mut dyn Resolve) -> Program {
    if script.get_ref().contains('\r') {
        cx.invalid(
            script.span(),
            format!(
                "the script of task `{}` has Windows line endings (CRLF)",
                cx.task_name()
            ),
            "carriage returns",
            Some("`sh` would see each `\\r` as part of a command; save the file with LF line endings".into()),
        );
    }
    Program::Shell {
        interpreter: cx.interpreter(),
        script: cx.template(script),
    }
}

pub(super) fn argv_program(argv: &Spanned<Vec<Spanned<String>>>, cx: &mut dyn Resolve) -> Option<Program> {
    if argv.get_ref().is_empty() {
        cx.invalid(
            argv.span(),
            format!("`cmd` of task `{}` is empty", cx.task_name()),
            "no program",
            Some("give the program and its arguments: `cmd = [\"make\", \"all\"]`".into()),
        );
        return None;
    }
    let mut parts = Vec::with_capacity(argv.get_ref().len());
    for a in argv.get_ref() {
        match cx.arg_words(a.get_ref()) {
            Some(words) => parts.extend(words.into_iter().map(Template::literal)),
            None => parts.push(cx.template(a)),
        }
    }
    Some(Program::Argv(parts))
}
