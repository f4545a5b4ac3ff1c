//! One registry of rule names: the pseudo-rules (`yaml-syntax`, `suppression`,
//! `custom`) and every rule's code are accepted wherever a rule is named — `ops rule`,
//! `ops lint --rule`, `[rules.ID]` and suppressions — and policy options are typed.

use crate::common::{Ran, Test, snapshot_settings};

const FLOATING_POD: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n    - name: a\n      image: redis\n";
const SECRET: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  x: y\n";
const BROKEN: &str = "kind: ConfigMap\ndata:\n  a: [1, 2\n  b: 3\n";

/// A repository with a floating image, a committed Secret and a file that does not parse.
fn repo() -> Test {
    Test::new()
        .file("pod.yaml", FLOATING_POD)
        .file("secret.yaml", SECRET)
        .file("broken.yaml", BROKEN)
}

/// `(rule, severity, path)` of every finding of `ops lint --format json ARGS…`.
fn findings(ran: &Ran) -> Vec<(String, String, String)> {
    let v: serde_json::Value =
        serde_json::from_str(&ran.stdout).unwrap_or_else(|e| panic!("{e}: {}\n{}", ran.stdout, ran.stderr));
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let text = |k: &str| f[k].as_str().unwrap().to_owned();
            (text("rule"), text("severity"), text("path"))
        })
        .collect()
}

/// How many files `ops lint --format json` checked.
fn scanned(ran: &Ran) -> u64 {
    let v: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    v["files_scanned"].as_u64().unwrap()
}

fn found(rule: &str, severity: &str, path: &str) -> (String, String, String) {
    (rule.to_owned(), severity.to_owned(), path.to_owned())
}

#[test]
fn rule_docs_by_id_and_by_code_for_every_rule() {
    let test = Test::new();
    for (name, heading) in [
        ("yaml-syntax", "yaml-syntax (OPS007) — YAML files parse"),
        ("OPS001", "pinned-image (OPS001) — "),
        ("ops002", "no-helm (OPS002) — "),
        ("suppression", "suppression (OPS000) — "),
        ("OPS900", "custom (OPS900) — "),
    ] {
        let ran = test.run_with(&["rule", name]);
        ran.assert_code(0);
        assert!(ran.stdout.starts_with(heading), "{name}: {}", ran.stdout);
        assert!(ran.stdout.contains("## Fix"), "{name}: {}", ran.stdout);
    }
    let ran = test.run_with(&["rule", "yaml-syntaxx"]);
    ran.assert_code(2);
    assert!(
        ran.stderr.contains("did you mean `yaml-syntax`?"),
        "{}",
        ran.stderr
    );
}

#[test]
fn the_rule_list_has_the_pseudo_rules_once() {
    let ran = Test::new().run_with(&["rules"]);
    ran.assert_code(0);
    for (id, code) in [
        ("yaml-syntax", "OPS007"),
        ("suppression", "OPS000"),
        ("custom", "OPS900"),
    ] {
        let lines: Vec<&str> = ran.stdout.lines().filter(|l| l.starts_with(id)).collect();
        assert_eq!(lines.len(), 1, "{}", ran.stdout);
        assert!(lines[0].contains(code), "{}", ran.stdout);
    }
}

#[test]
fn one_rule_by_code() {
    let ran = repo().run_with(&["lint", "--format", "json", "--rule", "OPS001"]);
    ran.assert_code(1);
    // A file that does not parse is still reported: no rule could check it.
    assert_eq!(
        findings(&ran),
        vec![
            found("yaml-syntax", "error", "broken.yaml"),
            found("pinned-image", "error", "pod.yaml"),
        ]
    );
}

#[test]
fn only_yaml_syntax() {
    let ran = repo().run_with(&["lint", "--format", "json", "--rule", "yaml-syntax"]);
    ran.assert_code(1);
    assert_eq!(findings(&ran), vec![found("yaml-syntax", "error", "broken.yaml")]);
}

