//! `ops lint`: policies for a GitOps repository, checked over its YAML files with
//! positions, kustomize-aware.
//!
//! The flow: [`repo::Repo::load`] walks and parses the files (in parallel) and
//! indexes the kustomizations; every enabled rule (`rules/`, one per file) and
//! custom rule checks every file (in parallel); suppressions are applied; the
//! findings go to a renderer in `output/`.

pub(crate) mod config;
mod custom;
mod field_path;
pub(crate) mod finding;
mod front_coded;
mod given;
pub mod image_ref;
mod index;
pub mod kustomize;
mod mask;
pub(crate) mod option;
pub(crate) mod output;
pub(crate) mod read;
mod repo;
pub(crate) mod rule;
mod rules;
mod stamp;
mod suppress;
mod walk;
pub mod workload;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rayon::prelude::*;

use config::Config;
pub(crate) use config::DEFAULT_POLICY;
use finding::{Finding, Severity};
use given::Given;
use repo::{ManifestFile, Repo};
use rule::{Context, Findings};

/// Read one policy file given as text over the built-in rules (for the fuzz target):
/// its problems as the diagnostics `ops lint` would print.
pub fn check_policy_text(text: &str) -> Result<(), String> {
    let source = crate::diagnostic::SourceFile::new("policies/fuzz.toml", text.to_owned());
    let mut errors = Vec::new();
    Config::builtin().apply(&source, &mut errors);
    if errors.is_empty() {
        return Ok(());
    }
    Err(format!(
        "{:?}",
        miette::Report::new(config::PolicyErrors { errors })
    ))
}

/// What a lint found.
pub(crate) struct Report {
    pub(crate) findings: Vec<Finding>,
    pub(crate) files_scanned: usize,
    pub(crate) duration: Duration,
    pub(crate) repo: Repo,
    /// The custom rules of the policies: id and message.
    pub(crate) custom_rules: Vec<(String, String)>,
}

impl Report {
    pub(crate) fn count(&self, severity: Severity) -> usize {
        self.findings.iter().filter(|f| f.severity == severity).count()
    }
}

fn check_file(repo: &Repo, config: &Config, file: &ManifestFile) -> Vec<Finding> {
    let mut found = Vec::new();
    for rule in rule::RULES.iter().filter(|r| r.checks_files()) {
        let Some(settings) = config.rule(rule.id()) else {
            continue;
        };
        if !settings.applies_to(&file.path) {
            continue;
        }
        let cx = Context {
            repo,
            config: settings,
        };
        let mut out = Findings {
            rule: *rule,
            severity: settings.severity(),
            file,
            found: Vec::new(),
        };
        rule.check(&cx, file, &mut out);
        found.extend(out.found);
    }
    for custom in &config.custom {
        custom.check(file, &mut found);
    }
    found
}

/// Apply the settings of the rules whose findings are not made by their `check`
/// (custom rules, suppressions): drop those of a disabled rule or an excluded file,
/// set a configured severity.
fn settle(config: &Config, findings: &mut Vec<Finding>) {
    findings.retain_mut(|f| {
        if rule::find(f.rule).is_none_or(rule::Rule::checks_files) {
            return true;
        }
        let Some(settings) = config.rule(f.rule) else {
            return false;
        };
        if let Some(severity) = settings.configured_severity() {
            f.severity = severity;
        }
        settings.applies_to(&f.path)
    });
}

/// The byte ranges of the Secret values of the file at an index of `Repo::files`.
type Secrets = (usize, Vec<std::ops::Range<usize>>);

