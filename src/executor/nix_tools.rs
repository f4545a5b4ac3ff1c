//! `nix-tools`: the Nix packages a task's commands need, built once per run and put
//! first on the task's `PATH`, as `nix shell` does.
//!
//! ```toml
//! [tasks.preview]
//! nix-tools = { file = "nix/tools.nix", attrs = ["pulumi", "ansible"] }
//! # or: nix-tools = { installables = [".#pulumi", "nixpkgs#ansible-core"] }
//! cmd = ["pulumi", "preview"]
//! ```
//!
//! A `file` is evaluated with `nix-instantiate FILE -A ATTR…` (relative to the task's
//! directory) and each derivation is realised once per run, however many tasks name
//! it. `installables` are built with `nix build --no-link --json` (flakes: Nix's
//! experimental features `nix-command flakes` are turned on for the call). The tools
//! are built in `--diff` too (the store is a cache, not infrastructure), and the task
//! says for each whether it was built already.

use std::collections::HashMap;
use std::path::PathBuf;

use super::nix_build::nix;
use super::{StepContext, StepError};

/// Where a task's tools come from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum NixTools {
    /// Attributes of a Nix file.
    File { file: String, attrs: Vec<String> },
    /// Flake references or store paths, as `nix build` takes them.
    Installables(Vec<String>),
}

impl NixTools {
    /// As `--dry-run` shows it.
    pub(crate) fn describe(&self) -> String {
        match self {
            Self::File { file, attrs } => format!("{} from {file}", attrs.join(", ")),
            Self::Installables(list) => list.join(", "),
        }
    }
}

/// The tools built in this run, by derivation (and by installable).
#[derive(Debug, Default)]
pub(crate) struct ToolCache {
    /// Derivation (or installable) → output paths. Held while building, so that two
    /// tasks needing the same tool build it once.
    built: tokio::sync::Mutex<HashMap<String, Vec<String>>>,
}

impl ToolCache {
    /// Build (or find) the tools and return the `bin/` directories to put first on
    /// `PATH`, in the order the tools are named.
    pub(crate) async fn provide(
        &self,
        tools: &NixTools,
        cx: &StepContext<'_>,
    ) -> Result<Vec<PathBuf>, StepError> {
        let mut built = self.built.lock().await;
        let outputs = match tools {
            NixTools::File { file, attrs } => from_file(&mut built, file, attrs, cx).await?,
            NixTools::Installables(list) => from_installables(&mut built, list, cx).await?,
        };
        let mut bins = Vec::new();
        for out in outputs {
            let bin = PathBuf::from(&out).join("bin");
            if bin.is_dir() {
                bins.push(bin);
            } else {
                cx.report(format!(
                    "tool {out} has no bin/ directory: nothing of it is put on PATH"
                ));
            }
        }
        Ok(bins)
    }
}

/// Evaluate the attributes of `file`, then realise each derivation not built yet.
async fn from_file(
    built: &mut HashMap<String, Vec<String>>,
    file: &str,
    attrs: &[String],
    cx: &StepContext<'_>,
) -> Result<Vec<String>, StepError> {
    let mut args = vec![file.to_owned()];
    for attr in attrs {
        args.extend(["-A".to_owned(), attr.clone()]);
    }
    let eval = nix(cx, cx.spec("nix-instantiate", args).quiet()).await?;
    let drvs: Vec<String> = eval
        .stdout_tail
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    if drvs.len() != attrs.len() {
        return Err(StepError::Invalid(format!(
            "`nix-instantiate {file}` gave {} derivations for {} attributes ({}): each attribute must be one package",
            drvs.len(),
            attrs.len(),
            attrs.join(", ")
        )));
    }
    let mut outputs = Vec::new();
    for (attr, drv) in attrs.iter().zip(&drvs) {
        if let Some(outs) = built.get(drv) {
            outputs.extend(outs.iter().cloned());
            continue;
        }
        let query = nix(
            cx,
            cx.spec(
                "nix-store",
                vec!["--query".into(), "--outputs".into(), drv.clone()],
            )
            .quiet(),
        )
        .await?;
        let outs: Vec<String> = query.stdout_tail.lines().map(str::to_owned).collect();
        let mut check = vec!["--check-validity".to_owned(), "--print-invalid".to_owned()];
        check.extend(outs.iter().cloned());
        let missing = nix(cx, cx.spec("nix-store", check).quiet()).await?;
        if missing.stdout_tail.trim().is_empty() {
            cx.report(format!("tool {attr}: built already ({})", outs.join(" ")));
        } else {
            cx.report(format!("tool {attr}: building {drv}"));
            nix(
                cx,
                cx.spec("nix-store", vec!["--realise".into(), drv.clone()])
                    .quiet(),
            )
            .await?;
            cx.report(format!("tool {attr}: built {}", outs.join(" ")));
        }
        built.insert(drv.clone(), outs.clone());
        outputs.extend(outs);
    }
    Ok(outputs)
}

/// Build the installables not built yet in this run.
async fn from_installables(
    built: &mut HashMap<String, Vec<String>>,
    list: &[String],
    cx: &StepContext<'_>,
) -> Result<Vec<String>, StepError> {
    let wanted: Vec<&String> = list.iter().filter(|i| !built.contains_key(*i)).collect();
    if !wanted.is_empty() {
        let mut args: Vec<String> = [
            "--extra-experimental-features",
            "nix-command flakes",
            "build",
            "--no-link",
            "--json",
        ]
        .map(str::to_owned)
        .to_vec();
        args.extend(wanted.iter().map(|i| (*i).clone()));
        let output = nix(cx, cx.spec("nix", args).capture(1 << 20).quiet()).await?;
        let results: Vec<serde_json::Value> = serde_json::from_str(output.stdout_tail.trim())
            .map_err(|e| StepError::Failed(format!("`nix build --json` gave no result list: {e}")))?;
        if results.len() != wanted.len() {
            return Err(StepError::Failed(format!(
                "`nix build` gave {} results for {} installables",
                results.len(),
                wanted.len()
            )));
        }
        for (installable, result) in wanted.iter().zip(&results) {
            let outs: Vec<String> = result["outputs"]
                .as_object()
                .map(|o| o.values().filter_map(|v| v.as_str().map(str::to_owned)).collect())
                .unwrap_or_default();
            cx.report(format!("tool {installable}: {}", outs.join(" ")));
            built.insert((*installable).clone(), outs);
        }
    }
    Ok(list
        .iter()
        .flat_map(|i| built.get(i).cloned().unwrap_or_default())
        .collect())
}
