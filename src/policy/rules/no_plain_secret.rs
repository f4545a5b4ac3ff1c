use crate::policy::repo::ManifestFile;
use crate::policy::rule::{Context, Findings, Rule, declare_rule};
use crate::yaml::Node;

declare_rule! {
    /// ## What it checks
    /// No `kind: Secret` with `data` or `stringData` is committed.
    ///
    /// ## Why
    /// Base64 is not encryption: a Secret in git is a leaked secret, in every clone
    /// and every fork, forever.
    ///
    /// ## Example
    /// ```yaml
    /// kind: Secret
    /// stringData:
    ///   password: hunter2
    /// ```
    ///
    /// ## Fix
    /// Keep the value in a secret store and commit an ExternalSecret (or a
    /// SealedSecret) that produces the Secret in the cluster.
    pub struct NoPlainSecret;
}

impl Rule for NoPlainSecret {
    fn id(&self) -> &'static str {
        "no-plain-secret"
    }
    fn code(&self) -> &'static str {
        "OPS006"
    }
    fn summary(&self) -> &'static str {
        "no Secret with data or stringData in the repository; use ExternalSecret or similar"
    }
    fn doc(&self) -> &'static str {
        Self::DOC
    }

    fn check(&self, _cx: &Context<'_>, file: &ManifestFile, out: &mut Findings<'_>) {
        for object in file.objects() {
            if object.get("kind").and_then(Node::as_str) != Some("Secret") {
                continue;
            }
            for key in ["data", "stringData"] {
                let found = object
                    .entries()
                    .iter()
                    .find(|(k, v)| k.as_str() == Some(key) && !v.entries().is_empty());
                if let Some((k, _)) = found {
                    out.add(
                        k.pos,
                        format!("a Secret with `{key}` committed to the repository"),
                        Some("commit an ExternalSecret (or SealedSecret) instead; rotate this secret"),
                    );
                }
            }
        }
    }
}
