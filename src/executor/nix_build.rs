//! `nix-build`: build a derivation with Nix.
//!
//! ```toml
//! [tasks.build-authentik]
//! nix-build = { file = "containers/authentik/default.nix", out-link = "result-authentik", args = { version = "{{ version }}" } }
//! ```
//!
//! | key | meaning |
//! |---|---|
//! | `file` | the Nix file (default `default.nix`), relative to the task's directory |
//! | `attr` | attribute to build (`-A`) |
//! | `args` | `--argstr NAME VALUE` for each entry (one that is exactly an optional task argument not given is left out: the Nix file's default applies) |
//! | `out-link` | the result symlink (`-o`); without it, `--no-out-link` |
//! | `builders`, `max-jobs`, `store`, `eval-store` | where it builds: Nix's remote builders and stores ([`super::nix_remote`]); also `[settings] nix` |
//!
//! - apply: builds; produces `out` (the store path) for dependents: `{{ tasks.NAME.out }}`.
//!   With builders, says on which builder each derivation was built, and names a
//!   builder that could not be reached.
//! - `--diff`: instantiates the derivation (`drv`), asks the store for its output path
//!   (`out`), and runs `nix-build --dry-run` to list what would be built or fetched,
//!   all with the step's builders and stores; each SSH builder is asked whether it
//!   answers (`nix store ping`). No change when the output is in the store and the
//!   out-link already points at it.
//! - `--dry-run`: shows the command, and where it would build.

use std::path::Path;

use indexmap::IndexMap;
use serde::Deserialize;
use toml::Spanned;

use super::nix_remote::{NixRemote, RawNixRemote, builder_lines};
use super::{Applied, Diff, Executor, Need, Needed, Resolve, StepContext, StepError, StepKind, StepPlan};
use crate::process::{self, ProcessError};
use crate::report::Mode;
use crate::scalar::Scalar;
use crate::template::{Outputs, Template};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct Raw {
    file: Option<Spanned<String>>,
    attr: Option<Spanned<String>>,
    #[serde(default)]
    args: IndexMap<String, Spanned<Scalar>>,
    out_link: Option<Spanned<String>>,
    builders: Option<Spanned<super::nix_remote::RawBuilders>>,
    max_jobs: Option<Spanned<super::nix_remote::RawMaxJobs>>,
    store: Option<Spanned<String>>,
    eval_store: Option<Spanned<String>>,
}

/// A Nix file, an attribute in it and `--argstr` arguments: what `nix-build`,
/// `nix-instantiate` and `nix-instantiate --eval` are pointed at.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct NixTarget {
    file: Template,
    attr: Option<Template>,
    args: Vec<(String, Template)>,
}

impl NixTarget {
    pub(super) fn resolve(
        file: Option<&Spanned<String>>,
        attr: Option<&Spanned<String>>,
        args: &IndexMap<String, Spanned<Scalar>>,
        cx: &mut dyn Resolve,
    ) -> Self {
        Self {
            file: file.map_or_else(|| Template::literal("default.nix"), |f| cx.template(f)),
            attr: attr.map(|a| cx.template(a)),
            // An entry that is exactly an optional task argument not given is left
            // out: the Nix file's default applies.
            args: args
                .iter()
                .filter(|(_, v)| {
                    let given = cx.arg_words(&v.get_ref().0);
                    given.is_none_or(|words| !words.is_empty())
                })
                .collect::<Vec<_>>()
                .into_iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        cx.template(&Spanned::new(v.span(), v.get_ref().0.clone())),
                    )
                })
                .collect(),
        }
    }

    /// `FILE [-A ATTR] [--argstr NAME VALUE]...`
    pub(super) fn argv(&self, outputs: &dyn Outputs) -> Vec<String> {
        let mut argv = vec![self.file.render(outputs)];
        if let Some(attr) = &self.attr {
            argv.push("-A".into());
            argv.push(attr.render(outputs));
        }
        for (name, value) in &self.args {
            argv.extend(["--argstr".into(), name.clone(), value.render(outputs)]);
        }
        argv
    }

    /// The Nix file, unless it is a search path (`<nixpkgs>`) or a URL.
    pub(super) fn file_need(&self) -> Option<Need> {
        Need::file_of("file", &self.file).filter(|need| match &need.what {
            Needed::File(path) => !path.starts_with('<') && !path.contains("://"),
            _ => true,
        })
    }

    pub(super) fn display(&self) -> String {
        let mut words = vec![self.file.display()];
        if let Some(attr) = &self.attr {
            words.extend(["-A".into(), attr.display()]);
        }
        for (name, value) in &self.args {
            words.extend(["--argstr".into(), name.clone(), value.display()]);
        }
        shlex::try_join(words.iter().map(String::as_str)).unwrap_or_else(|_| words.join(" "))
    }
}

