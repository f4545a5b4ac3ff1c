//! `http-check`: check that services answer, concurrently, with retries — the
//! replacement for a `services-check` script of `curl -sf` lines.
//!
//! ```toml
//! [tasks.services-check]
//! http-check = { checks = [
//!   { name = "Authentik", url = "https://authentik.ops.example.net/-/health/live/", status = 200 },
//!   { name = "Grafana", url = "https://grafana.ops.example.net/api/health", body = '"database": "ok"' },
//! ], timeout = "5s", retries = 10, interval = "3s" }
//! ```
//!
//! | key | meaning |
//! |---|---|
//! | `checks` | `name`, `url`, `status` (default 200), `body` (a regex the body must match), `host` (a `Host` header, to check a virtual host through a proxy), `insecure` (accept any TLS certificate) |
//! | `timeout` | per request (default 5s) |
//! | `retries`, `interval` | attempts after the first failure of a check, and the wait between them (default 0 and 2s) |
//!
//! Checks only read, so `--diff` runs them too (once each: retries are for waiting
//! on a rollout, which `--diff` does not make). The step ends with a table of name,
//! result, latency and, for a failure, the reason (connection refused, timed out,
//! wrong status, body not matching); it fails when any check fails.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use serde::Deserialize;
use toml::Spanned;

