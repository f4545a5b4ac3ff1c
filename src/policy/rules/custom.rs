use crate::policy::repo::ManifestFile;
use crate::policy::rule::{Context, Findings, Rule, declare_rule};

declare_rule! {
    /// ## What it checks
    /// The rules written in `policies/*.toml` as `[[custom]]` tables: a regular
    /// expression that must (`require`) or must not (`forbid`) match the values at a
    /// field path (`field = "spec.template.spec.containers[*].image"`) or, without
    /// `field`, the whole file. Each has its own `id`, `message`, `severity`
    /// (default error), `include` and `exclude`.
    ///
    /// ## Why
    /// A house rule ("no NodePort services", "images from our registry") is one
    /// table in the policy, reviewed with the repository, without writing Rust.
    ///
    /// ## Example
    /// ```toml
    /// [[custom]]
    /// id = "no-nodeport"
    /// message = "use an Ingress, not a NodePort"
    /// field = "spec.type"
    /// forbid = "^NodePort$"
    /// ```
    ///
    /// ## Fix
    /// What the custom rule's message says. `ops lint --rule ID` and
    /// `# ops:ignore ID -- reason` accept a custom rule's own id; `custom` (or
    /// `OPS900`) means every custom rule, and `[rules.custom]` settings apply to all
    /// of them.
    pub struct Custom;
}

impl Rule for Custom {
    fn id(&self) -> &'static str {
        "custom"
    }
    fn code(&self) -> &'static str {
        "OPS900"
    }
    fn summary(&self) -> &'static str {
        "a custom rule from policies/"
    }
    fn doc(&self) -> &'static str {
        Self::DOC
    }
    fn checks_files(&self) -> bool {
        false
    }

    /// The custom rules are checked one by one (`policy::custom`).
    fn check(&self, _cx: &Context<'_>, _file: &ManifestFile, _out: &mut Findings<'_>) {}
}
