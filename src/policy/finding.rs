//! A finding: a rule, a place, a message.

use std::path::PathBuf;

use serde::Serialize;

use crate::yaml::Pos;

#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Error => "error",
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Finding {
    pub rule: &'static str,
    pub code: &'static str,
    pub severity: Severity,
    /// Relative to the root.
    pub path: PathBuf,
    pub pos: Pos,
    pub message: String,
    pub help: Option<String>,
    /// The id of the custom rule behind a finding of `custom`.
    pub(crate) custom: Option<String>,
}

impl Finding {
    /// The id the finding is reported under: its custom rule's, or its rule's.
    pub(crate) fn id(&self) -> &str {
        self.custom.as_deref().unwrap_or(self.rule)
    }
}
