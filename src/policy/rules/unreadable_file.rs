use crate::policy::repo::ManifestFile;
use crate::policy::rule::{Context, Findings, Rule, declare_rule};
use crate::yaml::Pos;

declare_rule! {
    /// ## What it checks
    /// Every YAML file the lint finds (or is given) could be read: it is a regular
    /// file (not a FIFO, a socket or a device, which are never opened), it is at
    /// most 8 MiB (the size is checked before reading), and opening and reading it
    /// succeeded. A directory that cannot be listed is a finding as well. The
    /// finding points at the file; the other rules do not check it.
    ///
    /// ## Why
    /// A file the lint skipped in silence would pass as clean, and ArgoCD or
    /// kustomize would still try to use it. A limit on what is read keeps a huge or
    /// endless file from taking the memory and the time of the lint.
    ///
    /// ## Example
    /// ```text
    /// argocd/manifests/bundle.yaml   12 GiB, generated and never meant to be committed
    /// apps/app/pipe.yaml             a FIFO left behind by a script
    /// ```
    ///
    /// ## Fix
    /// Remove the file or make it readable; split a bundle that is really that big,
    /// or leave it out of the rule (`exclude` in `[rules.unreadable-file]`).
    pub struct UnreadableFile;
}

impl Rule for UnreadableFile {
    fn id(&self) -> &'static str {
        "unreadable-file"
    }
    fn code(&self) -> &'static str {
        "OPS008"
    }
    fn summary(&self) -> &'static str {
        "every YAML file can be read: a regular file of at most 8 MiB"
    }
    fn doc(&self) -> &'static str {
        Self::DOC
    }
    fn implied(&self) -> bool {
        true
    }

    fn check(&self, _cx: &Context<'_>, file: &ManifestFile, out: &mut Findings<'_>) {
        if let Some(why) = &file.unchecked {
            let start = Pos {
                line: 1,
                column: 1,
                start: 0,
                end: 0,
            };
            out.add(start, why.message(), Some(why.help()));
        }
    }
}
