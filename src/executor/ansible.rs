//! `ansible`: run a playbook; `--diff` runs it with `--check --diff`.
//!
//! ```toml
//! [tasks.provision-caddy]
//! ansible = { playbook = "ansible/playbooks/indri.yml", inventory = "ansible/inventory/hosts.yml", tags = ["caddy"], limit = "indri", extra-vars = { caddy_https_port = 443 } }
//! ```
//!
//! | key | meaning |
//! |---|---|
//! | `playbook` | the playbook, relative to the task's directory |
//! | `inventory` | `-i` (a file, or a host list such as `"localhost,"`) |
//! | `tags`, `skip-tags` | `--tags`, `--skip-tags` |
//! | `limit` | `--limit` |
//! | `extra-vars` | passed as one JSON `-e`, so numbers and booleans keep their type; strings may use task outputs and secrets (`{{ tasks.NAME.KEY }}`, `{{ secrets.NAME }}`), other `{{ … }}` are Jinja's; with a secret, the JSON goes through a private file (`-e @FILE`), never the command line |
//! | `args` | further arguments for `ansible-playbook` |
//!
//! The play recap is parsed: the step reports ok/changed/failed/unreachable counts
//! per host, produces `changed` (a count) for dependents, and fails naming the hosts
//! that failed or were unreachable. In `--diff`, any changed count means changes
//! are pending (check mode skips handlers and `validate:`, so it proves less than a run).

use indexmap::IndexMap;
use serde::Deserialize;
use toml::Spanned;

use super::{Applied, Diff, Executor, Need, Resolve, StepContext, StepError, StepKind, StepPlan};
use crate::report::Mode;
use crate::template::Template;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct Raw {
    playbook: Option<Spanned<String>>,
    inventory: Option<Spanned<String>>,
    #[serde(default)]
    tags: Vec<Spanned<String>>,
    #[serde(default)]
    skip_tags: Vec<Spanned<String>>,
    limit: Option<Spanned<String>>,
    #[serde(default)]
    extra_vars: IndexMap<String, Spanned<toml::Value>>,
    #[serde(default)]
    args: Vec<Spanned<String>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Ansible {
    playbook: Template,
    inventory: Option<Template>,
    tags: Vec<Template>,
    skip_tags: Vec<Template>,
    limit: Option<Template>,
    /// The extra vars, as a JSON object whose strings are templates.
    extra_vars: Option<Json>,
    args: Vec<Template>,
}


/// A JSON value whose strings are templates, rendered when the step runs.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Json {
    /// A number, boolean or null, as JSON text.
    Scalar(String),
    Text(Template),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    /// A TOML value (spanning `at` in its file) as JSON: strings are ours to expand
    /// (variables, task outputs, secrets) and Jinja's for any other `{{ … }}`.
    fn from_toml(value: &toml::Value, at: &std::ops::Range<usize>, cx: &mut dyn Resolve) -> Self {
        match value {
            toml::Value::String(s) => Self::Text(cx.foreign_at(s, at.clone())),
            toml::Value::Integer(i) => Self::Scalar(i.to_string()),
            toml::Value::Float(f) => Self::Scalar(
                serde_json::Number::from_f64(*f).map_or_else(|| "null".to_owned(), |n| n.to_string()),
            ),
            toml::Value::Boolean(b) => Self::Scalar(b.to_string()),
            toml::Value::Datetime(d) => Self::Text(Template::literal(d.to_string())),
            toml::Value::Array(items) => {
                Self::Array(items.iter().map(|v| Self::from_toml(v, at, cx)).collect())
            }
            toml::Value::Table(table) => Self::Object(
                table
                    .iter()
                    .map(|(k, v)| (k.clone(), Self::from_toml(v, at, cx)))
                    .collect(),
            ),
        }
    }

    /// The value, each string given by `text`.
    fn value(&self, text: &dyn Fn(&Template) -> String) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Self::Scalar(json) => serde_json::from_str(json).unwrap_or(J::Null),
            Self::Text(t) => J::String(text(t)),
            Self::Array(items) => J::Array(items.iter().map(|v| v.value(text)).collect()),
            Self::Object(fields) => J::Object(fields.iter().map(|(k, v)| (k.clone(), v.value(text))).collect()),
        }
    }

    fn has_secrets(&self) -> bool {
        match self {
            Self::Scalar(_) => false,
            Self::Text(t) => t.secret_refs().next().is_some(),
            Self::Array(items) => items.iter().any(Self::has_secrets),
            Self::Object(fields) => fields.iter().any(|(_, v)| v.has_secrets()),
        }
    }
}

/// One host's line of the play recap.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct HostRecap {
    pub host: String,
    pub ok: u32,
    pub changed: u32,
    pub unreachable: u32,
    pub failed: u32,
}

