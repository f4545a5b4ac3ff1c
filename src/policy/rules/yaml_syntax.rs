use crate::policy::repo::ManifestFile;
use crate::policy::rule::{Context, Findings, Rule, declare_rule};

declare_rule! {
    /// ## What it checks
    /// Every YAML file parses. A syntax error is a finding at the position the
    /// parser stopped, and the file is not checked by the other rules.
    ///
    /// ## Why
    /// ArgoCD and kustomize refuse a file that does not parse, and no other rule can
    /// say anything about it: a broken file must not pass the lint as clean.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   containers: [
    ///     - name: app        # a block entry inside a flow sequence
    /// ```
    ///
    /// ## Fix
    /// Correct the YAML. `ops lint --rule ID` reports syntax errors as well, since
    /// the named rules could not check the file.
    pub struct YamlSyntax;
}

impl Rule for YamlSyntax {
    fn id(&self) -> &'static str {
        "yaml-syntax"
    }
    fn code(&self) -> &'static str {
        "OPS007"
    }
    fn summary(&self) -> &'static str {
        "YAML files parse"
    }
    fn doc(&self) -> &'static str {
        Self::DOC
    }
    fn implied(&self) -> bool {
        true
    }

    fn check(&self, _cx: &Context<'_>, file: &ManifestFile, out: &mut Findings<'_>) {
        if let Err(e) = &file.docs {
            out.add(e.pos, format!("YAML syntax error: {}", e.message), None);
        }
    }
}
