//! `kube-job`: run a container to completion as a Kubernetes Job and judge its log.
//!
//! ```toml
//! [tasks.migrate-users]
//! kube-job = { context = "k3s-ringtail", namespace = "dex", image = "registry.example.net/dex-migrate@sha256:…",
//!              command = ["dex-migrate", "--from", "zitadel"], env = { LOG_FORMAT = "json" },
//!              secret-env = { DB_PASSWORD = { secret = "dex-db", key = "password" } },
//!              expect = '"total_failed":(?P<failed>0)', reject = '"level":"ERROR"', timeout = "20m", retries = 1 }
//! ```
//!
//! - Apply creates a `batch/v1` Job named after the task and the run: `retries` is
//!   its `backoffLimit` (default 0), `timeout` its `activeDeadlineSeconds` (default
//!   10m), `ttl` its `ttlSecondsAfterFinished` (default 24h), labels name the run and
//!   the task. It follows the pods' logs as they run (through the redactor, like any
//!   output), reads the exit code from the container's terminated state, and passes
//!   when the last pod exited 0, its log does not match `reject` and matches `expect`
//!   (named groups become outputs, with `job`, `pod` and `exit-code`). A pod that
//!   cannot start (an image that cannot be pulled, a missing Secret) fails the step
//!   at once rather than at the deadline.
//! - `keep = "on-failure"` (the default) deletes the Job when the step passed and
//!   keeps it, for `kubectl logs`, when it failed; `"never"` and `"always"` as said.
//!   A timeout or Ctrl-C deletes the Job (propagation Background) and says so.
//! - Secrets reach the pod only through `secret-env`, as `secretKeyRef`s: a `{{
//!   secrets.… }}` in `image`, `command` or `env` is refused when the files load, so
//!   no secret value is ever written into a Job.
//! - `--diff` creates the Job with `dryRun=All` and shows the object the server
//!   would store; `--dry-run` shows the Job from the task file.
//! - A `matrix` over a `kube-job` makes one Job per entry, each a task of its own
//!   (own log, verdict, outputs and journal line), run as `-j` allows. An Indexed Job
//!   would merge those into one log and one verdict, so it is not used.

use std::time::Duration;

use indexmap::IndexMap;
use serde::Deserialize;
use toml::Spanned;