/// Parse `host : ok=2 changed=1 unreachable=0 failed=0 ...` lines after `PLAY RECAP`.
pub(crate) fn parse_recap(output: &str) -> Vec<HostRecap> {
    let Some(start) = output.rfind("PLAY RECAP") else {
        return Vec::new();
    };
    output[start..]
        .lines()
        .skip(1)
        .filter_map(|line| {
            let (host, counts) = line.split_once(" : ")?;
            let mut recap = HostRecap {
                host: host.trim().to_owned(),
                ..HostRecap::default()
            };
            for pair in counts.split_whitespace() {
                let (key, value) = pair.split_once('=')?;
                let value = value.parse().ok()?;
                match key {
                    "ok" => recap.ok = value,
                    "changed" => recap.changed = value,
                    "unreachable" => recap.unreachable = value,
                    "failed" => recap.failed = value,
                    _ => {}
                }
            }
            Some(recap)
        })
        .collect()
}

impl Ansible {
    /// The arguments of `ansible-playbook`; extra vars that hold a secret are written
    /// to `vars_file` (private to this user) and passed as `-e @FILE`.
    fn argv(
        &self,
        cx: &StepContext<'_>,
        check: bool,
        vars_file: Option<&std::path::Path>,
    ) -> Vec<String> {
        let outputs = cx.outputs;
        let mut argv = Vec::new();
        if let Some(inventory) = &self.inventory {
            argv.extend(["-i".into(), inventory.render(outputs)]);
        }
        argv.push(self.playbook.render(outputs));
        let join = |list: &[Template]| {
            list.iter()
                .map(|t| t.render(outputs))
                .collect::<Vec<_>>()
                .join(",")
        };
        if !self.tags.is_empty() {
            argv.extend(["--tags".into(), join(&self.tags)]);
        }
        if !self.skip_tags.is_empty() {
            argv.extend(["--skip-tags".into(), join(&self.skip_tags)]);
        }
        if let Some(limit) = &self.limit {
            argv.extend(["--limit".into(), limit.render(outputs)]);
        }
        if let Some(vars) = &self.extra_vars {
            let value = match vars_file {
                Some(file) => format!("@{}", file.display()),
                None => vars.value(&|t| t.render(outputs)).to_string(),
            };
            argv.extend(["-e".into(), value]);
        }
        argv.extend(self.args.iter().map(|a| a.render(outputs)));
        if check {
            argv.extend(["--check".into(), "--diff".into()]);
        }
        argv
    }

    fn display(&self, check: bool) -> String {
        let mut words = vec!["ansible-playbook".to_owned()];
        if let Some(inventory) = &self.inventory {
            words.extend(["-i".into(), inventory.display()]);
        }
        words.push(self.playbook.display());
        let join = |list: &[Template]| list.iter().map(Template::display).collect::<Vec<_>>().join(",");
        if !self.tags.is_empty() {
            words.extend(["--tags".into(), join(&self.tags)]);
        }
        if !self.skip_tags.is_empty() {
            words.extend(["--skip-tags".into(), join(&self.skip_tags)]);
        }
        if let Some(limit) = &self.limit {
            words.extend(["--limit".into(), limit.display()]);
        }
        if let Some(vars) = &self.extra_vars {
            words.extend(["-e".into(), vars.value(&Template::display).to_string()]);
        }
        words.extend(self.args.iter().map(Template::display));
        if check {
            words.extend(["--check".into(), "--diff".into()]);
        }
        format!(
            "$ {}",
            shlex::try_join(words.iter().map(String::as_str)).unwrap_or_else(|_| words.join(" "))
        )
    }

    /// Run the playbook and read its recap.
    async fn play(&self, cx: &StepContext<'_>, check: bool) -> Result<Vec<HostRecap>, StepError> {
        // Removed when the step ends; created with mode 0600.
        let vars_file = match &self.extra_vars {
            Some(vars) if vars.has_secrets() => {
                let file = tempfile::Builder::new()
                    .prefix("ops-extra-vars-")
                    .suffix(".json")
                    .tempfile()
                    .map_err(|e| StepError::Failed(format!("cannot write the extra vars to a private file: {e}")))?;
                let json = vars.value(&|t| t.render(cx.outputs)).to_string();
                std::fs::write(file.path(), json)
                    .map_err(|e| StepError::Failed(format!("cannot write the extra vars to a private file: {e}")))?;
                Some(file)
            }
            _ => None,
        };
        let argv = self.argv(cx, check, vars_file.as_ref().map(tempfile::NamedTempFile::path));
        let mut spec = cx.spec("ansible-playbook", argv);
        spec.env.extend([
            ("ANSIBLE_NOCOLOR".to_owned(), "1".to_owned()),
            ("ANSIBLE_FORCE_COLOR".to_owned(), "0".to_owned()),
            ("PYTHONUNBUFFERED".to_owned(), "1".to_owned()),
        ]);
        let output = cx.run(&spec).await?;
        let recap = parse_recap(&output.stdout_tail);
        let broken: Vec<String> = recap
            .iter()
            .filter(|h| h.failed > 0 || h.unreachable > 0)
            .map(|h| format!("{} (failed={}, unreachable={})", h.host, h.failed, h.unreachable))
            .collect();
        if !broken.is_empty() {
            return Err(StepError::Failed(format!(
                "ansible-playbook failed on {}",
                broken.join(", ")
            )));
        }
        output.check("ansible-playbook")?;
        for h in &recap {
            cx.report(format!("{}: ok={} changed={}", h.host, h.ok, h.changed));
        }
        Ok(recap)
    }
}