#[test]
fn yaml_syntax_is_configured_like_any_rule() {
    let ran = repo()
        .file(
            "policies/lint.toml",
            "[rules.yaml-syntax]\nseverity = \"warning\"\n\n[rules.no-plain-secret]\nenabled = false\n\n[rules.OPS001]\nexclude = [\"pod.yaml\"]\n",
        )
        .run_with(&["lint", "--format", "json"]);
    ran.assert_code(0);
    assert_eq!(
        findings(&ran),
        vec![found("yaml-syntax", "warning", "broken.yaml")]
    );
    assert_eq!(scanned(&ran), 3);
}

#[test]
fn suppressions_by_code() {
    let ran = Test::new()
        .file(
            "pod.yaml",
            "# ops:ignore-file OPS006 -- fixture\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n    - name: a\n      image: redis # ops:ignore OPS001 -- upstream publishes no tags\n    - name: b\n      image: nginx # ops:ignore OPS999 -- typo\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n  x: eQ==\n",
        )
        .run_with(&["lint", "--format", "json"]);
    ran.assert_code(1);
    assert_eq!(
        findings(&ran),
        vec![
            found("pinned-image", "error", "pod.yaml"),
            found("suppression", "error", "pod.yaml"),
        ]
    );
    assert!(
        ran.stdout.contains("unknown rule `OPS999` in a suppression"),
        "{}",
        ran.stdout
    );
}

const CUSTOM: &str = "[[custom]]\nid = \"no-nodeport\"\nmessage = \"use an Ingress\"\nfield = \"spec.type\"\nforbid = \"^NodePort$\"\n\n[[custom]]\nid = \"no-todo\"\nmessage = \"a TODO\"\nseverity = \"warning\"\nforbid = \"TODO\"\n";
const SERVICE: &str = "apiVersion: v1\nkind: Service\nmetadata:\n  name: s # TODO\nspec:\n  type: NodePort\n";

#[test]
fn custom_rules_by_their_id_and_all_of_them_as_custom() {
    let test = Test::new()
        .file("policies/custom.toml", CUSTOM)
        .file("svc.yaml", SERVICE)
        .file("pod.yaml", FLOATING_POD);
    let messages = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["lint", "--format", "json"];
        all.extend(args);
        let ran = test.run_with(&all);
        let v: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                format!(
                    "{}: {}",
                    f["rule"].as_str().unwrap(),
                    f["message"].as_str().unwrap()
                )
            })
            .collect()
    };
    assert_eq!(
        messages(&["--rule", "no-nodeport"]),
        vec!["no-nodeport: use an Ingress: `NodePort`"]
    );
    assert_eq!(
        messages(&["--rule", "OPS900"]),
        vec![
            "no-todo: a TODO: `TODO`",
            "no-nodeport: use an Ingress: `NodePort`"
        ]
    );
    let ran = test.run_with(&["lint", "--rule", "no-nodeportt"]);
    ran.assert_code(2);
    assert!(
        ran.stderr.contains("did you mean `no-nodeport`?"),
        "{}",
        ran.stderr
    );
}

#[test]
fn a_custom_rule_is_suppressed_by_its_id() {
    let ran = Test::new()
        .file("policies/custom.toml", CUSTOM)
        .file(
            "svc.yaml",
            "# ops:ignore-file no-todo -- notes for later\napiVersion: v1\nkind: Service\nmetadata:\n  name: s # TODO\nspec:\n  type: NodePort # ops:ignore no-nodeport -- the lab has no ingress\n",
        )
        .run_with(&["lint", "--format", "json"]);
    ran.assert_code(0);
    assert_eq!(findings(&ran), vec![]);
    assert_eq!(scanned(&ran), 1);
}

#[test]
fn suppression_findings_follow_their_settings() {
    let ran = Test::new()
        .file("policies/lint.toml", "[rules.suppression]\nseverity = \"info\"\n")
        .file("pod.yaml", "# ops:ignore-file pinned-image\n")
        .run_with(&["lint", "--format", "json"]);
    ran.assert_code(0);
    assert_eq!(findings(&ran), vec![found("suppression", "info", "pod.yaml")]);
}

