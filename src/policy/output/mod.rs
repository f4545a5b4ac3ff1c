//! Renderers for lint reports: human (miette-style), JSON, SARIF 2.1.0, and
//! GitHub/Forgejo workflow commands.

mod github;
mod human;
mod json;
mod sarif;

pub use github::render as github;
pub use human::render as human;
pub use json::render as json;
pub use sarif::render as sarif;

use std::path::Path;

/// A path as the reports show it: relative, with `/`.
pub fn shown(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}
