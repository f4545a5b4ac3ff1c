use crate::common::{Pty, Test};

const TASKS: &str = r#"
[tasks.safe]
shell = "touch safe"

[tasks.drop-db]
deps = ["safe"]
confirm = "This deletes the database. Continue?"
shell = "touch dropped"
"#;

#[test]
fn a_non_interactive_run_with_a_confirmation_fails_before_anything_runs() {
    let ran = Test::new().tasks(TASKS).args(&["run", "drop-db"]).run();
    ran.assert_code(2);
    assert!(
        !ran.exists("safe"),
        "nothing may run, not even the tasks before the confirmation"
    );
    assert!(ran.stderr.contains("drop-db"), "{}", ran.stderr);
    assert!(ran.stderr.contains("--yes"), "{}", ran.stderr);
}

#[test]
fn yes_accepts_the_confirmation() {
    let ran = Test::new().tasks(TASKS).args(&["run", "drop-db", "--yes"]).run();
    ran.assert_code(0);
    assert!(ran.exists("dropped"));
    assert!(ran.stdout.contains("confirmed by --yes"), "{}", ran.stdout);
}

#[test]
fn diff_and_dry_run_do_not_ask() {
    let test = Test::new().tasks(TASKS);
    test.run_with(&["run", "drop-db", "--diff"]).assert_code(0);
    let plan = test.run_with(&["run", "drop-db", "--dry-run"]);
    plan.assert_code(0);
    assert!(plan.stdout.contains("This deletes the database. Continue?"));
    assert!(!test.root().join("dropped").exists());
}

/// Run `ops` in a pseudo-terminal with `input` typed at it once its question shows.
fn in_terminal(test: &Test, args: &str, input: &[u8]) -> (Option<i32>, String) {
    let args: Vec<&str> = args.split_whitespace().collect();
    let mut pty = Pty::spawn(test, &args);
    // Answer when the question is on the screen, as a person would.
    pty.wait_for("[y/N]");
    pty.send(input);
    pty.finish()
}

#[test]
fn a_person_answers_at_the_prompt() {
    if !crate::common::require_tool("script") {
        return;
    }
    let test = Test::new().tasks(TASKS);
    let (code, screen) = in_terminal(&test, "run drop-db", b"n\n");
    assert_eq!(code, Some(1), "{screen}");
    assert!(
        screen.contains("This deletes the database. Continue? [y/N]"),
        "{screen}"
    );
    assert!(screen.contains("declined at the confirmation"), "{screen}");
    assert!(test.root().join("safe").exists() && !test.root().join("dropped").exists());

    let (code, screen) = in_terminal(&test, "run drop-db", b"y\n");
    assert_eq!(code, Some(0), "{screen}");
    assert!(test.root().join("dropped").exists());
}

#[test]
fn ctrl_c_at_the_prompt_stops_the_run() {
    if !crate::common::require_tool("script") {
        return;
    }
    let test = Test::new().tasks(TASKS);
    let (code, screen) = in_terminal(&test, "run drop-db", b"\x03");
    assert_eq!(code, Some(130), "{screen}");
    assert!(!test.root().join("dropped").exists());
}
