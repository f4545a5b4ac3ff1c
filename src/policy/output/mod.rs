//! Renderers for lint reports: human (miette-style), JSON, SARIF 2.1.0, reviewdog's
//! rdjson, and GitHub/Forgejo workflow commands.

mod github;
mod human;
mod json;
mod rdjson;
mod sarif;
mod snippet;

pub(crate) use github::render as github;
pub(crate) use human::render as human;
pub(crate) use json::{LintJson, render as json};
pub(crate) use rdjson::render as rdjson;
pub(crate) use sarif::render as sarif;

use std::path::Path;

/// A path as the reports show it: relative, with `/`.
pub(crate) fn shown(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}
