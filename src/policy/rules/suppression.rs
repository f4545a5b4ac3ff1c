use crate::policy::repo::ManifestFile;
use crate::policy::rule::{Context, Findings, Rule, declare_rule};

declare_rule! {
    /// ## What it checks
    /// Suppression comments (`# ops:ignore RULE -- reason` on a finding's line or
    /// the line above, `# ops:ignore-file RULE -- reason` at the top of a file) name
    /// rules that exist (by id or code, or a custom rule's id), give a reason, and
    /// `ops:ignore-file` stands above the first line of YAML. An unknown rule or a
    /// suppression naming none is an error; a missing reason or a misplaced
    /// `ops:ignore-file` is a warning.
    ///
    /// ## Why
    /// A suppression with a typo silences nothing while looking like it does, and
    /// one without a reason cannot be reviewed or removed later.
    ///
    /// ## Example
    /// ```yaml
    /// image: vendor/tool # ops:ignore pinned-imag
    /// ```
    ///
    /// ## Fix
    /// Name the rule correctly and say why:
    /// `# ops:ignore pinned-image -- upstream publishes no tags` (or `OPS001`).
    pub struct Suppression;
}

impl Rule for Suppression {
    fn id(&self) -> &'static str {
        "suppression"
    }
    fn code(&self) -> &'static str {
        "OPS000"
    }
    fn summary(&self) -> &'static str {
        "suppression comments name known rules and give a reason"
    }
    fn doc(&self) -> &'static str {
        Self::DOC
    }
    fn implied(&self) -> bool {
        true
    }
    fn checks_files(&self) -> bool {
        false
    }

    /// The findings are made where suppressions are applied (`policy::suppress`).
    fn check(&self, _cx: &Context<'_>, _file: &ManifestFile, _out: &mut Findings<'_>) {}
}
