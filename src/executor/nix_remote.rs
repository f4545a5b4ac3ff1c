//! Where a Nix step builds and evaluates: Nix's own remote builders and stores.
//!
//! ```toml
//! [tasks.build-authentik]
//! nix-build = { file = "containers/authentik/default.nix",
//!               builders = "ssh://nix-builder.lan x86_64-linux - 4", max-jobs = 0 }
//!
//! # or for every Nix step of the repository (ops.toml) or of a file:
//! [settings]
//! nix = { builders = ["ssh://nix-builder.lan x86_64-linux - 4"], max-jobs = 0 }
//! ```
//!
//! | key | passed as | meaning |
//! |---|---|---|
//! | `builders` | `--builders` | Nix's machine specification: a string (entries separated by `;` or new lines) or a list of entries; `""` builds here only |
//! | `max-jobs` | `--max-jobs` | builds at once on this machine; `0` builds only on the builders; `"auto"` one per core |
//! | `store` | `--store` | the store to build in (`ssh-ng://host`, `daemon`, a path) |
//! | `eval-store` | `--eval-store` | the store that evaluation writes derivations to |
//!
//! A step's own key wins over its file's `[settings] nix`, which wins over the
//! repository's. Nothing of it is Nix configuration that `ops` reinvents: the build is
//! Nix's, its SSH options Nix's (`NIX_SSHOPTS`, `~/.ssh/config`), and `ops` only reads
//! back what happened: on which builder a derivation was built, and a builder that
//! could not be reached, by its name.

use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::{StepContext, StepError};

/// `builders`, `max-jobs`, `store` and `eval-store` as written.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawNixRemote {
    pub builders: Option<Spanned<RawBuilders>>,
    pub max_jobs: Option<Spanned<RawMaxJobs>>,
    pub store: Option<Spanned<String>>,
    pub eval_store: Option<Spanned<String>>,
}

/// One string, or a list of machine entries.
#[derive(Clone, Debug)]
pub(crate) struct RawBuilders(Vec<String>);

