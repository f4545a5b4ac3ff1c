//! `ops lint`, `ops rules`, `ops rule ID`.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use miette::Diagnostic;
use thiserror::Error;

use crate::cli::{LintArgs, LintFormat};
use crate::diagnostic::{did_you_mean, suggestion};
use crate::exit::ExitStatus;
use crate::policy::config::{Config, PolicyErrors};
use crate::policy::finding::Severity;
use crate::policy::{self, output, read, rule};

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

    #[error("{path}: no such file or directory")]
    #[diagnostic(code(ops::lint::missing))]
    Missing {
        path: String,
        #[help]
        help: Option<String>,
    },

    #[error("{path}: cannot be read: {reason}")]
    #[diagnostic(
        code(ops::lint::unreadable),
        help("check the path (a symbolic link may point at itself) and its permissions")
    )]
    Unreadable { path: String, reason: String },
}

fn unknown<'a>(id: &str, known: impl IntoIterator<Item = &'a str>) -> LintError {
    LintError::UnknownRule {
        id: id.to_owned(),
        help: suggestion(id, known).or_else(|| Some("`ops rules` lists the rules".into())),
    }
}

/// `help` for a path that does not exist: the closest name next to it, if one is close.
fn near(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
    let siblings: Vec<String> = std::fs::read_dir(parent.unwrap_or(Path::new(".")))
        .ok()?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    let close = did_you_mean(name, siblings.iter().map(String::as_str))?;
    let shown = parent.map_or_else(|| PathBuf::from(close), |p| p.join(close));
    Some(format!("did you mean `{}`?", shown.display()))
}

/// A command-line path must exist and be readable: a directory that can be listed,
/// a regular file that can be opened. (FIFOs, sockets and devices are left to the
/// lint, which reports them without opening them.)
fn readable(path: &Path, absolute: &Path) -> Result<(), LintError> {
    let unreadable = |reason: String| LintError::Unreadable {
        path: path.display().to_string(),
        reason,
    };
    let meta = match std::fs::metadata(absolute) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(LintError::Missing {
                path: path.display().to_string(),
                help: near(path),
            });
        }
        Err(e) => return Err(unreadable(e.to_string())),
    };
    if meta.is_dir() {
        std::fs::read_dir(absolute).map_err(|e| unreadable(e.to_string()))?;
    } else if meta.is_file() {
        read::open(absolute).map_err(|why| unreadable(why.reason()))?;
    }
    Ok(())
}

/// A command-line path, relative to the root (`canonical`: the root, canonicalised).
fn relative(canonical: &Path, path: &Path) -> Result<PathBuf, LintError> {
    let absolute = std::env::current_dir().unwrap_or_default().join(path);
    readable(path, &absolute)?;
    let absolute = absolute.canonicalize().unwrap_or(absolute);
    absolute
        .strip_prefix(canonical)
        .map(Path::to_path_buf)
        .map_err(|_| LintError::Outside {
            path: path.display().to_string(),
            root: canonical.display().to_string(),
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
    let canonical = root.canonicalize().unwrap_or_else(|_| root.clone());
    let paths = args
        .paths
        .iter()
        .map(|p| relative(&canonical, p))
        .collect::<Result<Vec<_>, _>>()?;
    let mut deleted = Vec::new();
    if args.hook {
        deleted = staged_deletions(&root);
        if paths.is_empty() && deleted.is_empty() {
            return Ok(ExitStatus::Success);
        }
    }
    // A hook's changed policies/*.toml: the rules changed, every file is judged anew.
    // Otherwise a hook checks its paths (none, when the commit only deletes files:
    // then the kustomizations that list them).
    let everything = if args.hook {
        paths.iter().any(|p| is_policy(p))
    } else {
        paths.is_empty()
    };
    let report = policy::lint(
        &root,
        (!everything).then_some(paths.as_slice()),
        &deleted,
        &config,
        !args.no_cache,
    );
    let text = match args.format {
        LintFormat::Human => output::human(&report, args.quiet),
        LintFormat::Json => output::json(&report),
        LintFormat::Sarif => output::sarif(&report),
        LintFormat::Github => output::github(&report),
        LintFormat::Rdjson => output::rdjson(&report),
    };
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    let status = if report.count(Severity::Error) > 0 {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    };
    // The process ends next: freeing the report file by file is work the exit does
    // at once (a sixth of a partial lint's instructions on a 10,000-file tree).
    std::mem::forget(report);
    Ok(status)
}

fn is_policy(path: &Path) -> bool {
    path.parent() == Some(Path::new("policies")) && path.extension().is_some_and(|e| e == "toml")
}

/// The files the commit being made deletes (relative to the root), from git's index;
/// none outside a git repository.
fn staged_deletions(root: &Path) -> Vec<PathBuf> {
    let args = [
        "diff",
        "--cached",
        "--name-only",
        "--diff-filter=D",
        "--relative",
        "-z",
    ];
    crate::process::stdout_of("git", &args, root)
        .map(|out| {
            out.split('\0')
                .filter(|p| !p.is_empty())
                .map(PathBuf::from)
                .collect()
        })
        .unwrap_or_default()
}

pub(super) fn rules(root: Option<&Path>, default_policy: bool) -> Result<ExitStatus, LintError> {
    if default_policy {
        let _ = std::io::stdout()
            .lock()
            .write_all(crate::policy::DEFAULT_POLICY.as_bytes());
        return Ok(ExitStatus::Success);
    }
    let root = crate::root::for_lint(root);
    let config = Config::load(&root)?;
    let mut out = format!("{:<20}  {:<7}  {:<8}  {}\n", "RULE", "CODE", "SEVERITY", "CHECKS");
    for r in rule::RULES {
        let severity = config.rule(r.id()).map_or("off", |c| c.severity().as_str());
        let _ = writeln!(
            out,
            "{:<20}  {:<7}  {:<8}  {}",
            r.id(),
            r.code(),
            severity,
            r.summary()
        );
    }
    for c in &config.custom {
        let _ = writeln!(
            out,
            "{:<20}  {:<7}  {:<8}  {} (custom rule in policies/)",
            c.id,
            "OPS900",
            c.severity().as_str(),
            c.message
        );
    }
    let own = if root.join("policies").is_dir() {
        "this repository's policies/ over the default policy"
    } else {
        "the default policy (this repository has no policies/)"
    };
    let _ = writeln!(
        out,
        "\nSeverities: {own}; `ops rules --default-policy` prints the default, `ops rule ID` documents a rule."
    );
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
    Ok(ExitStatus::Success)
}

pub(super) fn show_rule(root: Option<&Path>, id: &str) -> Result<ExitStatus, LintError> {
    let config = Config::load(&crate::root::for_lint(root))?;
    if let Some(custom) = config.custom.iter().find(|c| c.id == id) {
        let _ = std::io::stdout().lock().write_all(custom.describe().as_bytes());
        return Ok(ExitStatus::Success);
    }
    let r = rule::find(id).ok_or_else(|| unknown(id, config.ids()))?;
    let mut out = format!("{} ({}) — {}\n\n", r.id(), r.code(), r.summary());
    for line in r.doc().lines() {
        out.push_str(line.strip_prefix(' ').unwrap_or(line));
        out.push('\n');
    }
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
    Ok(ExitStatus::Success)
}
