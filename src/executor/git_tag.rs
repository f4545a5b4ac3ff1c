//! `git-tag`: create a release tag and push it.
//!
//! ```toml
//! [tasks.release-authentik]
//! git-tag = { tag = "authentik-v{{ version }}", message = "Authentik {{ version }}", push = "origin" }
//! ```
//!
//! | key | meaning |
//! |---|---|
//! | `tag` | the tag name |
//! | `message` | the annotation (default `Release TAG`) |
//! | `ref` | what to tag (default `HEAD`) |
//! | `push` | the remote to push the tag to (default, or empty: no push) |
//! | `require-clean` | refuse when the working tree has uncommitted changes (default `true`) |
//! | `force` | move an existing tag that points elsewhere (default `false`) |
//!
//! Idempotent: a tag that already points at the commit (locally and on the remote)
//! is no change. A tag that points elsewhere is an error naming both commits; it
//! is never moved unless `force = true`.
//! - `--diff`: where the tag is, locally and on the remote, against the commit.
//! - apply: `git tag -a`, then `git push REMOTE refs/tags/TAG`; produces `tag` and `commit`.

use serde::Deserialize;
use toml::Spanned;

use super::{Applied, Diff, Executor, Need, Resolve, StepContext, StepError, StepKind, StepPlan};
use crate::report::Mode;
use crate::template::Template;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct Raw {
    tag: Option<Spanned<String>>,
    message: Option<Spanned<String>>,
    #[serde(rename = "ref")]
    target: Option<Spanned<String>>,
    push: Option<Spanned<String>>,
    require_clean: Option<bool>,
    force: Option<bool>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct GitTag {
    tag: Template,
    message: Option<Template>,
    target: Template,
    push: Option<Template>,
    require_clean: bool,
    force: bool,
}


/// Where things stand before tagging.
struct State {
    tag: String,
    commit: String,
    local: Option<String>,
    remote: Option<String>,
    dirty: bool,
}

impl GitTag {
    async fn git(cx: &StepContext<'_>, args: &[&str]) -> Result<crate::process::Output, StepError> {
        let args = args.iter().map(|a| (*a).to_owned()).collect();
        Ok(cx.run(&cx.spec("git", args).quiet()).await?)
    }

    async fn state(&self, cx: &StepContext<'_>) -> Result<State, StepError> {
        let tag = self.tag.render(cx.outputs);
        let target = self.target.render(cx.outputs);
        let commit = Self::git(cx, &["rev-parse", "--verify", &format!("{target}^{{commit}}")])
            .await?
            .check("git rev-parse")?
            .stdout_tail
            .trim()
            .to_owned();
        let local = Self::git(
            cx,
            &[
                "rev-parse",
                "-q",
                "--verify",
                &format!("refs/tags/{tag}^{{commit}}"),
            ],
        )
        .await?;
        let local = local.success().then(|| local.stdout_tail.trim().to_owned());
        let remote = match &self.push {
            Some(remote) => {
                let remote = remote.render(cx.outputs);
                let peeled = format!("refs/tags/{tag}^{{}}");
                let listed = Self::git(
                    cx,
                    &[
                        "ls-remote",
                        "--tags",
                        &remote,
                        &format!("refs/tags/{tag}"),
                        &peeled,
                    ],
                )
                .await?
                .check("git ls-remote")?;
                // An annotated tag is listed twice; the peeled line names the commit.
                let mut found = None;
                for line in listed.stdout_tail.lines() {
                    if let Some((sha, name)) = line.split_once('\t')
                        && (name == peeled || found.is_none())
                    {
                        found = Some(sha.to_owned());
                    }
                }
                found
            }
            None => None,
        };
        let dirty = if self.require_clean {
            !Self::git(cx, &["status", "--porcelain", "--untracked-files=no"])
                .await?
                .check("git status")?
                .stdout_tail
                .trim()
                .is_empty()
        } else {
            false
        };
        Ok(State {
            tag,
            commit,
            local,
            remote,
            dirty,
        })
    }

    /// Refuse what apply would refuse, with the reason.
    fn refusal(&self, s: &State) -> Option<String> {
        if s.dirty {
            return Some(format!(
                "the working tree has uncommitted changes; commit them before tagging {} (or set require-clean = false)",
                s.tag
            ));
        }
        for (place, sha) in [("locally", &s.local), ("on the remote", &s.remote)] {
            if let Some(sha) = sha.as_ref().filter(|sha| **sha != s.commit && !self.force) {
                return Some(format!(
                    "tag {} already exists {place} at {}, not at {} ({}); a release tag is never moved (set force = true to move it)",
                    s.tag,
                    short(sha),
                    short(&s.commit),
                    self.target.display()
                ));
            }
        }
        None
    }
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

impl StepKind for GitTag {
    const KEY: &'static str = "git-tag";
    type Raw = Raw;
    const EXAMPLE: &'static str = r#"{ tag = "v1" }"#;

    fn resolve(raw: &Spanned<Raw>, cx: &mut dyn Resolve) -> Option<Self> {
        let Some(tag) = raw.get_ref().tag.as_ref() else {
            cx.invalid(
                raw.span(),
                format!("`git-tag` of task `{}` has no `tag`", cx.task_name()),
                "tag missing",
                Some("name the tag: `git-tag = { tag = \"app-v{{ version }}\" }`".into()),
            );
            return None;
        };
        let raw = raw.get_ref();
        Some(GitTag {
            tag: cx.template(tag),
            message: raw.message.as_ref().map(|m| cx.template(m)),
            target: raw
                .target
                .as_ref()
                .map_or_else(|| Template::literal("HEAD"), |t| cx.template(t)),
            // An empty remote (`push = "{{ remote }}"` with `remote = ""`) means no push.
            push: raw
                .push
                .as_ref()
                .map(|p| cx.template(p))
                .filter(|t| !t.display().is_empty()),
            require_clean: raw.require_clean.unwrap_or(true),
            force: raw.force.unwrap_or(false),
        })
    }
}

impl Executor for GitTag {
    fn needs(&self, _mode: Mode, _dir: &std::path::Path) -> Vec<Need> {
        vec![Need::program(Self::KEY, "git")]
    }

    fn produces(&self) -> Vec<String> {
        ["tag", "commit"].map(String::from).to_vec()
    }

    fn plan(&self) -> StepPlan {
        let tag = self.tag.display();
        let mut lines = vec![format!("$ git tag -a {tag} {}", self.target.display())];
        if let Some(remote) = &self.push {
            lines.push(format!("$ git push {} refs/tags/{tag}", remote.display()));
        }
        StepPlan {
            lines,
            check: Some(format!("where tag {tag} points, locally and on the remote")),
        }
    }
    async fn diff(&self, cx: &StepContext<'_>) -> Result<Diff, StepError> {
        let s = self.state(cx).await?;
        cx.produce("tag", s.tag.as_str());
        cx.produce("commit", s.commit.as_str());
        if let Some(reason) = self.refusal(&s) {
            if s.dirty {
                // Apply would refuse now, but a step before it may commit the changes.
                return Ok(Diff::Unknown(reason));
            }
            return Err(StepError::Invalid(reason));
        }
        let here = short(&s.commit);
        let mut changes = false;
        match &s.local {
            Some(sha) if *sha == s.commit => cx.report(format!("tag {} exists at {here}", s.tag)),
            Some(sha) => {
                cx.report(format!(
                    "would move tag {} from {} to {here} (force)",
                    s.tag,
                    short(sha)
                ));
                changes = true;
            }
            None => {
                cx.report(format!("would create tag {} at {here}", s.tag));
                changes = true;
            }
        }
        if let Some(remote) = &self.push {
            let remote = remote.render(cx.outputs);
            if s.remote.as_deref() == Some(s.commit.as_str()) {
                cx.report(format!("{remote} has tag {} at {here}", s.tag));
            } else {
                cx.report(format!("would push tag {} to {remote}", s.tag));
                changes = true;
            }
        }
        Ok(if changes { Diff::Changes } else { Diff::NoChange })
    }

    async fn apply(&self, cx: &StepContext<'_>) -> Result<Applied, StepError> {
        let s = self.state(cx).await?;
        if let Some(reason) = self.refusal(&s) {
            return Err(StepError::Invalid(reason));
        }
        if s.local.as_deref() != Some(s.commit.as_str()) {
            let message = self
                .message
                .as_ref()
                .map_or_else(|| format!("Release {}", s.tag), |m| m.render(cx.outputs));
            let mut args = vec!["tag", "-a", &s.tag, "-m", &message];
            if self.force {
                args.push("-f");
            }
            args.push(&s.commit);
            Self::git(cx, &args).await?.check("git tag")?;
            cx.report(format!("created tag {} at {}", s.tag, short(&s.commit)));
        }
        if let Some(remote) = &self.push {
            let remote = remote.render(cx.outputs);
            if s.remote.as_deref() != Some(s.commit.as_str()) {
                let refspec = format!("refs/tags/{}", s.tag);
                let mut args = vec!["push", &remote, &refspec];
                if self.force {
                    args.insert(1, "--force");
                }
                Self::git(cx, &args).await?.check("git push")?;
                cx.report(format!("pushed tag {} to {remote}", s.tag));
            }
        }
        Ok(Applied {
            outputs: vec![("tag".into(), s.tag), ("commit".into(), s.commit)],
        })
    }
}