use super::pattern::Pattern;
use super::{Applied, Diff, Executor, Resolve, StepContext, StepError, StepKind, StepPlan};
use crate::template::Template;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct Raw {
    #[serde(default)]
    checks: Vec<RawCheck>,
    timeout: Option<Spanned<String>>,
    retries: Option<u32>,
    interval: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawCheck {
    name: Option<Spanned<String>>,
    url: Spanned<String>,
    status: Option<u16>,
    body: Option<Spanned<String>>,
    host: Option<Spanned<String>>,
    #[serde(default)]
    insecure: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Check {
    pub name: String,
    pub url: Template,
    pub status: u16,
    pub body: Option<Pattern>,
    pub host: Option<Template>,
    pub insecure: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct HttpCheck {
    pub checks: Vec<Check>,
    pub timeout: Duration,
    pub retries: u32,
    pub interval: Duration,
}


/// The outcome of one check.
#[derive(Debug)]
struct Outcome {
    name: String,
    passed: bool,
    latency: Option<Duration>,
    reason: String,
    attempts: u32,
}

/// One request: `Ok(latency)` when status and body are as expected.
async fn attempt(
    client: &reqwest::Client,
    check: &Check,
    url: &str,
    host: Option<&str>,
    timeout: Duration,
) -> Result<Duration, String> {
    let started = Instant::now();
    let mut request = client.get(url);
    if let Some(host) = host {
        request = request.header(reqwest::header::HOST, host);
    }
    let response = request
        .send()
        .await
        .map_err(|e| crate::http::reason(&e, timeout))?;
    let status = response.status().as_u16();
    let body = response
        .text()
        .await
        .map_err(|e| crate::http::reason(&e, timeout))?;
    let latency = started.elapsed();
    if status != check.status {
        return Err(format!("status {status}, expected {}", check.status));
    }
    if let Some(pattern) = &check.body
        && !pattern.regex().is_match(&body)
    {
        return Err(format!("body does not match /{}/", pattern.as_str()));
    }
    Ok(latency)
}

impl HttpCheck {
    /// Run every check; `retries` is the step's own in apply, none in `--diff` (there
    /// is no rollout to wait for when nothing was applied).
    async fn run_all(&self, cx: &StepContext<'_>, retries: u32) -> Result<(), StepError> {
        let mut set = tokio::task::JoinSet::new();
        for (index, check) in self.checks.iter().enumerate() {
            let client = crate::http::client(self.timeout, check.insecure)
                .map_err(|e| StepError::Failed(format!("cannot build an HTTP client: {e}")))?;
            let check = check.clone();
            let url = check.url.render(cx.outputs);
            let host = check.host.as_ref().map(|h| h.render(cx.outputs));
            let (timeout, interval) = (self.timeout, self.interval);
            let cancel = cx.cancel.clone();
            set.spawn(async move {
                let mut attempts = 0;
                let outcome = loop {
                    attempts += 1;
                    let result = tokio::select! {
                        r = attempt(&client, &check, &url, host.as_deref(), timeout) => r,
                        () = cancel.cancelled() => Err("interrupted".to_owned()),
                    };
                    match result {
                        Ok(latency) => break (true, Some(latency), String::new()),
                        Err(reason) if attempts > retries || cancel.is_cancelled() => {
                            break (false, None, reason);
                        }
                        Err(_) => {
                            tokio::select! {
                                () = tokio::time::sleep(interval) => {}
                                () = cancel.cancelled() => {}
                            }
                        }
                    }
                };
                (
                    index,
                    Outcome {
                        name: check.name,
                        passed: outcome.0,
                        latency: outcome.1,
                        reason: outcome.2,
                        attempts,
                    },
                )
            });
        }
        let mut outcomes: Vec<(usize, Outcome)> = Vec::new();
        while let Some(joined) = set.join_next().await {
            if let Ok(outcome) = joined {
                outcomes.push(outcome);
            }
        }
        if cx.cancel.is_cancelled() {
            return Err(StepError::Process(crate::process::ProcessError::Cancelled));
        }
        outcomes.sort_by_key(|(i, _)| *i);
        let outcomes: Vec<Outcome> = outcomes.into_iter().map(|(_, o)| o).collect();
        for line in table(&outcomes) {
            cx.report(line);
        }
        let failed: Vec<String> = outcomes
            .iter()
            .filter(|o| !o.passed)
            .map(|o| format!("{} ({})", o.name, o.reason))
            .collect();
        if failed.is_empty() {
            Ok(())
        } else {
            Err(StepError::Failed(format!(
                "{} of {} checks failed: {}",
                failed.len(),
                outcomes.len(),
                failed.join(", ")
            )))
        }
    }
}

fn table(outcomes: &[Outcome]) -> Vec<String> {
    let width = outcomes
        .iter()
        .map(|o| o.name.chars().count())
        .max()
        .unwrap_or(4)
        .max(4);
    let mut lines = vec![format!(
        "{:<width$}  {:<6}  {:>8}  REASON",
        "NAME", "RESULT", "LATENCY"
    )];
    for o in outcomes {
        let latency = o
            .latency
            .map_or_else(|| "-".to_owned(), |l| format!("{}ms", l.as_millis()));
        let mut line = format!(
            "{:<width$}  {:<6}  {latency:>8}  {}",
            o.name,
            if o.passed { "ok" } else { "FAILED" },
            o.reason
        );
        if o.attempts > 1 {
            let _ = write!(line, " (after {} attempts)", o.attempts);
        }
        lines.push(line.trim_end().to_owned());
    }
    lines
}

impl StepKind for HttpCheck {
    const KEY: &'static str = "http-check";
    type Raw = Raw;
    const EXAMPLE: &'static str = r#"{ checks = [{ name = "app", url = "http://127.0.0.1:8080/" }] }"#;

    fn resolve(raw: &Spanned<Raw>, cx: &mut dyn Resolve) -> Option<Self> {
        let span = raw.span();
        let raw = raw.get_ref();
        if raw.checks.is_empty() {
            cx.invalid(
                span,
                format!("`http-check` of task `{}` has no checks", cx.task_name()),
                "no checks",
                Some("add `checks = [{ name = \"app\", url = \"https://…\" }]`".into()),
            );
            return None;
        }
        let checks = raw
            .checks
            .iter()
            .map(|c| Check {
                name: cx.text(c.name.as_ref().unwrap_or(&c.url)),
                url: cx.template(&c.url),
                status: c.status.unwrap_or(200),
                body: c.body.as_ref().and_then(|b| Pattern::resolve(b, cx)),
                host: c.host.as_ref().map(|h| cx.template(h)),
                insecure: c.insecure,
            })
            .collect();
        Some(HttpCheck {
            checks,
            timeout: raw
                .timeout
                .as_ref()
                .and_then(|t| cx.duration(t))
                .unwrap_or(Duration::from_secs(5)),
            retries: raw.retries.unwrap_or(0),
            interval: raw
                .interval
                .as_ref()
                .and_then(|t| cx.duration(t))
                .unwrap_or(Duration::from_secs(2)),
        })
    }
}

impl Executor for HttpCheck {
    /// Nothing beforehand: whether the services answer is what the step checks.
    fn needs(&self, _mode: crate::report::Mode, _dir: &std::path::Path) -> Vec<super::Need> {
        Vec::new()
    }

    fn plan(&self) -> StepPlan {
        let lines: Vec<String> = self
            .checks
            .iter()
            .map(|c| {
                let mut line = format!("GET {} → {}", c.url.display(), c.status);
                if let Some(p) = &c.body {
                    let _ = write!(line, ", body ~ /{}/", p.as_str());
                }
                line
            })
            .collect();
        StepPlan {
            check: Some(match lines.len() {
                1 => "1 HTTP check (read-only)".to_owned(),
                n => format!("{n} HTTP checks (read-only)"),
            }),
            lines,
        }
    }
    fn verifies(&self) -> bool {
        true
    }

    async fn diff(&self, cx: &StepContext<'_>) -> Result<Diff, StepError> {
        self.run_all(cx, 0).await.map(|()| Diff::NoChange)
    }

    async fn apply(&self, cx: &StepContext<'_>) -> Result<Applied, StepError> {
        self.run_all(cx, self.retries).await.map(|()| Applied::default())
    }
}