/// Build a derivation.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct NixBuild {
    target: NixTarget,
    out_link: Option<Template>,
    remote: NixRemote,
}


/// The Nix stores (by the `NIX_CONFIG` the step runs with) that this run has set up.
static STORES_READY: std::sync::LazyLock<tokio::sync::Mutex<std::collections::HashSet<String>>> =
    std::sync::LazyLock::new(Default::default);

/// Run a Nix command. On a store that was never used (a fresh machine), the first Nix
/// commands of a plan start together and race to create the store: one finds its
/// database busy, another a symlink already there, and Nix gives up. So the first
/// Nix command of a run for a store is preceded by `nix-store --init`, run once while
/// the others wait; a database found busy anyway (another Nix process) is tried again.
pub(super) async fn nix(cx: &StepContext<'_>, spec: process::Spec) -> Result<process::Output, StepError> {
    let store = spec
        .env
        .iter()
        .rev()
        .find(|(k, _)| k == "NIX_CONFIG")
        .map(|(_, v)| v.clone())
        .or_else(|| std::env::var("NIX_CONFIG").ok())
        .unwrap_or_default();
    {
        let mut ready = STORES_READY.lock().await;
        if !ready.contains(&store) {
            let init = process::Spec {
                program: "nix-store".into(),
                args: vec!["--init".into()],
                ..spec.clone()
            };
            cx.run(&init).await?.check("nix-store --init")?;
            ready.insert(store);
        }
    }
    let mut pause = std::time::Duration::from_millis(200);
    for _ in 0..5 {
        match cx.run(&spec).await?.check(&spec.program) {
            Err(e) if e.stderr_tail().is_some_and(|tail| tail.contains("SQLite database") && tail.contains("is busy")) => {
                cx.report(format!("the Nix database is busy; `{}` again in {pause:?}", spec.program));
                tokio::select! {
                    () = tokio::time::sleep(pause) => {}
                    () = cx.cancel.cancelled() => return Err(ProcessError::Cancelled.into()),
                }
                pause = (pause * 2).min(std::time::Duration::from_secs(3));
            }
            other => return other.map_err(|e| nix_error(&spec.program, e)),
        }
    }
    cx.run(&spec)
        .await?
        .check(&spec.program)
        .map_err(|e| nix_error(&spec.program, e))
}

/// A failed Nix command in Nix's own words: its `error:` lines (the reason, the
/// trace), not only its exit code.
fn nix_error(program: &str, error: ProcessError) -> StepError {
    let Some(tail) = error.stderr_tail() else {
        return error.into();
    };
    let lines: Vec<&str> = tail.lines().collect();
    let Some(first) = lines.iter().position(|l| l.trim_start().starts_with("error:")) else {
        return error.into();
    };
    // A builder that could not be reached is said before Nix's "unable to start any
    // build", which does not name it.
    let mut shown: Vec<String> = builder_lines(tail)
        .into_iter()
        .filter(|l| !l.starts_with("built "))
        .collect();
    shown.extend(lines[first..].iter().take(15).map(|l| (*l).to_owned()));
    StepError::Failed(format!("`{program}` failed: {}", shown.join("\n")))
}

/// ` --flag value…` quoted for a shell, or nothing.
pub(super) fn display_args(args: &[String]) -> String {
    if args.is_empty() {
        return String::new();
    }
    let joined = shlex::try_join(args.iter().map(String::as_str)).unwrap_or_else(|_| args.join(" "));
    format!(" {joined}")
}

/// The last non-empty line of a command's stdout.
pub(super) fn last_line(text: &str) -> Option<String> {
    text.lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(str::to_owned)
}

impl StepKind for NixBuild {
    const KEY: &'static str = "nix-build";
    type Raw = Raw;
    const EXAMPLE: &'static str = r#"{ file = "default.nix" }"#;

