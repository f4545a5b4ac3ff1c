//! Every string of every step kind goes through the placeholder rules: a test walks
//! each key of each kind (an example that uses all of them, checked against the
//! keys the kind accepts) and puts placeholders into one string at a time.

use std::path::Path;

use miette::Diagnostic as _;

use super::file::RawTask;
use super::load_sources;
use super::vars::Vars;
use crate::diagnostic::SourceFile;
use crate::executor::{RawSteps, introspect};

/// Examples that together use every key of every kind: (step key, table); the key
/// `""` stands for the task table itself (command keys and the task's own keys).
const EVERY_KEY: &[(&str, &str)] = &[
    (
        "",
        r#"{ description = "d", deps = ["up"], sources = ["src/*"], outputs = ["out/*"], timeout = "1m", retries = 1, env = { A = "x" }, env-file = [".env", { path = "local.env", optional = true }], dir = "sub", confirm = "sure?", interpreter = ["bash", "-c"], shell = "true", check-shell = "true" }"#,
    ),
    (
        "",
        r#"{ deps = ["up"], cmd = ["true", "x"], check = ["true", "y"] }"#,
    ),
    (
        "",
        r#"{ deps = ["up"], cmd = ["true"], read-only = true, interactive = false }"#,
    ),
    (
        "",
        r#"{ deps = ["up"], cmd = ["true"], lock = { kube-lease = "ops-t", context = "k3s", namespace = "ops", duration = "30s" } }"#,
    ),
    (
        "",
        r#"{ deps = ["up"], script = "scripts/x.sh", args = ["a", "b"], nix-tools = { file = "nix/tools.nix", attrs = ["pulumi"] } }"#,
    ),
    (
        "",
        r#"{ deps = ["up"], cmd = ["pulumi"], nix-tools = { installables = [".#pulumi"] } }"#,
    ),
    (
        "",
        r#"{ cmd = ["true"], aliases = ["tee"], hidden = true, on-failure = ["up"], finally = ["up"] }"#,
    ),
    (
        "nix-build",
        r#"{ file = "default.nix", attr = "app", args = { version = "1" }, out-link = "result", builders = "ssh://b x86_64-linux", max-jobs = 0, store = "daemon", eval-store = "auto" }"#,
    ),
    (
        "nix-eval",
        r#"{ file = "default.nix", attr = "version", args = { v = "1" }, builders = ["ssh://b"], max-jobs = "auto", store = "daemon", eval-store = "auto" }"#,
    ),
    (
        "git-tag",
        r#"{ tag = "v1", message = "release", ref = "HEAD", push = "origin", require-clean = true, force = false }"#,
    ),
    (
        "ansible",
        r#"{ playbook = "site.yml", inventory = "hosts.yml", tags = ["a"], skip-tags = ["b"], limit = "indri", extra-vars = { port = 443, name = "x", list = ["y"], nested = { k = "z" } }, args = ["-v"] }"#,
    ),
    (
        "caddy",
        r#"{ admin = "http://127.0.0.1:2019", listen = ":443", domain = "example.net", routes = [{ name = "app", host = "app", backend = "http://127.0.0.1:8080" }], tls = true }"#,
    ),
    ("caddy", r#"{ routes-file = "caddy/routes.toml" }"#),
    (
        "http-check",
        r#"{ checks = [{ name = "app", url = "http://127.0.0.1:8080/", status = 200, body = "ok", host = "app.example.net", insecure = false }], timeout = "5s", retries = 1, interval = "1s" }"#,
    ),
    ("gate", r#"{ shell = "true", expect = ".", reject = "x" }"#),
    ("gate", r#"{ cmd = ["true", "x"], expect = "." }"#),
    ("gate", r#"{ confirm = "ok?" }"#),
    (
        "cnpg-role",
        r#"{ cluster = "cluster.yaml", role = { name = "app", login = true, superuser = false, createdb = false, createrole = false, inherit = true, replication = false, bypassrls = false, connection-limit = 5, ensure = "present", password-secret = "app-pw", comment = "the app" }, verify = { host = "127.0.0.1", port = 5432, user = "postgres", dbname = "postgres", password-env = "PGPASSWORD" } }"#,
    ),
    (
        "kube-apply",
        r#"{ path = "manifests", context = "k3s", namespace = "apps", wait = "5m", force-conflicts = false, create-namespace = true }"#,
    ),
    ("kube-apply", r#"{ app = "argocd/app.yaml", context = "k3s" }"#),
    (
        "kube-wait",
        r#"{ context = "k3s", namespace = "apps", selector = "app=web", for = "ready", min = 1, timeout = "5m" }"#,
    ),
    (
        "kube-check",
        r#"{ context = "k3s", namespace = "apps", selector = "app=web", min-ready = 1 }"#,
    ),
    (
        "kube-job",
        r#"{ context = "k3s", namespace = "dex", image = "migrate:1", command = ["migrate", "--all"], env = { LOG = "json" }, secret-env = { PW = { secret = "db", key = "password" } }, expect = "done", reject = "ERROR", timeout = "20m", retries = 1, ttl = "1h", keep = "never", name = "migrate", service-account = "migrator" }"#,
    ),
];

/// Keys that take no string a placeholder could go into, or are refused at load.
/// `matrix` values are literal (they name instances), and `prune` is refused at load.
const NOT_WALKED: &[(&str, &str)] = &[("kube-apply", "prune"), ("", "matrix")];

/// Strings that another template language reads later: unknown names stay for it.
fn is_foreign(kind: &str, path: &[String]) -> bool {
    kind == "ansible" && path.first().is_some_and(|k| k == "extra-vars")
}

fn table(example: &str) -> toml::Table {
    let doc: toml::Table = toml::from_str(&format!("v = {example}")).expect("examples are TOML");
    match doc["v"].clone() {
        toml::Value::Table(t) => t,
        other => panic!("not a table: {other:?}"),
    }
}

/// The path of every string in `value`.
fn strings(value: &toml::Value, path: &mut Vec<String>, found: &mut Vec<Vec<String>>) {
    match value {
        toml::Value::String(_) => found.push(path.clone()),
        toml::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(i.to_string());
                strings(item, path, found);
                path.pop();
            }
        }
        toml::Value::Table(t) => {
            for (k, v) in t {
                path.push(k.clone());
                strings(v, path, found);
                path.pop();
            }
        }
        _ => {}
    }
}

fn set(value: &mut toml::Value, path: &[String], to: &str) {
    let Some((first, rest)) = path.split_first() else {
        *value = toml::Value::String(to.to_owned());
        return;
    };
    let next = match value {
        toml::Value::Array(items) => &mut items[first.parse::<usize>().expect("index")],
        toml::Value::Table(t) => t.get_mut(first).expect("key"),
        _ => panic!("no {first} in {value:?}"),
    };
    set(next, rest, to);
}

/// The task file with `example` as task `t` (depending on `up`, a command).
fn document(kind: &str, example: &toml::Value) -> String {
    let mut t = toml::Table::new();
    if kind.is_empty() {
        t = example.as_table().expect("a table").clone();
    } else {
        t.insert("deps".into(), toml::Value::Array(vec!["up".into()]));
        t.insert(kind.into(), example.clone());
    }
    let mut up = toml::Table::new();
    up.insert("cmd".into(), toml::Value::Array(vec!["true".into()]));
    let mut tasks = toml::Table::new();
    tasks.insert("up".into(), up.into());
    tasks.insert("t".into(), t.into());
    let mut doc = toml::Table::new();
    doc.insert("tasks".into(), tasks.into());
    toml::to_string(&doc).expect("serialisable")
}

/// What loading the file gives: the task `t` as Debug text, or every error's
/// labelled ranges.
fn load(text: &str) -> Result<String, Vec<std::ops::Range<usize>>> {
    let file = SourceFile::new("tasks/t.toml", text.to_owned());
    // What `ops validate` reports: the problems that stop loading, and those that
    // stop only the task that has them.
    let problems = |errors: &[crate::task::error::LoadError]| {
        errors
            .iter()
            .flat_map(|e| e.labels().into_iter().flatten())
            .map(|l| l.offset()..l.offset() + l.len())
            .collect()
    };
    match load_sources(Path::new("/repo"), vec![file], &Vars::default()) {
        Ok(set) if set.problems().is_empty() => {
            Ok(format!("{:?}", set.get(set.find("t").expect("t"))).replace("\\\"", "\""))
        }
        Ok(set) => Err(problems(set.problems())),
        Err(errors) => Err(problems(&errors.errors)),
    }
}

#[test]
fn the_examples_use_every_key_of_every_kind() {
    let mut kinds = RawSteps::fields();
    kinds.push(("", introspect::fields::<RawTask>()));
    for (kind, fields) in kinds {
        assert!(!fields.is_empty(), "no fields read for `{kind}`");
        for field in fields {
            let used = EVERY_KEY
                .iter()
                .filter(|(k, _)| *k == kind)
                .any(|(_, example)| table(example).contains_key(*field));
            let exempt = NOT_WALKED.contains(&(kind, *field));
            assert!(
                used || exempt,
                "`{field}` of `{kind}` is in no example of EVERY_KEY: add it, so its strings are walked"
            );
        }
    }
}

#[test]
fn every_example_loads() {
    for (kind, example) in EXAMPLE_VALUES.iter() {
        let text = document(kind, example);
        assert!(load(&text).is_ok(), "{text}\n{:?}", load(&text));
    }
}

static EXAMPLE_VALUES: std::sync::LazyLock<Vec<(&str, toml::Value)>> = std::sync::LazyLock::new(|| {
    EVERY_KEY
        .iter()
        .map(|(kind, example)| (*kind, toml::Value::Table(table(example))))
        .collect()
});

/// Each string, one at a time, given `probe`: the outcome for the file and where
/// the probe stands in it.
fn probe_each(
    probe: &str,
    mut judge: impl FnMut(
        &str,
        &[String],
        Result<String, Vec<std::ops::Range<usize>>>,
        std::ops::Range<usize>,
        &str,
    ),
) {
    let mut walked = 0;
    for (kind, example) in EXAMPLE_VALUES.iter() {
        let mut paths = Vec::new();
        strings(example, &mut Vec::new(), &mut paths);
        for path in paths {
            let mut value = example.clone();
            set(&mut value, &path, probe);
            let text = document(kind, &value);
            let at = text.find(probe).expect("the probe is in the file");
            judge(kind, &path, load(&text), at..at + probe.len(), &text);
            walked += 1;
        }
    }
    assert!(walked > 60, "only {walked} strings walked");
}

fn points_at(ranges: &[std::ops::Range<usize>], probe: &std::ops::Range<usize>) -> bool {
    // A range that starts inside the probe or at the quote before it.
    ranges
        .iter()
        .any(|r| r.start + 1 >= probe.start && r.start <= probe.end)
}

/// An unknown variable in any string is an error at that string; only Jinja's
/// strings (Ansible's extra vars) keep it, for Ansible.
#[test]
fn an_unknown_variable_is_found_in_every_string() {
    probe_each("{{ nosuchvar }}", |kind, path, loaded, at, text| {
        let key = format!("{kind} {}", path.join("."));
        match loaded {
            Ok(task) if is_foreign(kind, path) => {
                assert!(
                    task.contains("{{ nosuchvar }}"),
                    "{key}: the Jinja name is gone: {task}"
                );
            }
            Ok(task) => panic!("{key}: `{{{{ nosuchvar }}}}` was accepted:\n{text}\n{task}"),
            Err(ranges) => assert!(
                points_at(&ranges, &at),
                "{key}: errors at {ranges:?}, not at {at:?}\n{text}"
            ),
        }
    });
}

/// A task output in any string is either kept for when the task runs, or refused
/// at load time at that string; never passed on as text.
#[test]
fn a_task_output_in_every_string_is_kept_or_refused() {
    probe_each("{{ tasks.up.stdout }}", |kind, path, loaded, at, text| {
        let key = format!("{kind} {}", path.join("."));
        match loaded {
            Ok(task) => assert!(
                task.contains(r#"Output { task: "up", key: "stdout" }"#)
                    && task.contains(r#"output_refs: [("up", "stdout")]"#),
                "{key}: the output reference became text:\n{text}\n{task}"
            ),
            Err(ranges) => assert!(
                points_at(&ranges, &at),
                "{key}: errors at {ranges:?}, not at {at:?}\n{text}"
            ),
        }
    });
}
