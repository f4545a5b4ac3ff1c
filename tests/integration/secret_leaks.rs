//! Secrets never reach what `ops` writes: one table of scenarios, each checked in
//! every stream — the terminal (human), `--output json`, the run journal,
//! `ops runs show` and the saved plan of a `--diff`.

use crate::common::Test;

const PW: &str = "s3cr3t-pw-4821";

struct Scenario {
    name: &'static str,
    tasks: String,
    /// Environment of the run: the secrets' values.
    env: Vec<(&'static str, String)>,
    /// Values that must appear nowhere.
    secrets: Vec<String>,
}

fn scenarios() -> Vec<Scenario> {
    let long_line = "printf '%s%s\\n' \"$(head -c 65530 /dev/zero | tr '\\\\0' a)\" \"$OPS_PW\"";
    vec![
        Scenario {
            // Never used through `{{ secrets.pw }}`: redacted from the start anyway.
            name: "an environment secret no task uses",
            tasks: "[secrets]\npw = { env = \"OPS_PW\" }\n[tasks.t]\nshell = \"echo here: $OPS_PW\"\ncheck-shell = \"echo would print $OPS_PW; exit 1\"\n".into(),
            env: vec![("OPS_PW", PW.into())],
            secrets: vec![PW.into()],
        },
        Scenario {
            name: "two secrets that overlap",
            tasks: "[secrets]\na = { env = \"OPS_A\" }\nb = { env = \"OPS_B\" }\n[tasks.t]\nshell = \"echo x${OPS_A}ghi-y; echo {{ secrets.b }}\"\ncheck-shell = \"echo x${OPS_A}ghi-y; exit 1\"\n".into(),
            env: vec![("OPS_A", "abcdef".into()), ("OPS_B", "defghi".into())],
            // `defghi` overlaps `abcdef`: no part of it may show (`x***-y`).
            secrets: vec!["abcdef".into(), "defghi".into(), "***ghi".into()],
        },
        Scenario {
            // The secret straddles the 64 KiB where a line without newline is cut.
            name: "a secret across the cut of a long line",
            tasks: format!(
                "[secrets]\npw = {{ env = \"OPS_PW\" }}\n[tasks.t]\nshell = \"{}\"\ncheck-shell = \"{}; exit 1\"\n",
                long_line.replace('"', "\\\""),
                long_line.replace('"', "\\\"")
            ),
            env: vec![("OPS_PW", PW.into())],
            secrets: vec![PW.into(), PW[..8].into(), PW[8..].into()],
        },
        Scenario {
            name: "a value that holds a secret",
            tasks: "[secrets]\npw = { env = \"OPS_PW\" }\n[tasks.p]\nread-only = true\nshell = \"echo token={{ secrets.pw }}\"\n[tasks.t]\ndeps = [\"p\"]\nshell = \"echo got {{ tasks.p.stdout }}\"\ncheck-shell = \"echo got {{ tasks.p.stdout }}; exit 1\"\n".into(),
            env: vec![("OPS_PW", PW.into())],
            secrets: vec![PW.into()],
        },
        Scenario {
            name: "a failing task that prints its secret on stderr",
            tasks: "[secrets]\npw = { env = \"OPS_PW\" }\n[tasks.t]\nshell = \"echo auth failed for {{ secrets.pw }} >&2; exit 1\"\ncheck-shell = \"echo auth failed for {{ secrets.pw }} >&2; exit 2\"\n".into(),
            env: vec![("OPS_PW", PW.into())],
            secrets: vec![PW.into()],
        },
    ]
}

#[test]
fn no_stream_shows_a_secret() {
    for scenario in scenarios() {
        let mut test = Test::new().tasks(&scenario.tasks);
        for (key, value) in &scenario.env {
            test = test.env(key, value);
        }
        let human = test.run_with(&["run", "t"]);
        let json = test.run_with(&["run", "t", "--output", "json"]);
        let diff = test.run_with(&["run", "t", "--diff", "--save-plan", "t.plan"]);
        let mut streams: Vec<(String, String)> = vec![
            ("human".into(), format!("{}{}", human.stdout, human.stderr)),
            ("json".into(), format!("{}{}", json.stdout, json.stderr)),
            ("diff".into(), format!("{}{}", diff.stdout, diff.stderr)),
        ];
        if test.root().join("t.plan").exists() {
            streams.push(("saved plan".into(), diff.read("t.plan")));
        }
        for entry in std::fs::read_dir(test.root().join(".ops/runs")).unwrap() {
            let path = entry.unwrap().path();
            let id = path.file_stem().unwrap().to_string_lossy().into_owned();
            streams.push((format!("journal {id}"), std::fs::read_to_string(&path).unwrap()));
            let shown = test.run_with(&["runs", "show", &id]);
            streams.push((format!("runs show {id}"), shown.stdout));
        }
        assert!(streams.len() >= 7, "{}: every stream was produced", scenario.name);
        for (stream, text) in &streams {
            for secret in &scenario.secrets {
                assert!(
                    !text.contains(secret.as_str()),
                    "{}: `{secret}` in {stream}:\n{}",
                    scenario.name,
                    text.chars().take(2000).collect::<String>()
                );
            }
        }
        assert!(
            streams.iter().any(|(_, text)| text.contains("***")),
            "{}: the secret was there to redact",
            scenario.name
        );
    }
}

#[test]
fn a_secret_too_short_to_redact_is_refused() {
    let ran = Test::new()
        .tasks("[secrets]\npw = { env = \"OPS_PW\" }\n[tasks.t]\nshell = \"echo {{ secrets.pw }} > used\"\n")
        .env("OPS_PW", "ab")
        .args(&["run", "t"])
        .run();
    ran.assert_code(1);
    assert!(ran.stdout.contains("cannot read secret `pw`"), "{}", ran.stdout);
    assert!(ran.stdout.contains("at least 4"), "{}", ran.stdout);
    assert!(!ran.exists("used"), "the task did not run");
}

/// A value that held a secret is kept as `***` in the journal: `--resume` runs its
/// producer again (and says so) rather than hand `***` to the next task.
#[test]
fn resume_never_hands_a_redacted_value_on() {
    let tasks = "[secrets]\npw = { env = \"OPS_PW\" }\n\
[tasks.p]\nshell = \"echo {{ secrets.pw }}; echo > p-ran-$(ls p-ran-* 2>/dev/null | wc -l)\"\n\
[tasks.q]\ndeps = [\"p\"]\nshell = \"test -e go || exit 1; printf %s '{{ tasks.p.stdout }}' > received\"\n";
    let test = Test::new().tasks(tasks).env("OPS_PW", PW);
    test.run_with(&["run", "q"]).assert_code(1);
    std::fs::write(test.root().join("go"), "").unwrap();
    let resumed = test.run_with(&["run", "q", "--resume"]);
    resumed.assert_code(0);
    assert!(
        resumed.stderr.contains("held a secret") && resumed.stderr.contains(": p"),
        "{}",
        resumed.stderr
    );
    assert_eq!(resumed.read("received"), PW, "q got the real value");
    assert!(resumed.exists("p-ran-1"), "p ran again");
}

#[test]
fn a_long_output_is_whole_or_no_value() {
    // 100,000 bytes: past the 64 KiB once kept, within what one argument may hold.
    let tasks = "[tasks.big]\nshell = \"head -c 100000 /dev/zero | tr '\\\\0' x\"\n\
[tasks.size]\ndeps = [\"big\"]\nshell = \"printf %s '{{ tasks.big.stdout }}' | wc -c > size\"\n\
[tasks.huge]\nshell = \"head -c 17000000 /dev/zero | tr '\\\\0' x\"\n\
[tasks.after-huge]\ndeps = [\"huge\"]\nshell = \"echo '{{ tasks.huge.stdout }}' > never\"\n";
    let test = Test::new().tasks(tasks);
    let size = test.run_with(&["run", "size", "--output", "json"]);
    size.assert_code(0);
    assert_eq!(size.read("size").trim(), "100000", "past 64 KiB, whole");
    let huge = test.run_with(&["run", "after-huge", "--output-mode", "grouped"]);
    huge.assert_code(1);
    let end = &huge.stdout[huge.stdout.len().saturating_sub(3000)..];
    assert!(end.contains("more than `{{ tasks.NAME.stdout }}` keeps"), "{end}");
    assert!(
        end.contains("it uses `{{ tasks.huge.stdout }}`, which `huge` did not produce"),
        "{end}"
    );
    assert!(!huge.exists("never"));
}

/// The same through a saved plan: a no-change task whose value held a secret runs
/// again when the plan is applied, so the next task gets the value, not `***`.
#[test]
fn a_plan_never_hands_a_redacted_value_on() {
    let tasks = "[secrets]\npw = { env = \"OPS_PW\" }\n\
[tasks.p]\nread-only = true\nshell = \"echo {{ secrets.pw }}\"\n\
[tasks.q]\ndeps = [\"p\"]\nshell = \"printf %s '{{ tasks.p.stdout }}' > received\"\ncheck-shell = \"exit 1\"\n";
    let test = Test::new().tasks(tasks).env("OPS_PW", PW);
    test.run_with(&["run", "q", "--diff", "--save-plan", "q.plan"])
        .assert_code(0);
    let plan = std::fs::read_to_string(test.root().join("q.plan")).unwrap();
    assert!(!plan.contains(PW) && plan.contains("\"redacted\""), "{plan}");
    let applied = test.run_with(&["run", "--plan", "q.plan"]);
    applied.assert_code(0);
    assert_eq!(applied.read("received"), PW, "q got the real value");
}