#[test]
fn sarif_rule_metadata_comes_from_the_registry() {
    let ran = repo().run_with(&["lint", "--format", "sarif"]);
    let v: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    let rules = v["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap();
    let syntax = rules.iter().find(|r| r["id"] == "yaml-syntax").unwrap();
    assert_eq!(syntax["name"], "OPS007");
    assert!(syntax["help"]["text"].as_str().unwrap().contains("## Why"));
    assert_eq!(rules.iter().filter(|r| r["id"] == "yaml-syntax").count(), 1);
}

#[test]
fn policy_values_of_the_wrong_type_are_diagnostics_with_positions() {
    let ran = Test::new()
        .file("pod.yaml", FLOATING_POD)
        .file(
            "policies/lint.toml",
            "[rules.no-helm]\nenabled = \"false\"\n\n[rules.pinned-image]\nrequire-digest = \"yes\"\nfloating-tags = \"*-alpine\"\nfloating-tag = [\"*-dind\"]\nexclude = \"legacy/**\"\n\n[rules.nix-container]\nregistry = 1\n\n[rules.yaml-syntax]\nseverity = \"warning\"\n",
        )
        .run_with(&["lint"]);
    ran.assert_code(2);
    for place in [
        "policies/lint.toml:2:11",
        "policies/lint.toml:5:18",
        "policies/lint.toml:6:17",
        "policies/lint.toml:7:1",
        "policies/lint.toml:8:11",
        "policies/lint.toml:11:12",
    ] {
        assert!(ran.stderr.contains(place), "{place}:\n{}", ran.stderr);
    }
    snapshot_settings().bind(|| insta::assert_snapshot!("lint_policy_types", ran.stderr));
}

/// SARIF: every result's `ruleIndex` points at its rule (custom rules included, under
/// their ids), every rule has a full description. rdjson: reviewdog's fields.
#[test]
fn sarif_and_rdjson_name_each_rule() {
    let test = Test::new()
        .file("policies/custom.toml", CUSTOM)
        .file("svc.yaml", SERVICE)
        .file("pod.yaml", FLOATING_POD);
    let sarif: serde_json::Value =
        serde_json::from_str(&test.run_with(&["lint", "--format", "sarif"]).stdout).unwrap();
    let run = &sarif["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert!(rules.iter().any(|r| r["id"] == "no-nodeport"));
    for rule in rules {
        assert!(
            rule["fullDescription"]["text"]
                .as_str()
                .is_some_and(|t| t.len() > 10),
            "{rule}"
        );
    }
    let results = run["results"].as_array().unwrap();
    assert!(results.len() >= 3, "{results:?}");
    for result in results {
        let index = usize::try_from(result["ruleIndex"].as_u64().unwrap()).unwrap();
        assert_eq!(rules[index]["id"], result["ruleId"], "{result}");
    }
    assert!(results.iter().any(|r| r["ruleId"] == "no-todo"));

    let rdjson: serde_json::Value =
        serde_json::from_str(&test.run_with(&["lint", "--format", "rdjson"]).stdout).unwrap();
    let diagnostics = rdjson["diagnostics"].as_array().unwrap();
    assert_eq!(diagnostics.len(), results.len());
    let nodeport = diagnostics
        .iter()
        .find(|d| d["code"]["value"] == "no-nodeport (OPS900)")
        .expect("the custom rule by its id");
    assert_eq!(nodeport["location"]["path"], "svc.yaml");
    assert_eq!(nodeport["location"]["range"]["start"]["line"], 6);
    assert_eq!(nodeport["severity"], "ERROR");
}

/// Option values are checked when the policy loads, not silently dropped.
#[test]
fn a_bad_image_field_or_glob_is_a_policy_error() {
    for (option, says) in [
        ("image-fields = [\"spec.image\"]", "is not `Kind:field.path`"),
        ("floating-tags = [\"[\"]", "`floating-tags`"),
    ] {
        let ran = Test::new()
            .file("policies/p.toml", &format!("[rules.pinned-image]\n{option}\n"))
            .file("pod.yaml", FLOATING_POD)
            .run_with(&["lint"]);
        ran.assert_code(2);
        assert!(ran.stderr.contains(says), "{option}: {}", ran.stderr);
    }
}

/// The text of `[rules.ID]` in a policy file, up to the next table.
fn rule_table<'a>(policy: &'a str, id: &str) -> &'a str {
    let header = format!("[rules.{id}]");
    let start = policy
        .find(&header)
        .unwrap_or_else(|| panic!("{header} in policies/default.toml"));
    let rest = &policy[start + header.len()..];
    &rest[..rest.find("\n[").unwrap_or(rest.len())]
}