impl<'de> Deserialize<'de> for RawBuilders {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = RawBuilders;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(
                    "Nix's machine specification: \"ssh://builder x86_64-linux\", or a list of such entries",
                )
            }
            fn visit_str<E: serde::de::Error>(self, spec: &str) -> Result<RawBuilders, E> {
                Ok(RawBuilders(vec![spec.to_owned()]))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<RawBuilders, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = seq.next_element::<String>()? {
                    entries.push(entry);
                }
                Ok(RawBuilders(entries))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// A number of jobs, or `"auto"`.
#[derive(Clone, Debug)]
pub(crate) struct RawMaxJobs(String);

impl<'de> Deserialize<'de> for RawMaxJobs {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = RawMaxJobs;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a number of jobs (0 or more), or \"auto\"")
            }
            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<RawMaxJobs, E> {
                u32::try_from(n).map(|n| RawMaxJobs(n.to_string())).map_err(|_| {
                    E::custom(format!(
                        "{n} jobs: give 0 or more (0: build only on the builders)"
                    ))
                })
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<RawMaxJobs, E> {
                if s == "auto" {
                    Ok(RawMaxJobs(s.to_owned()))
                } else {
                    Err(E::custom(format!("`{s}`: give a number of jobs, or \"auto\"")))
                }
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// Where a Nix step builds: each key `None` when nothing says, so that a default applies.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) struct NixRemote {
    /// The machine entries (an empty list: build on this machine only).
    builders: Option<Vec<String>>,
    max_jobs: Option<String>,
    store: Option<String>,
    eval_store: Option<String>,
}

impl RawNixRemote {
    /// The settings, with `text` giving each string's value, and the problems found
    /// (where, what).
    pub(crate) fn resolve(
        &self,
        text: &mut dyn FnMut(&Spanned<String>) -> String,
    ) -> (NixRemote, Vec<(Range<usize>, String)>) {
        let mut problems = Vec::new();
        let builders = self.builders.as_ref().map(|raw| {
            let mut entries = Vec::new();
            for spec in &raw.get_ref().0 {
                let spec = text(&Spanned::new(raw.span(), spec.clone()));
                entries.extend(
                    spec.split(['\n', ';'])
                        .map(str::trim)
                        .filter(|e| !e.is_empty())
                        .map(str::to_owned),
                );
            }
            entries
        });
        let mut store_url = |value: &Option<Spanned<String>>, key: &str| {
            value.as_ref().map(|v| {
                let url = text(v);
                if url.trim().is_empty() {
                    problems.push((
                        v.span(),
                        format!("an empty `{key}`: leave the key out to use Nix's own"),
                    ));
                }
                url
            })
        };
        let store = store_url(&self.store, "store");
        let eval_store = store_url(&self.eval_store, "eval-store");
        let remote = NixRemote {
            builders,
            max_jobs: self.max_jobs.as_ref().map(|m| m.get_ref().0.clone()),
            store,
            eval_store,
        };
        (remote, problems)
    }

    /// [`RawNixRemote::resolve`] for a step, its problems reported there, and what it
    /// leaves open taken from the file's and the repository's `[settings] nix`.
    pub(super) fn for_step(&self, cx: &mut dyn super::Resolve) -> NixRemote {
        let (remote, problems) = self.resolve(&mut |s| cx.text(s));
        for (at, message) in problems {
            cx.invalid(at, message, "store", None);
        }
        remote.or(cx.nix_defaults())
    }

    /// The four keys as a step's own table holds them (`nix-build`, `nix-eval`).
    pub(super) fn of_step(
        builders: Option<&Spanned<RawBuilders>>,
        max_jobs: Option<&Spanned<RawMaxJobs>>,
        store: Option<&Spanned<String>>,
        eval_store: Option<&Spanned<String>>,
    ) -> Self {
        Self {
            builders: builders.cloned(),
            max_jobs: max_jobs.cloned(),
            store: store.cloned(),
            eval_store: eval_store.cloned(),
        }
    }
}

impl NixRemote {
    /// Each key that `self` leaves open taken from `default`.
    pub(crate) fn or(self, default: NixRemote) -> NixRemote {
        NixRemote {
            builders: self.builders.or(default.builders),
            max_jobs: self.max_jobs.or(default.max_jobs),
            store: self.store.or(default.store),
            eval_store: self.eval_store.or(default.eval_store),
        }
    }

    /// The flags of every Nix command of the step.
    pub(super) fn args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if let Some(builders) = &self.builders {
            args.extend(["--builders".into(), builders.join("; ")]);
        }
        if let Some(jobs) = &self.max_jobs {
            args.extend(["--max-jobs".into(), jobs.clone()]);
        }
        if let Some(store) = &self.store {
            args.extend(["--store".into(), store.clone()]);
        }
        if let Some(store) = &self.eval_store {
            args.extend(["--eval-store".into(), store.clone()]);
        }
        args
    }

    /// The store the outputs land in, when it is not this machine's default.
    pub(super) fn store(&self) -> Option<&str> {
        self.store.as_deref()
    }

    /// The builders by name: each entry's store URI (`ssh://` when it has no scheme).
    pub(super) fn builder_names(&self) -> Vec<String> {
        self.builders
            .iter()
            .flatten()
            .filter_map(|entry| entry.split_whitespace().next())
            .map(|uri| {
                if uri.contains("://") || uri.starts_with('@') {
                    uri.to_owned()
                } else {
                    format!("ssh://{uri}")
                }
            })
            .collect()
    }

    /// Where the build runs, in words, for `--dry-run`; nothing when Nix's own
    /// configuration decides.
    pub(super) fn describe(&self) -> Vec<String> {
        let mut lines = Vec::new();
        let names = self.builder_names();
        let only_remote = self.max_jobs.as_deref() == Some("0");
        match (names.is_empty(), only_remote, &self.builders) {
            (true, true, _) => lines.push(
                "builds nowhere here (max-jobs 0) and names no builder: Nix's configured builders take it"
                    .to_owned(),
            ),
            (true, false, Some(_)) => lines.push("builds on this machine only (builders = \"\")".into()),
            (true, false, None) => {}
            (false, true, _) => lines.push(format!("builds on {} only (max-jobs 0)", names.join(", "))),
            (false, false, _) => lines.push(format!(
                "builds on {}, or on this machine ({} jobs)",
                names.join(", "),
                self.max_jobs.as_deref().unwrap_or("Nix's max-jobs")
            )),
        }
        if let Some(store) = &self.store {
            lines.push(format!("store: {store}"));
        }
        if let Some(store) = &self.eval_store {
            lines.push(format!("eval store: {store}"));
        }
        lines
    }

    /// Ask each SSH builder whether it answers (`nix store ping`), for `--diff`. A
    /// builder that does not answer fails the check when the build could run nowhere
    /// else (`max-jobs = 0`); otherwise Nix would build here, and it is said.
    pub(super) async fn ping(&self, cx: &StepContext<'_>) -> Result<(), StepError> {
        let mut unreachable = Vec::new();
        for name in self.builder_names() {
            if let Some(file) = name.strip_prefix('@') {
                cx.report(format!("builders from the machines file {file}: not asked"));
                continue;
            }
            let args = [
                "--extra-experimental-features",
                "nix-command",
                "store",
                "ping",
                "--store",
                &name,
            ]
            .map(str::to_owned)
            .to_vec();
            match cx
                .run(&cx.spec("nix", args).quiet())
                .await?
                .check("nix store ping")
            {
                Ok(_) => cx.report(format!("builder {name}: answers")),
                Err(e) => {
                    let reason = e.stderr_tail().map_or_else(|| e.to_string(), last_reason);
                    cx.report(format!("builder {name} cannot be reached: {reason}"));
                    unreachable.push(format!("{name} ({reason})"));
                }
            }
        }
        if !unreachable.is_empty() && self.max_jobs.as_deref() == Some("0") {
            return Err(StepError::Failed(format!(
                "no builder can be reached and max-jobs is 0, so nothing could build: {}",
                unreachable.join("; ")
            )));
        }
        if !unreachable.is_empty() {
            cx.report("what those builders would build is built on this machine instead");
        }
        Ok(())
    }
}