use super::judge;
use super::pattern::Pattern;
use super::{Applied, Diff, Executor, Need, Needed, Resolve, StepContext, StepError, StepKind, StepPlan};
use crate::kube::job::{self, JobSpec, SecretKey};
use crate::kube::{Context, context};
use crate::report::Mode;
use crate::template::Template;
use crate::yaml;

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);
const DEFAULT_TTL: Duration = Duration::from_secs(24 * 3600);
/// How much of the log is judged (its end).
const LOG_CAPTURE: usize = 16 * 1024 * 1024;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct Raw {
    context: Option<Spanned<String>>,
    namespace: Option<Spanned<String>>,
    image: Option<Spanned<String>>,
    command: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    env: IndexMap<String, Spanned<String>>,
    #[serde(default)]
    secret_env: IndexMap<String, Spanned<RawSecretKey>>,
    expect: Option<Spanned<String>>,
    reject: Option<Spanned<String>>,
    timeout: Option<Spanned<String>>,
    retries: Option<u32>,
    ttl: Option<Spanned<String>>,
    keep: Option<Spanned<String>>,
    name: Option<Spanned<String>>,
    service_account: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSecretKey {
    secret: Spanned<String>,
    key: Spanned<String>,
}

/// When the Job is kept after the step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Keep {
    Never,
    OnFailure,
    Always,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct KubeJob {
    context: Context,
    namespace: String,
    /// The Job's name without the run's suffix.
    name: String,
    image: Template,
    command: Vec<Template>,
    env: Vec<(String, Template)>,
    secret_env: Vec<(String, SecretKey)>,
    service_account: Option<String>,
    expect: Option<Pattern>,
    reject: Option<Pattern>,
    timeout: Duration,
    retries: u32,
    ttl: Duration,
    keep: Keep,
}

impl StepKind for KubeJob {
    const KEY: &'static str = "kube-job";
    type Raw = Raw;
    const EXAMPLE: &'static str = r#"{ context = "k3s", image = "busybox:1.36", command = ["true"] }"#;

    fn resolve(raw: &Spanned<Raw>, cx: &mut dyn Resolve) -> Option<Self> {
        let span = raw.span();
        let raw = raw.get_ref();
        let (Some(context), Some(image), Some(command)) = (&raw.context, &raw.image, &raw.command) else {
            cx.invalid(
                span,
                format!("`kube-job` of task `{}` needs `context`, `image` and `command`", cx.task_name()),
                "incomplete",
                Some(r#"kube-job = { context = "k3s-ringtail", namespace = "app", image = "…@sha256:…", command = ["migrate"] }"#.into()),
            );
            return None;
        };
        if command.is_empty() {
            cx.invalid(span.clone(), "`command` of a kube-job is empty".into(), "empty", None);
        }
        let name = match &raw.name {
            Some(name) => cx.text(name),
            None => cx.task_name().to_owned(),
        };
        let keep = match raw.keep.as_ref().map(|k| (k.get_ref().as_str(), k.span())) {
            None | Some(("on-failure", _)) => Keep::OnFailure,
            Some(("never", _)) => Keep::Never,
            Some(("always", _)) => Keep::Always,
            Some((other, at)) => {
                cx.invalid(
                    at,
                    format!("`keep = \"{other}\"`: a Job is kept `never`, `on-failure` or `always`"),
                    "unknown",
                    None,
                );
                Keep::OnFailure
            }
        };
        let no_secret = |value: &Spanned<String>, cx: &mut dyn Resolve| {
            let template = cx.template(value);
            if template.secret_refs().next().is_some() {
                cx.invalid(
                    value.span(),
                    "a secret would be written into the Job's spec".into(),
                    "secret in a Job",
                    Some("give it to the pod with `secret-env = { NAME = { secret = \"…\", key = \"…\" } }`".into()),
                );
            }
            template
        };
        Some(Self {
            context: cx.context(context),
            namespace: raw.namespace.as_ref().map_or_else(|| "default".to_owned(), |n| cx.text(n)),
            name,
            image: no_secret(image, cx),
            command: command.iter().map(|c| no_secret(c, cx)).collect(),
            env: raw.env.iter().map(|(k, v)| (k.clone(), no_secret(v, cx))).collect(),
            secret_env: raw
                .secret_env
                .iter()
                .map(|(k, v)| {
                    let v = v.get_ref();
                    (k.clone(), SecretKey { secret: cx.text(&v.secret), key: cx.text(&v.key) })
                })
                .collect(),
            service_account: raw.service_account.as_ref().map(|s| cx.text(s)),
            expect: raw.expect.as_ref().and_then(|p| Pattern::resolve(p, cx)),
            reject: raw.reject.as_ref().and_then(|p| Pattern::resolve(p, cx)),
            timeout: raw.timeout.as_ref().and_then(|t| cx.duration(t)).unwrap_or(DEFAULT_TIMEOUT),
            retries: raw.retries.unwrap_or(0),
            ttl: raw.ttl.as_ref().and_then(|t| cx.duration(t)).unwrap_or(DEFAULT_TTL),
            keep,
        })
    }
}

impl KubeJob {
    /// The Job, its values rendered with what the run knows (`render`), named for the
    /// run `run` (`None`: a placeholder, for `--dry-run`).
    fn spec(&self, render: &dyn Fn(&Template) -> String, run: Option<(&str, &str)>) -> JobSpec {
        let (name, labels) = match run {
            Some((run_id, task)) => (
                job_name(&self.name, &format!("{run_id}/{task}/{:?}", std::time::SystemTime::now())),
                vec![
                    ("app.kubernetes.io/managed-by".to_owned(), "ops".to_owned()),
                    ("ops/run-id".to_owned(), label_value(run_id)),
                    ("ops/task".to_owned(), label_value(task)),
                ],
            ),
            None => (
                format!("{}-<run>", dns_label(&self.name, 57)),
                vec![("app.kubernetes.io/managed-by".to_owned(), "ops".to_owned())],
            ),
        };
        JobSpec {
            name,
            namespace: self.namespace.clone(),
            image: render(&self.image),
            command: self.command.iter().map(render).collect(),
            env: self.env.iter().map(|(k, v)| (k.clone(), render(v))).collect(),
            secret_env: self.secret_env.clone(),
            labels,
            service_account: self.service_account.clone(),
            backoff_limit: self.retries,
            deadline: self.timeout,
            ttl: self.ttl,
        }
    }

    fn run_spec(&self, cx: &StepContext<'_>) -> JobSpec {
        let var = |name: &str| cx.env.iter().rev().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str());
        self.spec(&|t: &Template| t.render(cx.outputs), Some((var("OPS_RUN_ID"), var("OPS_TASK"))))
    }

    fn describe(&self) -> String {
        format!("in namespace `{}`, context {}", self.namespace, self.context.describe())
    }

    /// Delete the Job, reporting it; a failure to delete is reported, not raised.
    async fn remove(&self, cx: &StepContext<'_>, client: &kube::Client, spec: &JobSpec, why: &str) {
        match job::delete(client, spec).await {
            Ok(()) => cx.report(format!("deleted Job {} (propagation Background): {why}", spec.name)),
            Err(e) => cx.report(format!("could not delete Job {}: {e}", spec.name)),
        }
    }

    /// Judge how the Job ended.
    fn verdict(&self, cx: &StepContext<'_>, ended: &job::Ended) -> Result<(), StepError> {
        let source = format!("the log of pod {}", ended.pod);
        if ended.exit_code != 0 {
            return Err(StepError::Failed(format!(
                "the Job failed: pod {} exited with code {}{}",
                ended.pod,
                ended.exit_code,
                judge::tail(&ended.log, "its log ended with")
            )));
        }
        judge::judge(&ended.log, self.expect.as_ref(), self.reject.as_ref(), "Job", "log", &source)
            .map_err(StepError::Failed)?
            .report(cx, "Job");
        Ok(())
    }
}

impl Executor for KubeJob {
    fn plan(&self) -> StepPlan {
        let spec = self.spec(&Template::display, None);
        let mut lines = vec![format!(
            "create Job `{}` {} and follow its log (timeout {})",
            spec.name,
            self.describe(),
            humantime::format_duration(self.timeout)
        )];
        lines.extend(yaml::print(&spec.object()).lines().map(|l| format!("  {l}")));
        if let Some(e) = &self.expect {
            lines.push(format!("expect /{}/", e.as_str()));
        }
        if let Some(r) = &self.reject {
            lines.push(format!("reject /{}/", r.as_str()));
        }
        StepPlan {
            lines,
            check: Some("create the Job with dryRun=All".into()),
        }
    }

    fn needs(&self, _mode: Mode, _dir: &std::path::Path) -> Vec<Need> {
        vec![Need::new("context", Needed::KubeContext(self.context.clone()))]
    }

    fn produces(&self) -> Vec<String> {
        let mut keys: Vec<String> = ["job", "pod", "exit-code"].map(String::from).to_vec();
        if let Some(expect) = &self.expect {
            keys.extend(expect.regex().capture_names().flatten().map(str::to_owned));
        }
        keys
    }

    async fn diff(&self, cx: &StepContext<'_>) -> Result<Diff, StepError> {
        let client = context::connect(&self.context, &cx.env).await?;
        let spec = self.run_spec(cx);
        let mut created = job::create(&client, &spec, true).await?;
        if let Some(meta) = created.get_mut("metadata").and_then(|m| m.as_object_mut()) {
            meta.remove("managedFields");
        }
        cx.report(format!("would create Job {} {}:", spec.name, self.describe()));
        for line in yaml::print(&created).lines() {
            cx.report(format!("  {line}"));
        }
        Ok(Diff::Changes)
    }

    async fn apply(&self, cx: &StepContext<'_>) -> Result<Applied, StepError> {
        let client = context::connect(&self.context, &cx.env).await?;
        let spec = self.run_spec(cx);
        job::create(&client, &spec, false).await?;
        cx.report(format!("created Job {} {}", spec.name, self.describe()));
        let session = cx.kube();
        let result = tokio::select! {
            ended = job::follow(&session, &client, &spec, LOG_CAPTURE) => ended.map_err(StepError::from),
            () = tokio::time::sleep(self.timeout) => {
                self.remove(cx, &client, &spec, "it ran past its timeout").await;
                return Err(StepError::Failed(format!(
                    "Job {} did not finish within {}",
                    spec.name,
                    humantime::format_duration(self.timeout)
                )));
            }
            () = cx.cancel.cancelled() => {
                self.remove(cx, &client, &spec, "the run was stopped").await;
                return Err(StepError::from(crate::kube::KubeError::Cancelled));
            }
        };
        let result = result.and_then(|ended| {
            cx.produce("job", spec.name.clone());
            cx.produce("pod", ended.pod.clone());
            cx.produce("exit-code", ended.exit_code.to_string());
            self.verdict(cx, &ended)
        });
        match (self.keep, &result) {
            (Keep::Never, _) | (Keep::OnFailure, Ok(())) => self.remove(cx, &client, &spec, "the step is over").await,
            (Keep::Always, _) | (Keep::OnFailure, Err(_)) => cx.report(format!(
                "kept Job {} (kubectl logs job/{} -n {}; it goes {} after it finished)",
                spec.name,
                spec.name,
                spec.namespace,
                humantime::format_duration(self.ttl)
            )),
        }
        result.map(|()| Applied::default())
    }
}

/// `name` as a DNS label of at most `max` characters: lower case, `-` for anything
/// else, no `-` at either end.
fn dns_label(name: &str, max: usize) -> String {
    let mut out = String::new();
    for c in name.chars() {
        let c = c.to_ascii_lowercase();
        let c = if c.is_ascii_alphanumeric() { c } else { '-' };
        if !(c == '-' && (out.is_empty() || out.ends_with('-'))) {
            out.push(c);
        }
    }
    out.truncate(max);
    let out = out.trim_end_matches('-').to_owned();
    if out.is_empty() { "job".to_owned() } else { out }
}

/// A Job name for one run of a task: its name and 5 characters that differ each time.
fn job_name(name: &str, salt: &str) -> String {
    let hash = blake3::hash(salt.as_bytes()).to_hex();
    format!("{}-{}", dns_label(name, 57), &hash[..5])
}

/// A label value: at most 63 of `[A-Za-z0-9._-]`, alphanumeric at both ends.
fn label_value(value: &str) -> String {
    let mapped: String = value
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '_' })
        .take(63)
        .collect();
    mapped.trim_matches(|c: char| !c.is_ascii_alphanumeric()).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_dns_labels_that_differ_by_run() {
        assert_eq!(dns_label("Migrate Users[prod]", 57), "migrate-users-prod");
        assert_eq!(dns_label("--", 57), "job");
        let long = "x".repeat(80);
        let name = job_name(&long, "a");
        assert_eq!(name.len(), 63);
        assert_ne!(job_name("m", "run-1"), job_name("m", "run-2"));
        assert!(job_name("m", "run-1").starts_with("m-"));
    }

    #[test]
    fn label_values_keep_only_what_kubernetes_allows() {
        assert_eq!(label_value("20261122T183012.345-4f2a"), "20261122T183012.345-4f2a");
        assert_eq!(label_value("dex:migrate[a=b]"), "dex_migrate_a_b");
        assert_eq!(label_value(&"y".repeat(70)).len(), 63);
    }
}