    fn resolve(raw: &Spanned<Raw>, cx: &mut dyn Resolve) -> Option<Self> {
        let raw = raw.get_ref();
        Some(NixBuild {
            target: NixTarget::resolve(raw.file.as_ref(), raw.attr.as_ref(), &raw.args, cx),
            out_link: raw.out_link.as_ref().map(|o| cx.template(o)),
            remote: RawNixRemote::of_step(raw.builders.as_ref(), raw.max_jobs.as_ref(), raw.store.as_ref(), raw.eval_store.as_ref())
                .for_step(cx),
        })
    }
}

impl Executor for NixBuild {
    /// Nix (`nix-store --init` comes first), `nix-instantiate` for `--diff`, and the file.
    fn needs(&self, mode: Mode, _dir: &Path) -> Vec<Need> {
        let programs: &[&str] = match mode {
            Mode::Diff => &["nix-instantiate", "nix-store", "nix-build"],
            Mode::Apply | Mode::DryRun => &["nix-store", "nix-build"],
        };
        let mut needs = Need::programs(Self::KEY, programs);
        needs.extend(self.target.file_need());
        needs
    }

    fn produces(&self) -> Vec<String> {
        ["drv", "out"].map(String::from).to_vec()
    }

    fn plan(&self) -> StepPlan {
        let link = self
            .out_link
            .as_ref()
            .map_or_else(|| "--no-out-link".to_owned(), |l| format!("-o {}", l.display()));
        let remote = display_args(&self.remote.args());
        let mut lines = vec![format!("$ nix-build {}{remote} {link}", self.target.display())];
        lines.extend(self.remote.describe());
        StepPlan {
            lines,
            check: Some(format!("$ nix-build --dry-run {}{remote}", self.target.display())),
        }
    }

    async fn diff(&self, cx: &StepContext<'_>) -> Result<Diff, StepError> {
        let mut args = self.target.argv(cx.outputs);
        args.extend(self.remote.args());
        let drv = nix(cx, cx.spec("nix-instantiate", args.clone()).quiet()).await?;
        let drv = last_line(&drv.stdout_tail).unwrap_or_default();
        let mut query = vec!["--query".into(), "--outputs".into(), drv.clone()];
        query.extend(self.remote.args());
        let out = nix(cx, cx.spec("nix-store", query).quiet()).await?;
        let out = last_line(&out.stdout_tail).unwrap_or_default();
        cx.produce("drv", drv.as_str());
        cx.produce("out", out.as_str());
        cx.report(format!("derivation: {drv}"));
        cx.report(format!("output:     {out}"));

        let mut dry_args = vec!["--dry-run".to_owned()];
        dry_args.extend(args);
        // The list of what would be built or fetched comes on stderr, streamed as is.
        nix(cx, cx.spec("nix-build", dry_args).quiet()).await?;
        for line in self.remote.describe() {
            cx.report(line);
        }
        self.remote.ping(cx).await?;

        let built = if self.remote.store().is_some() {
            let mut check = vec!["--check-validity".to_owned(), "--print-invalid".into(), out.clone()];
            check.extend(self.remote.args());
            let invalid = nix(cx, cx.spec("nix-store", check).quiet()).await?;
            invalid.stdout_tail.trim().is_empty()
        } else {
            Path::new(&out).exists()
        };
        let link = self.out_link.as_ref().map(|l| l.render(cx.outputs));
        let linked = link
            .as_ref()
            .is_none_or(|l| std::fs::read_link(cx.dir.join(l)).is_ok_and(|target| target == Path::new(&out)));
        match (built, linked, link) {
            (true, true, _) => {
                cx.report("nothing to build: the output is in the store");
                Ok(Diff::NoChange)
            }
            (true, false, Some(link)) => {
                cx.report(format!("would point {link} at {out}"));
                Ok(Diff::Changes)
            }
            _ => {
                cx.report("would build the derivation");
                Ok(Diff::Changes)
            }
        }
    }

    async fn apply(&self, cx: &StepContext<'_>) -> Result<Applied, StepError> {
        let mut args = self.target.argv(cx.outputs);
        match &self.out_link {
            Some(link) => args.extend(["-o".into(), link.render(cx.outputs)]),
            None => args.push("--no-out-link".into()),
        }
        args.extend(self.remote.args());
        let output = nix(cx, cx.spec("nix-build", args)).await?;
        for line in builder_lines(&output.stderr_tail) {
            cx.report(line);
        }
        let out = last_line(&output.stdout_tail).unwrap_or_default();
        Ok(Applied {
            outputs: vec![("out".into(), out)],
        })
    }
}