/// The last `error:` line of a Nix command's stderr, or its last line.
fn last_reason(tail: &str) -> String {
    let lines: Vec<&str> = tail.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    lines
        .iter()
        .rev()
        .find(|l| !l.starts_with("error:") && !l.starts_with("Store URL:"))
        .or(lines.last())
        .map_or_else(String::new, |l| (*l).to_owned())
}

/// What Nix's stderr says about its builders, in `ops`'s words: builders that could
/// not be reached (`cannot build on 'URI': REASON`), derivations built remotely, and
/// a daemon that ignored the builders because the user is not trusted.
pub(super) fn builder_lines(stderr: &str) -> Vec<String> {
    let mut lines = Vec::new();
    for line in stderr.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("cannot build on '") {
            if let Some((uri, reason)) = rest.split_once("': ") {
                let reason = reason.strip_prefix("error: ").unwrap_or(reason);
                lines.push(format!("builder {uri} cannot be reached: {reason}"));
            }
        } else if let Some(rest) = line.strip_prefix("building '") {
            if let Some((drv, on)) = rest.split_once("' on '") {
                let uri = on.trim_end_matches("'...").trim_end_matches('\'');
                lines.push(format!("built {drv} on {uri}"));
            }
        } else if line.contains("ignoring the client-specified setting 'builders'")
            || line.contains("ignoring the client-specified setting 'max-jobs'")
        {
            lines.push(
                "the Nix daemon ignored the step's builders or max-jobs: this user is not one of its \
                 trusted-users (add it there, or set builders in the daemon's nix.conf)"
                    .to_owned(),
            );
        }
    }
    lines.dedup();
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remote(raw: &str) -> NixRemote {
        let raw: RawNixRemote = toml::from_str(raw).unwrap();
        let (remote, problems) = raw.resolve(&mut |s| s.get_ref().clone());
        assert!(problems.is_empty(), "{problems:?}");
        remote
    }

    #[test]
    fn a_string_and_a_list_give_the_same_flags() {
        let one = remote(r#"builders = "ssh://a x86_64-linux; ssh://b aarch64-linux""#);
        let list = remote(r#"builders = ["ssh://a x86_64-linux", "ssh://b aarch64-linux"]"#);
        assert_eq!(one, list);
        assert_eq!(
            one.args(),
            ["--builders", "ssh://a x86_64-linux; ssh://b aarch64-linux"]
        );
        assert_eq!(one.builder_names(), ["ssh://a", "ssh://b"]);
    }

    #[test]
    fn a_host_without_a_scheme_is_named_as_nix_reaches_it() {
        let r = remote(r#"builders = "nix-builder.lan x86_64-linux\n@/etc/nix/machines""#);
        assert_eq!(r.builder_names(), ["ssh://nix-builder.lan", "@/etc/nix/machines"]);
    }

    #[test]
    fn the_step_wins_key_by_key() {
        let step = remote("max-jobs = 0");
        let file = remote(
            r#"builders = "ssh://a"
max-jobs = 4
store = "daemon""#,
        );
        let merged = step.or(file);
        assert_eq!(
            merged.args(),
            ["--builders", "ssh://a", "--max-jobs", "0", "--store", "daemon"]
        );
        assert_eq!(
            merged.describe(),
            ["builds on ssh://a only (max-jobs 0)", "store: daemon"]
        );
    }

    #[test]
    fn an_empty_builders_builds_here() {
        let r = remote(r#"builders = """#).or(remote(r#"builders = "ssh://a""#));
        assert_eq!(r.args(), ["--builders", ""]);
        assert_eq!(r.describe(), ["builds on this machine only (builders = \"\")"]);
    }

    #[test]
    fn max_jobs_is_a_count_or_auto() {
        assert_eq!(remote(r#"max-jobs = "auto""#).args(), ["--max-jobs", "auto"]);
        let err = toml::from_str::<RawNixRemote>("max-jobs = -1").unwrap_err();
        assert!(err.to_string().contains("give 0 or more"), "{err}");
        let err = toml::from_str::<RawNixRemote>(r#"max-jobs = "many""#).unwrap_err();
        assert!(err.to_string().contains("or \"auto\""), "{err}");
    }

    #[test]
    fn nix_stderr_is_read_for_builders() {
        let stderr = "this derivation will be built:\n  /nix/store/x.drv\n\
            cannot build on 'ssh://dead': error: cannot connect to 'dead': ssh: connect to host 127.0.0.1 port 1: Connection refused\n\
            building '/nix/store/x.drv' on 'ssh://builder'...\n\
            warning: ignoring the client-specified setting 'builders', because it is a restricted setting and you are not a trusted user\n";
        assert_eq!(
            builder_lines(stderr),
            [
                "builder ssh://dead cannot be reached: cannot connect to 'dead': ssh: connect to host 127.0.0.1 port 1: Connection refused",
                "built /nix/store/x.drv on ssh://builder",
                "the Nix daemon ignored the step's builders or max-jobs: this user is not one of its trusted-users (add it there, or set builders in the daemon's nix.conf)",
            ]
        );
    }

    #[test]
    fn the_reason_of_a_failed_ping_is_its_cause() {
        let tail = "Store URL: ssh://dead\nssh: connect to host 127.0.0.1 port 1: Connection refused\nerror: cannot connect to 'dead'";
        assert_eq!(
            last_reason(tail),
            "ssh: connect to host 127.0.0.1 port 1: Connection refused"
        );
    }
}
