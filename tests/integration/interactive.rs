//! `interactive = true`: the task gets the terminal (a real pseudo-terminal, from
//! util-linux `script`), runs alone, and a run without a terminal refuses it unless
//! `--yes`; every other task's stdin is /dev/null.

use crate::common::{Pty, Test, alive, require_tool, wait_for};

/// The screen's lines, without the terminal's carriage returns.
fn lines(screen: &str) -> Vec<&str> {
    screen.lines().map(|l| l.trim_end_matches('\r')).collect()
}

const ASK: &str = r#"
[tasks.ask]
shell = '''
test -t 0 && test -t 1 && test -t 2 && echo "on a terminal"
read -r answer
echo "got $answer"
'''
interactive = true
"#;

#[test]
fn a_prompt_reads_what_is_typed_and_prints_unprefixed() {
    if !require_tool("script") {
        return;
    }
    let test = Test::new().tasks(ASK);
    let mut pty = Pty::spawn(&test, &["run", "ask"]);
    pty.wait_for("on a terminal");
    pty.send(b"hello\n");
    let (code, screen) = pty.finish();
    assert_eq!(code, Some(0), "{screen}");
    let lines = lines(&screen);
    assert!(lines.contains(&"on a terminal"), "{screen}");
    assert!(lines.contains(&"got hello"), "its own line, no prefix: {screen}");
    let header = lines.iter().position(|l| l.contains("ask │ ▶")).expect(&screen);
    let output = lines.iter().position(|l| *l == "got hello").unwrap();
    assert!(header < output, "a header line names it first: {screen}");
    assert!(lines[header].contains("interactive"), "{screen}");
}

/// Each task appends `start NAME` and `end NAME` to `log` around a pause.
fn logging(name: &str, interactive: bool) -> String {
    format!(
        "[tasks.{name}]\nshell = 'echo \"start $OPS_TASK\" >> \"$OPS_ROOT/log\"; sleep 0.2; echo \"end $OPS_TASK\" >> \"$OPS_ROOT/log\"'\ninteractive = {interactive}\n"
    )
}

/// Nothing else started or was running when `alone` started, and nothing started or
/// ended before it ended.
#[track_caller]
fn ran_alone(log: &str, alone: &str) {
    let events: Vec<&str> = log.lines().collect();
    let start = events
        .iter()
        .position(|e| *e == format!("start {alone}"))
        .expect(log);
    let end = format!("end {alone}");
    assert_eq!(events.get(start + 1).copied(), Some(end.as_str()), "{log}");
    let before = &events[..start];
    let started = before.iter().filter(|e| e.starts_with("start ")).count();
    let ended = before.iter().filter(|e| e.starts_with("end ")).count();
    assert_eq!(started, ended, "every task before it had ended: {log}");
    assert_eq!(events.len(), 8, "four tasks ran: {log}");
}

#[test]
fn an_interactive_task_never_overlaps_another() {
    if !require_tool("script") {
        return;
    }
    let tasks = [
        logging("one", false),
        logging("prompt", true),
        logging("two", false),
        logging("three", false),
        "[tasks.all]\ndeps = [\"one\", \"prompt\", \"two\", \"three\"]\n".to_owned(),
    ]
    .concat();
    let test = Test::new().tasks(&tasks);
    let (code, screen) = Pty::spawn(&test, &["run", "all", "-j", "4"]).finish();
    assert_eq!(code, Some(0), "{screen}");
    ran_alone(
        &std::fs::read_to_string(test.root().join("log")).unwrap(),
        "prompt",
    );

    // Without a terminal (allowed by --yes) it still runs alone.
    std::fs::remove_file(test.root().join("log")).unwrap();
    test.run_with(&["run", "all", "-j", "4", "--yes"]).assert_code(0);
    ran_alone(
        &std::fs::read_to_string(test.root().join("log")).unwrap(),
        "prompt",
    );
}

const REFUSED: &str = r#"
[tasks.first]
shell = "touch first-ran"

[tasks.ask]
shell = '''
if read -r answer; then echo "got $answer"; else echo "end of file"; fi
touch ask-ran
'''
interactive = true

[tasks.all]
deps = ["first", "ask"]
"#;

#[test]
fn a_run_without_a_terminal_is_refused_before_anything_runs() {
    let ran = Test::new().tasks(REFUSED).args(&["run", "all"]).run();
    ran.assert_code(2);
    assert!(!ran.exists("first-ran"), "nothing may run");
    assert!(!ran.exists("ask-ran"));
    assert!(ran.stderr.contains("need a terminal"), "{}", ran.stderr);
    assert!(ran.stderr.contains(": ask"), "names the task: {}", ran.stderr);
    assert!(ran.stderr.contains("--yes"), "the way out: {}", ran.stderr);
}

#[test]
fn with_yes_and_no_terminal_it_runs_as_any_task_and_read_gets_end_of_file() {
    let ran = Test::new().tasks(REFUSED).args(&["run", "all", "--yes"]).run();
    ran.assert_code(0);
    assert!(ran.exists("first-ran") && ran.exists("ask-ran"));
    assert!(
        ran.stdout
            .lines()
            .any(|l| l.starts_with("ask ") && l.ends_with("│ end of file")),
        "captured and prefixed: {}",
        ran.stdout
    );
}