#[test]
fn the_default_policy_is_the_committed_file_and_names_every_rule_and_option() {
    let file = std::fs::read_to_string(crate::common::repo_root().join("policies/default.toml")).unwrap();
    let printed = Test::new().run_with(&["rules", "--default-policy"]);
    printed.assert_code(0);
    assert_eq!(
        printed.stdout, file,
        "ops rules --default-policy prints policies/default.toml"
    );

    let rules = Test::new().run_with(&["rules"]);
    let ids: Vec<&str> = rules
        .stdout
        .lines()
        .skip(1)
        .take_while(|l| !l.is_empty())
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert!(ids.len() >= 10, "{}", rules.stdout);
    for id in ids {
        let table = rule_table(&file, id);
        assert!(table.contains("enabled = true"), "[rules.{id}]: {table}");
        // Every option `ops rule ID` documents is shown in the rule's table.
        let doc = Test::new().run_with(&["rule", id]).stdout;
        let Some(options) = doc.split("## Options").nth(1) else {
            continue;
        };
        for line in options.lines().filter(|l| l.starts_with("- `")) {
            let option = line[3..].split('`').next().unwrap();
            assert!(
                table.contains(&format!("# {option} = ")),
                "option `{option}` of {id} is not shown in policies/default.toml"
            );
        }
    }
}

#[test]
fn the_default_policy_copied_into_a_repository_changes_nothing() {
    let example = crate::common::repo_root().join("examples/homelab");
    let lint = |dir: &std::path::Path| {
        let ran = Test::new().run_with(&["lint", "-C", dir.to_str().unwrap(), "--format", "json"]);
        let doc: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
        (ran.code, doc["findings"].clone(), doc["files_scanned"].clone())
    };
    let without = lint(&example);
    let copy = tempfile::tempdir().unwrap();
    crate::common::copy_example(&example, copy.path());
    std::fs::create_dir(copy.path().join("policies")).unwrap();
    std::fs::copy(
        crate::common::repo_root().join("policies/default.toml"),
        copy.path().join("policies/default.toml"),
    )
    .unwrap();
    let with = lint(copy.path());
    assert_eq!(with.0, without.0);
    assert_eq!(with.1, without.1);
    // The copied policy file itself is not a manifest.
    assert_eq!(with.2, without.2);
}

#[test]
fn ops_rules_shows_the_severity_the_repository_gives() {
    let test = Test::new()
        .file(
            "policies/main.toml",
            "[rules.no-helm]\nseverity = \"warning\"\n\n[rules.nix-container]\nenabled = false\n",
        )
        .file(
            "k8s/a.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
        );
    let ran = test.run_with(&["rules"]);
    ran.assert_code(0);
    let line = |id: &str| ran.stdout.lines().find(|l| l.starts_with(id)).unwrap().to_owned();
    assert!(line("no-helm").contains(" warning "), "{}", ran.stdout);
    assert!(line("nix-container").contains(" off "), "{}", ran.stdout);
    assert!(line("pinned-image").contains(" error "), "{}", ran.stdout);
    ran.assert_stdout("this repository's policies/ over the default policy");
    let bare = Test::new().run_with(&["rules"]);
    bare.assert_stdout("the default policy (this repository has no policies/)");
}
