//! `ops lint`, `ops rules`, `ops rule ID`.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use miette::Diagnostic;
use thiserror::Error;

use crate::cli::{LintArgs, LintFormat};
use crate::diagnostic::suggestion;
use crate::exit::ExitStatus;
use crate::policy::config::{Config, PolicyErrors};
use crate::policy::finding::Severity;
use crate::policy::{self, output, rule};

#[derive(Debug, Error, Diagnostic)]
pub(crate) enum LintError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Policy(#[from] PolicyErrors),

    #[error("unknown rule `{id}`")]
    #[diagnostic(code(ops::lint::unknown_rule))]
    UnknownRule {
        id: String,
        #[help]
        help: Option<String>,
    },

    #[error("{path}: not in the repository at {root}")]
    #[diagnostic(code(ops::lint::outside))]
    Outside { path: String, root: String },
}

fn unknown<'a>(id: &str, known: impl IntoIterator<Item = &'a str>) -> LintError {
    LintError::UnknownRule {
        id: id.to_owned(),
        help: suggestion(id, known).or_else(|| Some("`ops rules` lists the rules".into())),
    }
}

/// A command-line path, relative to the root.
fn relative(root: &Path, path: &Path) -> Result<PathBuf, LintError> {
    let absolute = std::env::current_dir().unwrap_or_default().join(path);
    let absolute = absolute.canonicalize().unwrap_or(absolute);
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    absolute
        .strip_prefix(&root)
        .map(Path::to_path_buf)
        .map_err(|_| LintError::Outside {
            path: path.display().to_string(),
            root: root.display().to_string(),
        })
}

pub(super) fn lint(root: Option<&Path>, args: &LintArgs) -> Result<ExitStatus, LintError> {
    let root = crate::root::for_lint(root);
    let mut config = Config::load(&root)?;
    if let Some(bad) = args.rules.iter().find(|name| !config.knows(name)) {
        return Err(unknown(bad, config.ids()));
    }
    if !args.rules.is_empty() {
        config.only(&args.rules);
    }
    let paths = args
        .paths
        .iter()
        .map(|p| relative(&root, p))
        .collect::<Result<Vec<_>, _>>()?;
    let report = policy::lint(&root, &paths, &config);
    let text = match args.format {
        LintFormat::Human => output::human(&report),
        LintFormat::Json => output::json(&report),
        LintFormat::Sarif => output::sarif(&report),
        LintFormat::Github => output::github(&report),
    };
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    Ok(if report.count(Severity::Error) > 0 {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}

pub(super) fn rules() -> ExitStatus {
    let mut out = format!("{:<20}  {:<7}  {:<8}  {}\n", "RULE", "CODE", "SEVERITY", "CHECKS");
    for r in rule::RULES {
        let _ = writeln!(
            out,
            "{:<20}  {:<7}  {:<8}  {}",
            r.id(),
            r.code(),
            r.default_severity().as_str(),
            r.summary()
        );
    }
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
    ExitStatus::Success
}

pub(super) fn show_rule(id: &str) -> Result<ExitStatus, LintError> {
    let r = rule::find(id).ok_or_else(|| unknown(id, rule::ids()))?;
    let mut out = format!("{} ({}) — {}\n\n", r.id(), r.code(), r.summary());
    for line in r.doc().lines() {
        out.push_str(line.strip_prefix(' ').unwrap_or(line));
        out.push('\n');
    }
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
    Ok(ExitStatus::Success)
}
