//! `gate`: a condition the runbook must meet before going on.
//!
//! ```toml
//! [tasks.migration-verified]
//! gate = { shell = "kubectl logs deploy/pharia-iam | grep 'User migration completed'",
//!          expect = '"total_failed":(?P<failed>0),', reject = '"failed_user_ids":"\[[^\]]' }
//!
//! [tasks.old-database-can-go]
//! gate = { confirm = "Have all users logged in through Dex at least once?" }
//! ```
//!
//! - With `cmd` (argv) or `shell`: runs the read-only command (in `--diff` too) and
//!   passes only when it exits 0, its standard output matches `expect` and does not
//!   match `reject`. Named groups of `expect` are reported and produced for
//!   dependents (`{{ tasks.NAME.failed }}`). Up to 16 MiB of output is examined;
//!   the step shows the matching line rather than the whole output.
//! - With `confirm`: asks a person when the run reaches it; a run that cannot ask
//!   fails before anything starts unless `--yes`. `--diff` and `--dry-run` do not ask.

use serde::Deserialize;
use toml::Spanned;

use super::command::{Program, argv_program, shell_program};
use super::judge;
use super::pattern::Pattern;
use super::{Applied, Diff, Executor, Need, Resolve, StepContext, StepError, StepKind, StepPlan};
use crate::report::Mode;

/// How much output a gate examines.
const GATE_CAPTURE: usize = 16 * 1024 * 1024;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct Raw {
    cmd: Option<Spanned<Vec<Spanned<String>>>>,
    shell: Option<Spanned<String>>,
    expect: Option<Spanned<String>>,
    reject: Option<Spanned<String>>,
    confirm: Option<Spanned<String>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Gate {
    Command {
        program: Program,
        expect: Option<Pattern>,
        reject: Option<Pattern>,
    },
    Confirm(String),
}


impl Gate {
    async fn check(&self, cx: &StepContext<'_>) -> Result<(), StepError> {
        let Self::Command {
            program,
            expect,
            reject,
        } = self
        else {
            return Ok(());
        };
        let prepared = program.prepare(cx)?;
        let output = cx
            .run(&cx.spec(&prepared.program, prepared.args.clone()).capture(GATE_CAPTURE).quiet())
            .await?;
        if !output.success() {
            let how = output
                .code
                .map_or_else(|| "was killed by a signal".to_owned(), |c| format!("exited with code {c}"));
            return Err(StepError::Failed(format!(
                "gate not met: `{}` {how}{}{}",
                program.display(),
                judge::tail(&output.stdout_tail, "its output ended with"),
                judge::tail(&output.stderr_tail, "its error output ended with")
            )));
        }
        let source = format!("the output of `{}`", program.display());
        judge::judge(&output.stdout_tail, expect.as_ref(), reject.as_ref(), "gate", "output", &source)
            .map_err(StepError::Failed)?
            .report(cx, "gate");
        Ok(())
    }
}

impl StepKind for Gate {
    const KEY: &'static str = "gate";
    type Raw = Raw;
    const EXAMPLE: &'static str = r#"{ shell = "true", expect = "." }"#;

    fn resolve(raw: &Spanned<Raw>, cx: &mut dyn Resolve) -> Option<Self> {
        let span = raw.span();
        let raw = raw.get_ref();
        let program = match (&raw.cmd, &raw.shell) {
            (Some(argv), None) => argv_program(argv, cx),
            (None, Some(shell)) => Some(shell_program(shell, cx)),
            (Some(_), Some(shell)) => {
                cx.invalid(
                    shell.span(),
                    "a gate runs `cmd` or `shell`, not both".into(),
                    "second command",
                    None,
                );
                None
            }
            (None, None) => None,
        };
        match (program, &raw.confirm) {
            (Some(program), None) => Some(Gate::Command {
                program,
                expect: raw.expect.as_ref().and_then(|p| Pattern::resolve(p, cx)),
                reject: raw.reject.as_ref().and_then(|p| Pattern::resolve(p, cx)),
            }),
            (None, Some(question)) if raw.expect.is_none() && raw.reject.is_none() => {
                Some(Gate::Confirm(cx.text(question)))
            }
            _ => {
                cx.invalid(
                    span,
                    format!(
                        "the gate of task `{}` needs either a command or a confirmation",
                        cx.task_name()
                    ),
                    "gate",
                    Some(
                        "`gate = { shell = \"…\", expect = \"regex\" }` or `gate = { confirm = \"question\" }`"
                            .into(),
                    ),
                );
                None
            }
        }
    }
}

impl Executor for Gate {
    /// The program of its command (it runs in `--diff` too); nothing for a confirmation.
    fn needs(&self, _mode: Mode, dir: &std::path::Path) -> Vec<Need> {
        match self {
            Self::Command { program, .. } => program.needs(Self::KEY, dir),
            Self::Confirm(_) => Vec::new(),
        }
    }

    /// The named groups of `expect`.
    fn produces(&self) -> Vec<String> {
        match self {
            Self::Command {
                expect: Some(expect), ..
            } => expect.regex().capture_names().flatten().map(str::to_owned).collect(),
            Self::Command { .. } | Self::Confirm(_) => Vec::new(),
        }
    }

    fn plan(&self) -> StepPlan {
        match self {
            Self::Command {
                program,
                expect,
                reject,
            } => {
                let mut lines = vec![format!("$ {}", program.display())];
                if let Some(e) = expect {
                    lines.push(format!("expect /{}/", e.as_str()));
                }
                if let Some(r) = reject {
                    lines.push(format!("reject /{}/", r.as_str()));
                }
                StepPlan {
                    check: Some(format!("$ {}", program.display())),
                    lines,
                }
            }
            Self::Confirm(q) => StepPlan {
                lines: vec![format!("asks: {q}")],
                check: None,
            },
        }
    }
    fn question(&self) -> Option<&str> {
        match self {
            Self::Confirm(q) => Some(q),
            Self::Command { .. } => None,
        }
    }

    async fn diff(&self, cx: &StepContext<'_>) -> Result<Diff, StepError> {
        if let Self::Confirm(q) = self {
            cx.report(format!("would ask: {q}"));
        }
        self.check(cx).await.map(|()| Diff::NoChange)
    }

    async fn apply(&self, cx: &StepContext<'_>) -> Result<Applied, StepError> {
        self.check(cx).await.map(|()| Applied::default())
    }
}