impl StepKind for Ansible {
    const KEY: &'static str = "ansible";
    type Raw = Raw;
    const EXAMPLE: &'static str = r#"{ playbook = "site.yml" }"#;

    fn resolve(raw: &Spanned<Raw>, cx: &mut dyn Resolve) -> Option<Self> {
        let Some(playbook) = raw.get_ref().playbook.as_ref() else {
            cx.invalid(
                raw.span(),
                format!("`ansible` of task `{}` has no `playbook`", cx.task_name()),
                "playbook missing",
                None,
            );
            return None;
        };
        let raw = raw.get_ref();
        let many =
            |cx: &mut dyn Resolve, list: &[Spanned<String>]| list.iter().map(|t| cx.template(t)).collect();
        let extra_vars = (!raw.extra_vars.is_empty()).then(|| {
            Json::Object(
                raw.extra_vars
                    .iter()
                    .map(|(k, v)| (k.clone(), Json::from_toml(v.get_ref(), &v.span(), cx)))
                    .collect(),
            )
        });
        Some(Ansible {
            playbook: cx.template(playbook),
            inventory: raw.inventory.as_ref().map(|i| cx.template(i)),
            tags: many(cx, &raw.tags),
            skip_tags: many(cx, &raw.skip_tags),
            limit: raw.limit.as_ref().map(|l| cx.template(l)),
            extra_vars,
            args: many(cx, &raw.args),
        })
    }
}

impl Executor for Ansible {
    /// `ansible-playbook`, the playbook, and the inventory when it is a path rather
    /// than a host list (`"localhost,"`: Ansible reads a value with a comma as hosts).
    fn needs(&self, _mode: Mode, _dir: &std::path::Path) -> Vec<Need> {
        let mut needs = vec![Need::program(Self::KEY, "ansible-playbook")];
        needs.extend(Need::file_of("playbook", &self.playbook));
        if let Some(inventory) = self.inventory.as_ref().and_then(|i| Need::file_of("inventory", i))
            && !matches!(&inventory.what, super::Needed::File(path) if path.contains(','))
        {
            needs.push(inventory);
        }
        needs
    }

    fn produces(&self) -> Vec<String> {
        ["changed"].map(String::from).to_vec()
    }

    fn plan(&self) -> StepPlan {
        StepPlan {
            lines: vec![self.display(false)],
            check: Some(self.display(true)),
        }
    }
    async fn diff(&self, cx: &StepContext<'_>) -> Result<Diff, StepError> {
        let recap = self.play(cx, true).await?;
        Ok(if recap.iter().any(|h| h.changed > 0) {
            Diff::Changes
        } else {
            Diff::NoChange
        })
    }

    async fn apply(&self, cx: &StepContext<'_>) -> Result<Applied, StepError> {
        let recap = self.play(cx, false).await?;
        let changed: u32 = recap.iter().map(|h| h.changed).sum();
        Ok(Applied {
            outputs: vec![("changed".into(), changed.to_string())],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_recap() {
        let out = "PLAY [x] ***\nTASK [y] ***\nchanged: [localhost]\n\nPLAY RECAP *********\n\
                   localhost                  : ok=2    changed=1    unreachable=0    failed=0    skipped=0    rescued=0    ignored=0   \n\
                   web-1 : ok=0 changed=0 unreachable=1 failed=0\n";
        assert_eq!(
            parse_recap(out),
            vec![
                HostRecap {
                    host: "localhost".into(),
                    ok: 2,
                    changed: 1,
                    unreachable: 0,
                    failed: 0
                },
                HostRecap {
                    host: "web-1".into(),
                    ok: 0,
                    changed: 0,
                    unreachable: 1,
                    failed: 0
                },
            ]
        );
    }

    #[test]
    fn no_recap_no_hosts() {
        assert!(parse_recap("ERROR! the playbook could not be found").is_empty());
    }
}
