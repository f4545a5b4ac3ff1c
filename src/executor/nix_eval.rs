//! `nix-eval`: read a value from a Nix expression (a package version, say) for
//! later tasks, as `{{ tasks.NAME.value }}`.
//!
//! ```toml
//! [tasks.authentik-version]
//! nix-eval = { file = "containers/authentik/version.nix", attr = "version" }
//!
//! [tasks.release]
//! deps = ["authentik-version"]
//! git-tag = { tag = "authentik-v{{ tasks.authentik-version.value }}" }
//! ```
//!
//! Keys: `file` (default `default.nix`), `attr`, `args` (`--argstr`), and where it
//! evaluates (`builders`, `max-jobs`, `store`, `eval-store`: an import from a
//! derivation builds), as for `nix-build`.
//! It only reads, so it runs in `--diff` as well and its value is there for the checks
//! of later tasks. A string is produced as it is; any other value as compact JSON.

use indexmap::IndexMap;
use serde::Deserialize;
use toml::Spanned;

use super::nix_build::{NixTarget, display_args, nix};
use super::nix_remote::{NixRemote, RawNixRemote};
use super::{Applied, Diff, Executor, Need, Resolve, StepContext, StepError, StepKind, StepPlan};
use crate::report::Mode;
use crate::scalar::Scalar;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct Raw {
    file: Option<Spanned<String>>,
    attr: Option<Spanned<String>>,
    #[serde(default)]
    args: IndexMap<String, Spanned<Scalar>>,
    builders: Option<Spanned<super::nix_remote::RawBuilders>>,
    max_jobs: Option<Spanned<super::nix_remote::RawMaxJobs>>,
    store: Option<Spanned<String>>,
    eval_store: Option<Spanned<String>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct NixEval {
    target: NixTarget,
    remote: NixRemote,
}


impl NixEval {
    async fn evaluate(&self, cx: &StepContext<'_>) -> Result<String, StepError> {
        let mut args = vec!["--eval".to_owned(), "--strict".into(), "--json".into()];
        args.extend(self.target.argv(cx.outputs));
        args.extend(self.remote.args());
        let output = nix(cx, cx.spec("nix-instantiate", args).quiet()).await?;
        let json = output.stdout_tail.trim();
        let value = match serde_json::from_str::<serde_json::Value>(json) {
            Ok(serde_json::Value::String(s)) => s,
            Ok(other) => other.to_string(),
            Err(e) => {
                return Err(StepError::Failed(format!(
                    "nix-instantiate printed no JSON value ({e}): {json}"
                )));
            }
        };
        cx.report(format!("value = {value}"));
        cx.produce("value", value.as_str());
        Ok(value)
    }
}

impl StepKind for NixEval {
    const KEY: &'static str = "nix-eval";
    type Raw = Raw;
    const EXAMPLE: &'static str = r#"{ file = "default.nix", attr = "version" }"#;

    fn resolve(raw: &Spanned<Raw>, cx: &mut dyn Resolve) -> Option<Self> {
        let raw = raw.get_ref();
        Some(NixEval {
            target: NixTarget::resolve(raw.file.as_ref(), raw.attr.as_ref(), &raw.args, cx),
            remote: RawNixRemote::of_step(raw.builders.as_ref(), raw.max_jobs.as_ref(), raw.store.as_ref(), raw.eval_store.as_ref())
                .for_step(cx),
        })
    }
}

impl Executor for NixEval {
    fn needs(&self, _mode: Mode, _dir: &std::path::Path) -> Vec<Need> {
        let mut needs = Need::programs(Self::KEY, &["nix-store", "nix-instantiate"]);
        needs.extend(self.target.file_need());
        needs
    }

    fn produces(&self) -> Vec<String> {
        ["value"].map(String::from).to_vec()
    }

    fn plan(&self) -> StepPlan {
        let line = format!(
            "$ nix-instantiate --eval --strict --json {}{}",
            self.target.display(),
            display_args(&self.remote.args())
        );
        let mut lines = vec![line.clone()];
        lines.extend(self.remote.describe());
        StepPlan {
            lines,
            check: Some(line),
        }
    }

    async fn diff(&self, cx: &StepContext<'_>) -> Result<Diff, StepError> {
        self.evaluate(cx).await.map(|_| Diff::NoChange)
    }

    async fn apply(&self, cx: &StepContext<'_>) -> Result<Applied, StepError> {
        self.evaluate(cx).await.map(|_| Applied::default())
    }
}
