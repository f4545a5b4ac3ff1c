//! `cnpg-role`: a managed role in a CloudNativePG `Cluster` manifest of the repository.
//!
//! ```toml
//! [tasks.authentik-db-role]
//! cnpg-role = { cluster = "argocd/manifests/databases/homelab-pg.yaml",
//!               role = { name = "authentik", login = true, createdb = true, password-secret = "homelab-pg-authentik" },
//!               verify = { host = "127.0.0.1", port = 5432, user = "postgres", password-env = "PGPASSWORD" } }
//! ```
//!
//! - The role goes under `spec.managed.roles`: added after the last role, with the
//!   indentation of its siblings, or updated attribute by attribute. Every other byte
//!   of the file (comments, order, quoting) stays as it was; the file is written to a
//!   temporary file next to it and renamed. Running it again changes nothing.
//! - Role keys: `name`, `login`, `superuser`, `createdb`, `createrole`, `inherit`,
//!   `replication`, `bypassrls`, `connection-limit`, `ensure` (default `present`),
//!   `password-secret`, `comment`.
//! - `--diff`: the unified diff of the manifest. `--dry-run`: the file and the role.
//! - `verify`: after apply, connects to PostgreSQL and checks `pg_roles` for the role
//!   and its attributes (login, createdb, superuser, …), as a deployment checklist asks.
//!   Keys: `host`, `port`, `user`, `dbname`, `password-env`, `hostaddr`, and TLS as
//!   libpq has it: `sslmode` (`disable`, `prefer` by default, `require`, `verify-ca`,
//!   `verify-full`) and `sslrootcert` (see [`crate::pg`]).

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::{Applied, Diff, Executor, Need, Needed, Resolve, StepContext, StepError, StepKind, StepPlan};
use crate::report::Mode;
use crate::template::Template;
use crate::yaml::{self, Kind, Node};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct Raw {
    cluster: Option<Spanned<String>>,
    role: Option<RawRole>,
    verify: Option<RawVerify>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawRole {
    name: Spanned<String>,
    login: Option<bool>,
    superuser: Option<bool>,
    createdb: Option<bool>,
    createrole: Option<bool>,
    inherit: Option<bool>,
    replication: Option<bool>,
    bypassrls: Option<bool>,
    connection_limit: Option<i64>,
    ensure: Option<Spanned<String>>,
    password_secret: Option<Spanned<String>>,
    comment: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawVerify {
    host: Option<Spanned<String>>,
    port: Option<Spanned<Port>>,
    user: Option<Spanned<String>>,
    dbname: Option<Spanned<String>>,
    password_env: Option<Spanned<String>>,
    /// Where to connect when `host` is the name the server's certificate names.
    hostaddr: Option<Spanned<String>>,
    sslmode: Option<Spanned<String>>,
    /// CA certificates (PEM), relative to the task's directory.
    sslrootcert: Option<Spanned<String>>,
}

/// A port as a number, or as text that may name a variable (`"{{ pg_port }}"`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Port {
    Number(u16),
    Text(String),
}

/// One attribute of a role: its key in the manifest and its value as YAML text.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Attribute {
    key: &'static str,
    yaml: String,
    /// The `pg_roles` column that shows it, and the value expected there.
    pg: Option<(&'static str, String)>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct Verify {
    host: String,
    port: u16,
    user: String,
    dbname: String,
    password_env: Option<String>,
    hostaddr: Option<String>,
    tls: crate::pg::Tls,
}

impl Verify {
    /// `host:port`, and the address connected to when it is not the host.
    fn address(&self) -> String {
        match &self.hostaddr {
            Some(addr) => format!("{}:{} ({addr})", self.host, self.port),
            None => format!("{}:{}", self.host, self.port),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct CnpgRole {
    cluster: Template,
    name: String,
    attributes: Vec<Attribute>,
    password_secret: Option<String>,
    verify: Option<Verify>,
}


/// End of the line holding byte `at`, after its newline.
fn line_end(text: &str, at: usize) -> usize {
    text[at..].find('\n').map_or(text.len(), |i| at + i + 1)
}

/// The last byte of a node, as far as the text goes (nested nodes included).
fn node_end(node: &Node) -> usize {
    match &node.kind {
        Kind::Map(entries) => entries
            .iter()
            .map(|(k, v)| node_end(k).max(node_end(v)))
            .max()
            .unwrap_or(node.pos.end),
        Kind::Seq(items) => items.iter().map(node_end).max().unwrap_or(node.pos.end),
        _ => node.pos.end,
    }
}

impl CnpgRole {
    /// The manifest with the role added or updated.
    fn edit(&self, path: &Path, text: &str) -> Result<String, String> {
        let docs = yaml::load(text).map_err(|e| {
            format!(
                "{}: YAML syntax error at line {}: {}",
                path.display(),
                e.pos.line,
                e.message
            )
        })?;
        let cluster = docs
            .iter()
            .find(|d| d.get("kind").and_then(Node::as_str) == Some("Cluster"))
            .ok_or_else(|| format!("{}: no CloudNativePG `Cluster` in the file", path.display()))?;
        let roles = cluster
            .path("spec.managed.roles")
            .filter(|r| matches!(r.kind, Kind::Seq(_)))
            .ok_or_else(|| format!("{}: the Cluster has no `spec.managed.roles` list", path.display()))?;
        let items = roles.as_seq();
        let first = items
            .first()
            .ok_or_else(|| format!("{}: `spec.managed.roles` is empty", path.display()))?;
        // Edits go in block style; a list or a role written in flow style (`[…]`,
        // `{…}`) is refused rather than broken.
        let flow = |node: &Node| matches!(text[node.pos.start..].chars().next(), Some('[' | '{'));
        if flow(roles) || items.iter().any(flow) {
            return Err(format!(
                "{}: `spec.managed.roles` is written in flow style (`[…]` or `{{…}}`); write it as a block list (one `- name: …` per role) for ops to edit it",
                path.display()
            ));
        }
        // Indentation of a role's keys, and of its `- `.
        let key_indent = " ".repeat(first.pos.column - 1);
        let dash_indent = " ".repeat(first.pos.column.saturating_sub(3));
        let mut out = text.to_owned();
        let existing = items
            .iter()
            .find(|r| r.get("name").and_then(Node::as_str) == Some(self.name.as_str()));
        if let Some(role) = existing {
            self.update(text, role, &key_indent, &mut out);
        } else {
            self.add(
                text,
                items.last().unwrap_or(first),
                &key_indent,
                &dash_indent,
                &mut out,
            );
        }
        if text.ends_with('\n') && !out.ends_with('\n') {
            out.push('\n');
        }
        self.check_edit(path, text, &out)?;
        Ok(out)
    }

    /// The edited text, read back as data, must be the original with exactly this role
    /// added or updated; otherwise nothing is written.
    fn check_edit(&self, path: &Path, before: &str, after: &str) -> Result<(), String> {
        let refuse = |why: String| {
            format!("{}: the edit would not give the intended manifest ({why}); nothing was written", path.display())
        };
        let mut expected = yaml::documents(before).map_err(&refuse)?;
        let got = yaml::documents(after).map_err(|e| refuse(format!("it would not parse: {e}")))?;
        let cluster = expected
            .iter_mut()
            .find(|d| d["kind"] == "Cluster")
            .ok_or_else(|| refuse("no Cluster".into()))?;
        let roles = cluster
            .pointer_mut("/spec/managed/roles")
            .and_then(serde_json::Value::as_array_mut)
            .ok_or_else(|| refuse("no roles".into()))?;
        let index = roles
            .iter()
            .position(|r| r["name"] == self.name.as_str())
            .unwrap_or_else(|| {
                roles.push(serde_json::json!({ "name": self.name }));
                roles.len() - 1
            });
        let role = roles[index].as_object_mut().ok_or_else(|| refuse("a role is not a map".into()))?;
        for a in &self.attributes {
            let value = yaml::documents(&format!("v: {}\n", a.yaml))
                .ok()
                .and_then(|docs| docs.into_iter().next())
                .map(|doc| doc["v"].clone())
                .unwrap_or_default();
            role.insert(a.key.to_owned(), value);
        }
        if let Some(secret) = &self.password_secret {
            role.insert("passwordSecret".into(), serde_json::json!({ "name": secret }));
        }
        if got == expected {
            Ok(())
        } else {
            Err(refuse("read back, the file differs from the intended edit".into()))
        }
    }

    /// Change the attributes that differ, in place; add the missing ones after the
    /// role's last line. Edits go last first, so earlier offsets stay valid.
    fn update(&self, text: &str, role: &Node, key_indent: &str, out: &mut String) {
        let mut edits: Vec<(usize, usize, String)> = Vec::new();
        let mut missing = String::new();
        for a in &self.attributes {
            match role.get(a.key) {
                Some(v) if v.scalar_text().as_deref() == Some(a.yaml.trim_matches('"')) => {}
                Some(v) => edits.push((v.pos.start, v.pos.end, a.yaml.clone())),
                None => {
                    let _ = writeln!(missing, "{key_indent}{}: {}", a.key, a.yaml);
                }
            }
        }
        if let Some(secret) = &self.password_secret {
            match role.path("passwordSecret.name") {
                Some(v) if v.as_str() == Some(secret.as_str()) => {}
                Some(v) => edits.push((v.pos.start, v.pos.end, yaml::scalar(secret))),
                None => {
                    let _ = writeln!(
                        missing,
                        "{key_indent}passwordSecret:\n{key_indent}  name: {}",
                        yaml::scalar(secret)
                    );
                }
            }
        }
        if !missing.is_empty() {
            let at = line_end(text, node_end(role).saturating_sub(1).max(role.pos.start));
            edits.push((at, at, missing));
        }
        edits.sort_by_key(|e| std::cmp::Reverse(e.0));
        for (start, end, replacement) in edits {
            out.replace_range(start..end, &replacement);
        }
    }

    /// Append the role after the last one, with the siblings' indentation.
    fn add(&self, text: &str, last: &Node, key_indent: &str, dash_indent: &str, out: &mut String) {
        let at = line_end(text, node_end(last).saturating_sub(1).max(last.pos.start));
        let mut block = format!("{dash_indent}- name: {}\n", yaml::scalar(&self.name));
        for a in &self.attributes {
            let _ = writeln!(block, "{key_indent}{}: {}", a.key, a.yaml);
        }
        if let Some(secret) = &self.password_secret {
            let secret = yaml::scalar(secret);
            let _ = writeln!(block, "{key_indent}passwordSecret:\n{key_indent}  name: {secret}");
        }
        if at > 0 && !text[..at].ends_with('\n') {
            block.insert(0, '\n');
        }
        out.insert_str(at, &block);
    }

    fn read(&self, cx: &StepContext<'_>) -> Result<(std::path::PathBuf, String, String), StepError> {
        let path = cx.dir.join(self.cluster.render(cx.outputs));
        let text = std::fs::read_to_string(&path)
            .map_err(|e| StepError::Invalid(format!("cannot read {}: {e}", path.display())))?;
        let edited = self.edit(&path, &text).map_err(StepError::Invalid)?;
        Ok((path, text, edited))
    }

    fn report_diff(cx: &StepContext<'_>, path: &Path, before: &str, after: &str) {
        let shown = path.strip_prefix(&cx.dir).unwrap_or(path).display().to_string();
        let diff = similar::TextDiff::from_lines(before, after);
        for line in diff
            .unified_diff()
            .context_radius(3)
            .header(&shown, &shown)
            .to_string()
            .lines()
        {
            cx.report(line);
        }
    }

    async fn verify(&self, cx: &StepContext<'_>, v: &Verify) -> Result<(), StepError> {
        let mut config = tokio_postgres::Config::new();
        config.host(&v.host).port(v.port).user(&v.user).dbname(&v.dbname);
        if let Some(addr) = &v.hostaddr {
            let addr = addr.parse().map_err(|_| {
                StepError::Invalid(format!("verify: hostaddr `{addr}` is not an IP address"))
            })?;
            config.hostaddr(addr);
        }
        config.connect_timeout(std::time::Duration::from_secs(10));
        if let Some(var) = &v.password_env {
            let password = std::env::var(var).map_err(|_| {
                StepError::Invalid(format!("verify: the environment variable {var} is not set"))
            })?;
            config.password(password);
        }
        let at = v.address();
        let tls = crate::pg::Tls {
            mode: v.tls.mode,
            root_cert: v.tls.root_cert.as_ref().map(|p| cx.dir.join(p)),
        };
        let client = crate::pg::connect(config, &tls).await.map_err(|e| {
            StepError::Failed(format!(
                "verify: cannot connect to PostgreSQL at {at} (sslmode {}): {e}",
                tls.mode.as_str()
            ))
        })?;
        let row = client
            .query_opt(
                "SELECT rolcanlogin::text, rolsuper::text, rolcreatedb::text, rolcreaterole::text, rolinherit::text, \
                 rolreplication::text, rolbypassrls::text, rolconnlimit::text FROM pg_roles WHERE rolname = $1",
                &[&self.name],
            )
            .await
            .map_err(|e| StepError::Failed(format!("verify: querying pg_roles at {at}: {e}")))?;
        drop(client);
        let Some(row) = row else {
            return Err(StepError::Failed(format!(
                "verify: role `{}` does not exist in PostgreSQL at {at} (has the operator reconciled the Cluster?)",
                self.name
            )));
        };
        let columns = [
            "rolcanlogin",
            "rolsuper",
            "rolcreatedb",
            "rolcreaterole",
            "rolinherit",
            "rolreplication",
            "rolbypassrls",
            "rolconnlimit",
        ];
        let mut wrong = Vec::new();
        for a in &self.attributes {
            let Some((column, expected)) = &a.pg else { continue };
            let index = columns.iter().position(|c| c == column).unwrap_or(0);
            let actual: String = row.get(index);
            let actual = match actual.as_str() {
                "t" => "true".to_owned(),
                "f" => "false".to_owned(),
                other => other.to_owned(),
            };
            if &actual != expected {
                wrong.push(format!("{} is {actual}, expected {expected}", a.key));
            }
        }
        if wrong.is_empty() {
            cx.report(format!(
                "PostgreSQL at {at} has role `{}` with the requested attributes",
                self.name
            ));
            Ok(())
        } else {
            Err(StepError::Failed(format!(
                "verify: role `{}` at {at}: {}",
                self.name,
                wrong.join(", ")
            )))
        }
    }
}

impl StepKind for CnpgRole {
    const KEY: &'static str = "cnpg-role";
    type Raw = Raw;
    const EXAMPLE: &'static str = r#"{ cluster = "cluster.yaml", role = { name = "app" } }"#;

    fn resolve(raw: &Spanned<Raw>, cx: &mut dyn Resolve) -> Option<Self> {
        let span = raw.span();
        let raw = raw.get_ref();
        let (Some(cluster), Some(role)) = (&raw.cluster, &raw.role) else {
            cx.invalid(
                span,
                format!("`cnpg-role` of task `{}` needs `cluster` (the manifest) and `role`", cx.task_name()),
                "incomplete",
                Some("cnpg-role = { cluster = \"argocd/manifests/databases/pg.yaml\", role = { name = \"app\", login = true } }".into()),
            );
            return None;
        };
        let mut attributes = Vec::new();
        let mut flag = |key: &'static str, column: &'static str, value: Option<bool>| {
            if let Some(v) = value {
                attributes.push(Attribute {
                    key,
                    yaml: v.to_string(),
                    pg: Some((column, v.to_string())),
                });
            }
        };
        flag("login", "rolcanlogin", role.login);
        flag("superuser", "rolsuper", role.superuser);
        flag("createdb", "rolcreatedb", role.createdb);
        flag("createrole", "rolcreaterole", role.createrole);
        flag("inherit", "rolinherit", role.inherit);
        flag("replication", "rolreplication", role.replication);
        flag("bypassrls", "rolbypassrls", role.bypassrls);
        if let Some(limit) = role.connection_limit {
            attributes.push(Attribute {
                key: "connectionLimit",
                yaml: limit.to_string(),
                pg: Some(("rolconnlimit", limit.to_string())),
            });
        }
        attributes.push(Attribute {
            key: "ensure",
            yaml: yaml::scalar(&role.ensure.as_ref().map_or_else(|| "present".to_owned(), |e| cx.text(e))),
            pg: None,
        });
        if let Some(comment) = &role.comment {
            attributes.push(Attribute {
                key: "comment",
                yaml: yaml::scalar(&cx.text(comment)),
                pg: None,
            });
        }
        let text = |cx: &mut dyn Resolve, value: &Option<Spanned<String>>, default: &str| {
            value
                .as_ref()
                .map_or_else(|| default.to_owned(), |v| cx.text(v))
        };
        let verify = match &raw.verify {
            None => None,
            Some(v) => {
                let port = match v.port.as_ref().map(|p| (p.get_ref(), p.span())) {
                    None => Some(5432),
                    Some((Port::Number(n), _)) => Some(*n),
                    Some((Port::Text(t), at)) => cx.text_at(t, at).parse().ok(),
                };
                let Some(port) = port else {
                    cx.invalid(
                        span,
                        format!("`verify.port` of task `{}` is not a port number", cx.task_name()),
                        "port",
                        None,
                    );
                    return None;
                };
                let mode = match &v.sslmode {
                    None => crate::pg::SslMode::default(),
                    Some(mode) => {
                        let Some(parsed) = crate::pg::SslMode::parse(&cx.text(mode)) else {
                            cx.invalid(
                                mode.span(),
                                format!("`verify.sslmode` of task `{}` is not an sslmode", cx.task_name()),
                                "sslmode",
                                Some(format!("one of {}", crate::pg::SslMode::NAMES.join(", "))),
                            );
                            return None;
                        };
                        parsed
                    }
                };
                Some(Verify {
                    host: text(cx, &v.host, "127.0.0.1"),
                    port,
                    user: text(cx, &v.user, "postgres"),
                    dbname: text(cx, &v.dbname, "postgres"),
                    password_env: v.password_env.as_ref().map(|p| cx.text(p)),
                    hostaddr: v.hostaddr.as_ref().map(|h| cx.text(h)),
                    tls: crate::pg::Tls {
                        mode,
                        root_cert: v.sslrootcert.as_ref().map(|p| cx.text(p).into()),
                    },
                })
            }
        };
        Some(CnpgRole {
            cluster: cx.template(cluster),
            name: cx.text(&role.name),
            attributes,
            password_secret: role.password_secret.as_ref().map(|s| cx.text(s)),
            verify,
        })
    }
}

impl Executor for CnpgRole {
    /// The manifest; for apply with `verify`, the PostgreSQL server and its password
    /// variable. It edits a file and runs nothing (committing is a task of its own).
    fn needs(&self, mode: Mode, _dir: &Path) -> Vec<Need> {
        let mut needs: Vec<Need> = Need::file_of("cluster", &self.cluster).into_iter().collect();
        if let (Mode::Apply, Some(v)) = (mode, &self.verify) {
            needs.push(Need::new(
                "verify",
                Needed::Postgres {
                    host: v.hostaddr.clone().unwrap_or_else(|| v.host.clone()),
                    port: v.port,
                },
            ));
            if let Some(cert) = &v.tls.root_cert {
                needs.push(Need::file("verify.sslrootcert", cert.display().to_string()));
            }
            if let Some(var) = &v.password_env {
                needs.push(Need::new("verify.password-env", Needed::Env(var.clone())));
            }
        }
        needs
    }

    fn plan(&self) -> StepPlan {
        let attrs: Vec<String> = self
            .attributes
            .iter()
            .map(|a| format!("{}={}", a.key, a.yaml))
            .collect();
        let mut lines = vec![format!(
            "role {} in {} ({})",
            self.name,
            self.cluster.display(),
            attrs.join(", ")
        )];
        if let Some(v) = &self.verify {
            lines.push(format!(
                "verify in PostgreSQL at {} (pg_roles, sslmode {})",
                v.address(),
                v.tls.mode.as_str()
            ));
        }
        StepPlan {
            lines,
            check: Some(format!("diff of {}", self.cluster.display())),
        }
    }
    async fn diff(&self, cx: &StepContext<'_>) -> Result<Diff, StepError> {
        let (path, before, after) = self.read(cx)?;
        if before == after {
            cx.report(format!(
                "{} already has role `{}` as requested",
                path.display(),
                self.name
            ));
            return Ok(Diff::NoChange);
        }
        Self::report_diff(cx, &path, &before, &after);
        Ok(Diff::Changes)
    }

    async fn apply(&self, cx: &StepContext<'_>) -> Result<Applied, StepError> {
        let (path, before, after) = self.read(cx)?;
        if before != after {
            Self::report_diff(cx, &path, &before, &after);
            let dir = path.parent().unwrap_or(Path::new("."));
            let write = || -> std::io::Result<()> {
                let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
                tmp.write_all(after.as_bytes())?;
                tmp.as_file().sync_all()?;
                if let Ok(meta) = std::fs::metadata(&path) {
                    std::fs::set_permissions(tmp.path(), meta.permissions())?;
                }
                tmp.persist(&path).map_err(|e| e.error)?;
                Ok(())
            };
            write().map_err(|e| StepError::Failed(format!("cannot write {}: {e}", path.display())))?;
        }
        if let Some(v) = &self.verify {
            self.verify(cx, v).await?;
        }
        Ok(Applied::default())
    }
}
