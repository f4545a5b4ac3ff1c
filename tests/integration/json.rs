use std::collections::HashMap;

use crate::common::Test;

#[test]
fn json_events_parse_and_cover_every_task() {
    let ran = Test::new()
        .tasks(
            r#"
[tasks.hello]
shell = "echo hello; echo oops >&2"

[tasks.fails]
deps = ["hello"]
shell = "exit 4"

[tasks.never]
deps = ["fails"]
shell = "true"
"#,
        )
        .args(&["run", "never", "--output", "json"])
        .run();
    ran.assert_code(1);
    let events = ran.events();
    assert_eq!(events.first().unwrap()["event"], "run_started");
    assert_eq!(events.first().unwrap()["tasks"], 3);
    let last = events.last().unwrap();
    assert_eq!(last["event"], "run_finished");
    assert_eq!(last["exit_code"], 1);
    assert_eq!(last["results"].as_array().unwrap().len(), 3);

    let finished: HashMap<&str, &serde_json::Value> = events
        .iter()
        .filter(|e| e["event"] == "task_finished")
        .map(|e| (e["task"].as_str().unwrap(), e))
        .collect();
    assert_eq!(finished.len(), 3, "one task_finished per task");
    assert_eq!(finished["hello"]["status"], "ok");
    assert_eq!(finished["fails"]["status"], "failed");
    assert_eq!(finished["fails"]["exit_code"], 4);
    assert_eq!(finished["never"]["status"], "skipped");
    assert_eq!(finished["never"]["reason"], "dependency `fails` failed");
    assert!(finished["hello"]["duration_ms"].is_u64());

    let outputs: Vec<(&str, &str, &str)> = events
        .iter()
        .filter(|e| e["event"] == "output")
        .map(|e| {
            (
                e["task"].as_str().unwrap(),
                e["stream"].as_str().unwrap(),
                e["line"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(outputs.contains(&("hello", "stdout", "hello")));
    assert!(outputs.contains(&("hello", "stderr", "oops")));

    let started: Vec<&str> = events
        .iter()
        .filter(|e| e["event"] == "task_started")
        .map(|e| e["task"].as_str().unwrap())
        .collect();
    assert_eq!(started, ["hello", "fails"]);
}

#[test]
fn long_lines_without_newlines_are_split_not_lost() {
    let ran = Test::new()
        .tasks("[tasks.big]\nshell = \"head -c 200000 /dev/zero | tr '\\\\0' x\"\n")
        .args(&["run", "big", "--output", "json"])
        .run();
    ran.assert_code(0);
    let total: usize = ran
        .events()
        .iter()
        .filter(|e| e["event"] == "output")
        .map(|e| e["line"].as_str().unwrap().len())
        .sum();
    assert_eq!(total, 200_000);
}
