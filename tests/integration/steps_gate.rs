use crate::common::Test;

const LOG: &str = r#"2026-02-20T10:00:01Z starting migration
2026-02-20T10:00:09Z User migration completed {"migrated":42,"total_failed":0,"failed_user_ids":"[]"}
"#;

/// The gate, and a task after it that uses the `migrated` capture when `expect` has
/// that group (a reference to a value the gate cannot produce does not load).
fn gate_tasks(expect: &str, reject: &str) -> String {
    let migrated = if expect.contains("(?P<migrated>") {
        "{{ tasks.migration-verified.migrated }}"
    } else {
        "none"
    };
    format!(
        r#"
[tasks.migration-verified]
gate = {{ cmd = ["cat", "migration.log"], expect = '{expect}', reject = '{reject}' }}

[tasks.switch-over]
deps = ["migration-verified"]
shell = "echo migrated={migrated} > switched"
"#
    )
}

#[test]
fn a_gate_passes_and_hands_its_captures_on() {
    let ran = Test::new()
        .file("migration.log", LOG)
        .tasks(&gate_tasks(
            r#""migrated":(?P<migrated>\d+),"total_failed":0"#,
            r#""failed_user_ids":"\[[^\]]"#,
        ))
        .args(&["run", "switch-over"])
        .run();
    ran.assert_code(0);
    assert!(ran.stdout.contains("migrated = 42"), "{}", ran.stdout);
    assert_eq!(ran.read("switched"), "migrated=42\n");
}

#[test]
fn a_gate_whose_pattern_is_missing_stops_the_run() {
    let ran = Test::new()
        .file(
            "migration.log",
            &LOG.replace("\"total_failed\":0", "\"total_failed\":3"),
        )
        .tasks(&gate_tasks(r#""total_failed":0"#, "nothing"))
        .args(&["run", "switch-over"])
        .run();
    ran.assert_code(1);
    assert!(
        ran.stdout
            .contains(r#"gate not met: /"total_failed":0/ not found in the output of `cat migration.log`"#),
        "{}",
        ran.stdout
    );
    assert!(!ran.exists("switched"));
}

#[test]
fn a_rejected_line_is_quoted() {
    let ran = Test::new()
        .file(
            "migration.log",
            &LOG.replace(r#""failed_user_ids":"[]""#, r#""failed_user_ids":"[u-17]""#),
        )
        .tasks(&gate_tasks("completed", r#""failed_user_ids":"\[[^\]]"#))
        .args(&["run", "switch-over"])
        .run();
    ran.assert_code(1);
    assert!(ran.stdout.contains("gate rejected"), "{}", ran.stdout);
    assert!(ran.stdout.contains("matched on line 2"), "{}", ran.stdout);
}

const CONFIRM: &str = r#"
[tasks.users-logged-in]
gate = { confirm = "Have all users logged in through Dex at least once?" }

[tasks.drop-zitadel]
deps = ["users-logged-in"]
shell = "touch dropped"
"#;

#[test]
fn a_confirmation_gate_needs_a_person_or_yes() {
    let test = Test::new().tasks(CONFIRM);
    let refused = test.run_with(&["run", "drop-zitadel"]);
    refused.assert_code(2);
    assert!(refused.stderr.contains("users-logged-in"), "{}", refused.stderr);
    assert!(!test.root().join("dropped").exists());

    test.run_with(&["run", "drop-zitadel", "--diff"]).assert_code(0);
    assert!(!test.root().join("dropped").exists());

    let accepted = test.run_with(&["run", "drop-zitadel", "--yes"]);
    accepted.assert_code(0);
    assert!(test.root().join("dropped").exists());
}

#[test]
fn an_invalid_pattern_is_a_load_error() {
    let ran = Test::new()
        .tasks("[tasks.g]\ngate = { shell = \"true\", expect = \"(unclosed\" }\n")
        .args(&["validate"])
        .run();
    ran.assert_code(2);
    assert!(
        ran.stderr.contains("invalid regular expression"),
        "{}",
        ran.stderr
    );
}

#[test]
fn a_gate_whose_command_fails_shows_what_it_judged() {
    let ran = Test::new()
        .file("migration.log", LOG)
        .tasks("[tasks.g]\ngate = { shell = \"cat migration.log; grep -q never migration.log\", expect = 'done' }\n")
        .args(&["run", "g"])
        .run();
    ran.assert_code(1);
    assert!(
        ran.stdout.contains("exited with code 1; its output ended with:"),
        "{}",
        ran.stdout
    );
    assert!(
        ran.stdout
            .contains("| 2026-02-20T10:00:09Z User migration completed"),
        "{}",
        ran.stdout
    );
}
