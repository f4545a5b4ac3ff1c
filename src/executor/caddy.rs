//! `caddy`: the reverse proxy's routes, rendered into a Caddy config and loaded
//! through the admin API.
//!
//! ```toml
//! [tasks.caddy-routes]
//! caddy = { admin = "http://127.0.0.1:2019", listen = ":443", domain = "ops.example.net",
//!           routes = [{ host = "authentik", backend = "https://authentik.example.net" }] }
//! # or: routes-file = "caddy/routes.toml"   (a file holding `routes = [...]`)
//! ```
//!
//! | key | meaning |
//! |---|---|
//! | `admin` | the admin API (default `http://127.0.0.1:2019`) |
//! | `listen` | the address the server listens on (default `:443`) |
//! | `domain` | appended to hosts without a dot: `authentik` → `authentik.ops.example.net` |
//! | `routes` | `{ host, backend, name? }`; a backend is `host:port`, `http://…` or `https://…` |
//! | `routes-file` | a TOML file with the same `routes` list, read when the step runs |
//! | `tls` | automatic HTTPS (default: on unless `listen` ends in `:80` or another non-443 port) |
//!
//! - `--diff`: renders and validates the config (`caddy validate`, when Caddy is
//!   installed here), fetches the live one (`GET /config/`) and prints a unified diff.
//! - apply: the same, then `POST /load`, then a request for every host through the
//!   listener, which must not answer 502/503/504 (the backend is reachable).

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};
use toml::Spanned;

use super::{Applied, Diff, Executor, Need, Needed, Resolve, StepContext, StepError, StepKind, StepPlan};
use crate::process::ProcessError;
use crate::report::Mode;
use crate::template::Template;

const TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct Raw {
    admin: Option<Spanned<String>>,
    listen: Option<Spanned<String>>,
    domain: Option<Spanned<String>>,
    #[serde(default)]
    routes: Vec<RawRoute>,
    routes_file: Option<Spanned<String>>,
    tls: Option<bool>,
}

/// A route as the task file writes it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    name: Option<Spanned<String>>,
    host: Spanned<String>,
    backend: Spanned<String>,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq, Hash)]
