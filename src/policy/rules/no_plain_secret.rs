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
    /// Not plain, so not reported: a Secret encrypted by SOPS (a `sops:` block, or
    /// values `ENC[AES256_GCM,…]`), and one whose values are only 1Password references
    /// (`op://vault/item/field`, resolved by an operator or `op inject`).
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
            if object.get("kind").and_then(Node::as_str) != Some("Secret") || object.get("sops").is_some() {
                continue;
            }
            for key in ["data", "stringData"] {
                let found = object
                    .entries()
                    .iter()
                    .find(|(k, v)| k.as_str() == Some(key) && !v.entries().is_empty() && !all_protected(v));
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

/// Whether every value is SOPS ciphertext or a 1Password reference.
fn all_protected(values: &Node) -> bool {
    values.entries().iter().all(|(_, v)| {
        v.as_str().is_some_and(|s| {
            let s = s.trim();
            (s.starts_with("ENC[") && s.ends_with(']'))
                || (s.starts_with("op://") && !s.contains(char::is_whitespace))
        })
    })
}