/// Lint `paths` (files or directories relative to `root`; everything when `None`).
///
/// The whole repository is read and checked either way, so that a file linted alone
/// is judged as in a full lint (the overlay elsewhere that pins its image, the
/// kustomization whose override it is); only the findings in `paths` are kept, and
/// those of the kustomizations that list a path of `deleted` (a file removed by the
/// change a hook checks, which kustomize would now fail to find).
pub(crate) fn lint(
    root: &Path,
    paths: Option<&[PathBuf]>,
    deleted: &[PathBuf],
    config: &Config,
    cache: bool,
) -> Report {
    let started = Instant::now();
    let given = paths.map(|paths| Given::new(root, paths));
    let wanted = |path: &Path| given.as_ref().is_none_or(|given| given.has(path));
    // A partial lint reads the files it is about, the kustomizations (any of them may
    // build those files) and what a check asks for. It checks the files it is about,
    // the kustomizations that list a deleted file, and the files that a kustomization
    // it is about builds (their images are what its overrides make them). What those
    // checks find in a file it is about, or cause there, is its finding.
    let reading = repo::Reading {
        read: given.as_ref(),
        cache,
    };
    let mut repo = Repo::load(root, paths.unwrap_or_default(), reading);
    // Which files of the tree are given, answered once for all of them.
    let marks = given.as_ref().map(|g| g.marks(&repo.files, |f| f.path.as_path()));
    let given_at = |i: usize| marks.as_ref().is_none_or(|m| m[i]);
    let listing_deleted: Vec<PathBuf> = deleted.iter().flat_map(|d| repo.listed_by(d)).collect();
    let built = repo.built_by(
        repo.kustomization_files()
            .filter(|(_, file)| paths.is_some() && wanted(file))
            .map(|(dir, _)| dir.to_path_buf()),
    );
    let checked: Vec<bool> = repo
        .files
        .iter()
        .enumerate()
        .map(|(i, file)| {
            given_at(i)
                || (!listing_deleted.is_empty() && listing_deleted.contains(&file.path))
                || (!built.is_empty() && built.contains(&file.path))
        })
        .collect();
    repo.parse_kustomizations_of(&checked);
    // Each file parsed (if it was not) as it is checked, its tree dropped after: the
    // memory held is the text of the repository, not its trees.
    // The largest files first, one at a time: a lock file or a bundle of CRDs of
    // half a megabyte takes longer than a hundred manifests, and found last (or two
    // of them in one thread's share) it would leave the other threads idle.
    let mut order: Vec<usize> = (0..repo.files.len()).filter(|&i| checked[i]).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(repo.files[i].source.text().len()));
    let (checked, secrets): (Vec<Vec<(usize, Finding)>>, Vec<Secrets>) = order
        .par_iter()
        .with_max_len(1)
        .map(|&i| {
            let file = &repo.files[i];
            let loaded = file.loaded(&repo.root);
            let parsed = loaded.parsed();
            let found = check_file(&repo, config, &parsed)
                .into_iter()
                .map(|f| (i, f))
                .collect();
            (found, (i, parsed.secrets.clone()))
        })
        .unzip();
    for (i, ranges) in secrets {
        repo.files[i].secrets = ranges;
    }
    let checked: Vec<(&Path, Finding)> = checked
        .into_iter()
        .flatten()
        .map(|(i, f)| (repo.files[i].path.as_path(), f))
        .collect();
    let key = |f: &Finding| (f.rule, f.path.clone(), f.pos.start, f.message.clone());
    // A finding in another file that a selected file causes (the kustomization
    // override that makes its image float) is one of its findings too.
    let caused: HashSet<_> = checked
        .iter()
        .filter(|(origin, _)| wanted(origin))
        .map(|(_, f)| key(f))
        .collect();
    // The same override can be reported through several manifests: keep one.
    let mut seen = HashSet::new();
    let findings: Vec<Finding> = checked
        .into_iter()
        .map(|(_, f)| f)
        .filter(|f| seen.insert(key(f)))
        .collect();

    let resolve = |name: &str| match rule::find(name) {
        Some(rule) => Some(rule.id().to_owned()),
        None => config.custom.iter().find(|c| c.id == name).map(|c| c.id.clone()),
    };
    let mut by_path: BTreeMap<PathBuf, Vec<Finding>> = BTreeMap::new();
    for f in findings {
        by_path.entry(f.path.clone()).or_default().push(f);
    }
    for (path, found) in &mut by_path {
        let Some(file) = repo.file(path) else { continue };
        for f in found.iter_mut().filter(|_| !file.secrets.is_empty()) {
            mask::message(f, file.source.text(), &file.secrets);
        }
    }
    for file in repo
        .files
        .iter()
        .filter(|f| f.source.text().contains("# ops:ignore"))
    {
        by_path.entry(file.path.clone()).or_default();
    }
    let mut findings = Vec::new();
    for (path, mut found) in by_path {
        if let Some(source) = repo.source(&path) {
            suppress::apply(&path, source.text(), &resolve, &mut found);
        }
        findings.extend(found);
    }
    settle(config, &mut findings);
    findings.retain(|f| wanted(&f.path) || listing_deleted.contains(&f.path) || caused.contains(&key(f)));
    findings.sort_by(|a, b| {
        (&a.path, a.pos.line, a.pos.column, a.rule).cmp(&(&b.path, b.pos.line, b.pos.column, b.rule))
    });
    Report {
        files_scanned: repo
            .files
            .iter()
            .enumerate()
            .filter(|(i, f)| f.unchecked.is_none() && (given_at(*i) || listing_deleted.contains(&f.path)))
            .count(),
        findings,
        duration: started.elapsed(),
        repo,
        custom_rules: config
            .custom
            .iter()
            .map(|c| (c.id.clone(), c.message.clone()))
            .collect(),
    }
}