#[test]
fn other_tasks_read_dev_null_even_on_a_terminal() {
    if !require_tool("script") {
        return;
    }
    let test = Test::new().tasks(
        r#"
[tasks.plain]
shell = '''
test ! -t 0 && echo "stdin is not a terminal"
echo "stdin is $(readlink /proc/$$/fd/0)"
if read -r line; then echo "read: $line"; else echo "read: end of file"; fi
'''
"#,
    );
    let mut pty = Pty::spawn(&test, &["run", "plain"]);
    // Typed before the task starts: a task reading the terminal would get it.
    pty.send(b"typed\n");
    let (code, screen) = pty.finish();
    assert_eq!(code, Some(0), "{screen}");
    assert!(screen.contains("stdin is not a terminal"), "{screen}");
    assert!(screen.contains("stdin is /dev/null"), "{screen}");
    assert!(screen.contains("read: end of file"), "{screen}");
    assert!(!screen.contains("read: typed"), "{screen}");
}

#[track_caller]
fn load_errors(tasks: &str, expected: &[(&str, &str)]) {
    let ran = Test::new().tasks(tasks).args(&["validate"]).run();
    ran.assert_code(2);
    for (at, says) in expected {
        assert!(
            ran.stderr.contains(&format!("[tasks/main.toml:{at}]")),
            "at {at}: {}",
            ran.stderr
        );
        assert!(ran.stderr.contains(says), "{says}: {}", ran.stderr);
    }
}

#[test]
fn interactive_on_an_aggregate_or_a_typed_step_is_a_load_error() {
    load_errors(
        r#"[tasks.phase]
deps = ["build"]
interactive = true
[tasks.build]
nix-build = { file = "default.nix" }
interactive = true
"#,
        &[
            ("3:15", "task `phase` is interactive but has no `cmd` or `shell`"),
            (
                "6:15",
                "`interactive` goes with `cmd` or `shell`, not `nix-build`",
            ),
        ],
    );
}

#[test]
fn the_output_of_an_interactive_task_is_refused_at_load() {
    load_errors(
        r#"[tasks.login]
shell = "read -r token; echo $token"
interactive = true
[tasks.use]
deps = ["login"]
shell = "echo {{ tasks.login.stdout }}"
"#,
        &[(
            "6:18",
            "task `login` is interactive: it produces no value `stdout`",
        )],
    );
}

const WITH_SECRET: &str = r#"
[secrets]
pw = { env = "OPS_TEST_PW" }

[tasks.login]
env = { PW = "{{ secrets.pw }}" }
shell = 'echo "the password is $PW"'
interactive = true
"#;

#[test]
fn an_interactive_task_with_a_secret_is_warned_about() {
    if !require_tool("script") {
        return;
    }
    let test = Test::new().tasks(WITH_SECRET).env("OPS_TEST_PW", "hunter2-value");
    let (code, screen) = Pty::spawn(&test, &["run", "login"]).finish();
    assert_eq!(code, Some(0), "{screen}");
    let lines = lines(&screen);
    let warning = lines
        .iter()
        .position(|l| l.contains("warning: task `login` is interactive and uses the secret `pw`"))
        .expect(&screen);
    assert!(lines[warning].contains("cannot be redacted"), "{screen}");
    let header = lines.iter().position(|l| l.contains("login │ ▶")).expect(&screen);
    assert!(warning < header, "before the run starts: {screen}");
    // As the warning says: the terminal shows what the task prints, as it is.
    assert!(lines.contains(&"the password is hunter2-value"), "{screen}");

    // Without the terminal (--yes), its output is captured and redacted: no warning.
    let ran = test.run_with(&["run", "login", "--yes"]);
    ran.assert_code(0).assert_stdout("the password is ***");
    assert!(!ran.stderr.contains("warning"), "{}", ran.stderr);
}

#[test]
fn ctrl_c_at_the_terminal_interrupts_the_run() {
    if !require_tool("script") {
        return;
    }
    let test = Test::new().tasks(
        r#"
[tasks.wait]
shell = 'echo started > started; sleep 30; touch finished'
interactive = true

[tasks.after]
deps = ["wait"]
shell = "touch after"
"#,
    );
    let mut pty = Pty::spawn(&test, &["run", "after"]);
    wait_for(&test.root().join("started"));
    pty.send(b"\x03");
    let (code, screen) = pty.finish();
    assert_eq!(code, Some(130), "{screen}");
    assert!(screen.contains("interrupted"), "{screen}");
    assert!(!test.root().join("finished").exists());
    assert!(!test.root().join("after").exists());
}

#[test]
fn dry_run_shows_it_and_diff_does_not_run_it() {
    let test = Test::new().tasks(
        r#"
[tasks.query]
shell = "touch ran; read -r answer"
interactive = true
read-only = true
"#,
    );
    let plan = test.run_with(&["run", "query", "--dry-run"]);
    plan.assert_code(0)
        .assert_stdout("interactive: gets the terminal, runs alone");
    assert!(!plan.stdout.contains("diff: runs it as it is"), "{}", plan.stdout);

    let diff = test.run_with(&["run", "query", "--diff"]);
    diff.assert_code(0).assert_stdout("unknown");
    diff.assert_stdout("`--diff` does not run it, read-only or not");
    assert!(!diff.exists("ran"));
}

#[test]
fn a_timeout_stops_it_and_what_it_started_but_not_ops() {
    if !require_tool("script") {
        return;
    }
    let test = Test::new().tasks(
        r#"
[tasks.slow]
shell = 'sleep 30 & echo $! > background; sleep 30'
interactive = true
timeout = "1s"
"#,
    );
    let (code, screen) = Pty::spawn(&test, &["run", "slow"]).finish();
    assert_eq!(code, Some(1), "{screen}");
    assert!(screen.contains("timed out after 1s"), "{screen}");
    let background: i32 = wait_for(&test.root().join("background")).trim().parse().unwrap();
    let start = std::time::Instant::now();
    while alive(background) {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(10),
            "what the task started in the background is stopped too"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