#[serde(deny_unknown_fields)]
pub(super) struct Route {
    #[serde(default)]
    name: Option<String>,
    host: String,
    backend: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RoutesFile {
    routes: Vec<Route>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Caddy {
    admin: Template,
    listen: Template,
    domain: Option<Template>,
    routes: Vec<Route>,
    routes_file: Option<Template>,
    tls: Option<bool>,
}


/// Where a reverse-proxy backend is dialled, and whether it speaks TLS.
fn upstream(backend: &str) -> (String, bool) {
    if let Some(rest) = backend.strip_prefix("https://") {
        let host = rest.split('/').next().unwrap_or(rest);
        let dial = if host.contains(':') {
            host.to_owned()
        } else {
            format!("{host}:443")
        };
        (dial, true)
    } else {
        let rest = backend.strip_prefix("http://").unwrap_or(backend);
        let host = rest.split('/').next().unwrap_or(rest);
        let dial = if host.contains(':') {
            host.to_owned()
        } else {
            format!("{host}:80")
        };
        (dial, false)
    }
}

impl Caddy {
    fn routes(&self, cx: &StepContext<'_>) -> Result<Vec<Route>, StepError> {
        let Some(file) = &self.routes_file else {
            return Ok(self.routes.clone());
        };
        let path = cx.dir.join(file.render(cx.outputs));
        let text = std::fs::read_to_string(&path)
            .map_err(|e| StepError::Invalid(format!("cannot read {}: {e}", path.display())))?;
        toml::from_str::<RoutesFile>(&text)
            .map(|f| f.routes)
            .map_err(|e| StepError::Invalid(format!("{}: {}", path.display(), e.message())))
    }

    fn host(&self, cx: &StepContext<'_>, host: &str) -> String {
        match &self.domain {
            Some(domain) if !host.contains('.') => format!("{host}.{}", domain.render(cx.outputs)),
            _ => host.to_owned(),
        }
    }

    /// The Caddy JSON config for these routes.
    fn render(&self, cx: &StepContext<'_>) -> Result<(Value, Vec<String>), StepError> {
        let admin = self.admin.render(cx.outputs);
        let admin_listen = admin
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let listen = self.listen.render(cx.outputs);
        let tls = self.tls.unwrap_or_else(|| listen.ends_with(":443"));
        let mut hosts = Vec::new();
        let routes: Vec<Value> = self
            .routes(cx)?
            .iter()
            .map(|r| {
                let host = self.host(cx, &r.host);
                hosts.push(host.clone());
                let (dial, upstream_tls) = upstream(&r.backend);
                let mut handler = json!({"handler": "reverse_proxy", "upstreams": [{"dial": dial}]});
                if upstream_tls {
                    handler["transport"] = json!({"protocol": "http", "tls": {}});
                    handler["headers"] =
                        json!({"request": {"set": {"Host": ["{http.reverse_proxy.upstream.host}"]}}});
                }
                json!({"match": [{"host": [host]}], "handle": [handler], "terminal": true})
            })
            .collect();
        let mut server = json!({"listen": [listen], "routes": routes});
        if !tls {
            server["automatic_https"] = json!({"disable": true});
        }
        let config = json!({
            "admin": {"listen": admin_listen},
            "apps": {"http": {"servers": {"ops": server}}},
        });
        Ok((config, hosts))
    }

    /// `caddy validate` on the rendered config, when Caddy is installed here.
    async fn validate(&self, cx: &StepContext<'_>, config: &Value) -> Result<(), StepError> {
        let file = tempfile::Builder::new()
            .prefix("ops-caddy")
            .suffix(".json")
            .tempfile()
            .map_err(|e| StepError::Failed(format!("cannot write the rendered config: {e}")))?;
        std::fs::write(file.path(), serde_json::to_vec_pretty(config).unwrap_or_default())
            .map_err(|e| StepError::Failed(format!("cannot write the rendered config: {e}")))?;
        let args = vec![
            "validate".into(),
            "--config".into(),
            file.path().display().to_string(),
        ];
        match cx.run(&cx.spec("caddy", args).quiet()).await {
            Ok(output) if output.success() => {
                cx.report("caddy validate: the rendered config is valid");
                Ok(())
            }
            Ok(output) => Err(StepError::Invalid(format!(
                "caddy validate rejected the rendered config: {}",
                output
                    .stderr_tail
                    .lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("")
                    .trim()
            ))),
            Err(ProcessError::NotFound { .. }) => {
                cx.report("caddy is not installed here: the admin API validates the config when it loads it");
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn live(&self, cx: &StepContext<'_>, client: &reqwest::Client) -> Result<Value, StepError> {
        let admin = self.admin.render(cx.outputs);
        let url = format!("{}/config/", admin.trim_end_matches('/'));
        let response = client.get(&url).send().await.map_err(|e| {
            StepError::Failed(format!(
                "the Caddy admin API at {admin} is not reachable: {}",
                crate::http::reason(&e, TIMEOUT)
            ))
        })?;
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(StepError::Failed(format!("GET {url}: {status}: {}", body.trim())));
        }
        Ok(serde_json::from_str(&body).unwrap_or(Value::Null))
    }

    fn client() -> Result<reqwest::Client, StepError> {
        crate::http::client(TIMEOUT, false)
            .map_err(|e| StepError::Failed(format!("cannot build an HTTP client: {e}")))
    }

    /// Print the unified diff between the live and the rendered config; `true` if they differ.
    fn report_diff(cx: &StepContext<'_>, live: &Value, rendered: &Value) -> bool {
        if live == rendered {
            cx.report("the live config is the rendered one");
            return false;
        }
        let pretty = |v: &Value| {
            if v.is_null() {
                String::new()
            } else {
                serde_json::to_string_pretty(v).unwrap_or_default() + "\n"
            }
        };
        let (old, new) = (pretty(live), pretty(rendered));
        let diff = similar::TextDiff::from_lines(&old, &new);
        for line in diff
            .unified_diff()
            .context_radius(3)
            .header("live", "rendered")
            .to_string()
            .lines()
        {
            cx.report(line);
        }
        true
    }
}

impl StepKind for Caddy {
    const KEY: &'static str = "caddy";
    type Raw = Raw;
    const EXAMPLE: &'static str = r#"{ admin = "http://127.0.0.1:2019", listen = ":443", domain = "example.net", routes = [{ host = "app", backend = "http://127.0.0.1:8080" }] }"#;

    fn resolve(raw: &Spanned<Raw>, cx: &mut dyn Resolve) -> Option<Self> {
        let span = raw.span();
        let raw = raw.get_ref();
        if raw.routes.is_empty() == raw.routes_file.is_none() {
            cx.invalid(
                span,
                format!(
                    "`caddy` of task `{}` needs `routes` or `routes-file` (one of them)",
                    cx.task_name()
                ),
                "routes",
                None,
            );
            return None;
        }
        let routes = raw
            .routes
            .iter()
            .map(|r| Route {
                name: r.name.as_ref().map(|n| cx.text(n)),
                host: cx.text(&r.host),
                backend: cx.text(&r.backend),
            })
            .collect();
        Some(Caddy {
            admin: raw
                .admin
                .as_ref()
                .map_or_else(|| Template::literal("http://127.0.0.1:2019"), |a| cx.template(a)),
            listen: raw
                .listen
                .as_ref()
                .map_or_else(|| Template::literal(":443"), |l| cx.template(l)),
            domain: raw.domain.as_ref().map(|d| cx.template(d)),
            routes,
            routes_file: raw.routes_file.as_ref().map(|f| cx.template(f)),
            tls: raw.tls,
        })
    }
}

impl Executor for Caddy {
    /// The routes file; for apply, the admin API too (`--diff` without it shows the
    /// config it would load). `caddy` itself is optional: it validates when present.
    fn needs(&self, mode: Mode, _dir: &std::path::Path) -> Vec<Need> {
        let mut needs: Vec<Need> = self
            .routes_file
            .iter()
            .filter_map(|file| Need::file_of("routes-file", file))
            .collect();
        if mode == Mode::Apply
            && let Some(admin) = self.admin.known()
        {
            needs.push(Need::new("admin", Needed::CaddyAdmin(admin)));
        }
        needs
    }

    fn plan(&self) -> StepPlan {
        let admin = self.admin.display();
        let mut lines: Vec<String> = self
            .routes
            .iter()
            .map(|r| format!("route {} → {}", r.host, r.backend))
            .collect();
        if let Some(file) = &self.routes_file {
            lines.push(format!("routes from {}", file.display()));
        }
        lines.push(format!("POST {admin}/load (listen {})", self.listen.display()));
        StepPlan {
            lines,
            check: Some(format!("diff against GET {admin}/config/")),
        }
    }
    async fn diff(&self, cx: &StepContext<'_>) -> Result<Diff, StepError> {
        if let Some(file) = &self.routes_file {
            let file = file.render(cx.outputs);
            if !cx.dir.join(&file).exists() {
                return Ok(Diff::Unknown(format!(
                    "the routes file {file} does not exist yet (a step before this one writes it)"
                )));
            }
        }
        let (rendered, _) = self.render(cx)?;
        self.validate(cx, &rendered).await?;
        let live = match self.live(cx, &Self::client()?).await {
            Ok(live) => live,
            Err(e) => {
                // Without a running Caddy there is nothing to compare with: show the
                // config it would load, and say why the diff is unknown.
                Self::report_diff(cx, &Value::Null, &rendered);
                return Ok(Diff::Unknown(format!("{e}; the config it would load is shown")));
            }
        };
        Ok(if Self::report_diff(cx, &live, &rendered) {
            Diff::Changes
        } else {
            Diff::NoChange
        })
    }

    async fn apply(&self, cx: &StepContext<'_>) -> Result<Applied, StepError> {
        let (rendered, hosts) = self.render(cx)?;
        self.validate(cx, &rendered).await?;
        let client = Self::client()?;
        let live = self.live(cx, &client).await?;
        if Self::report_diff(cx, &live, &rendered) {
            let admin = self.admin.render(cx.outputs);
            let url = format!("{}/load", admin.trim_end_matches('/'));
            let response = client
                .post(&url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(rendered.to_string())
                .send()
                .await
                .map_err(|e| {
                    StepError::Failed(format!("POST {url}: {}", crate::http::reason(&e, TIMEOUT)))
                })?;
            let status = response.status();
            if !status.is_success() {
                let body = response.text().await.unwrap_or_default();
                return Err(StepError::Failed(format!(
                    "Caddy refused the config ({status}): {}",
                    body.trim()
                )));
            }
            cx.report("loaded the config through the admin API");
        }
        self.check_hosts(cx, &hosts).await?;
        Ok(Applied::default())
    }
}

impl Caddy {
    /// Every host must answer through the listener with something other than a
    /// gateway error (which means Caddy cannot reach the backend).
    async fn check_hosts(&self, cx: &StepContext<'_>, hosts: &[String]) -> Result<(), StepError> {
        let listen = self.listen.render(cx.outputs);
        let (address, port) = listen.rsplit_once(':').unwrap_or(("", listen.as_str()));
        let address = if address.is_empty() || address == "0.0.0.0" {
            "127.0.0.1"
        } else {
            address
        };
        let tls = self.tls.unwrap_or_else(|| listen.ends_with(":443"));
        let scheme = if tls { "https" } else { "http" };
        let mut failed = Vec::new();
        for host in hosts {
            let socket: std::net::SocketAddr = format!("{address}:{port}").parse().map_err(|_| {
                StepError::Failed(format!("cannot check hosts through listen address `{listen}`"))
            })?;
            let client = reqwest::Client::builder()
                .timeout(TIMEOUT)
                .resolve(host, socket)
                .tls_danger_accept_invalid_certs(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|e| StepError::Failed(format!("cannot build an HTTP client: {e}")))?;
            let url = format!("{scheme}://{host}:{port}/");
            match client.get(&url).send().await {
                Ok(r) if matches!(r.status().as_u16(), 502..=504) => {
                    failed.push(format!("{host} ({}: Caddy cannot reach the backend)", r.status()));
                }
                Ok(r) => cx.report(format!("{host} answers through Caddy ({})", r.status())),
                Err(e) => failed.push(format!("{host} ({})", crate::http::reason(&e, TIMEOUT))),
            }
        }
        if failed.is_empty() {
            Ok(())
        } else {
            Err(StepError::Failed(format!(
                "not answering through Caddy: {}",
                failed.join(", ")
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::upstream;

    #[test]
    fn upstreams_from_backends() {
        assert_eq!(upstream("127.0.0.1:9000"), ("127.0.0.1:9000".into(), false));
        assert_eq!(
            upstream("http://127.0.0.1:3000"),
            ("127.0.0.1:3000".into(), false)
        );
        assert_eq!(
            upstream("https://authentik.example.net"),
            ("authentik.example.net:443".into(), true)
        );
        assert_eq!(upstream("http://grafana/"), ("grafana:80".into(), false));
    }
}
