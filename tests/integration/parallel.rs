use crate::common::Test;

const TWO_SLEEPS: &str = r#"
[tasks.one]
cmd = ["sleep", "1"]

[tasks.two]
cmd = ["sleep", "1"]

[tasks.both]
deps = ["one", "two"]
"#;

/// The order of start and finish events for `one` and `two`.
fn order(events: &[serde_json::Value]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["task"] == "one" || e["task"] == "two")
        .filter_map(|e| match e["event"].as_str() {
            Some("task_started") => Some(format!("start {}", e["task"].as_str().unwrap())),
            Some("task_finished") => Some(format!("end {}", e["task"].as_str().unwrap())),
            _ => None,
        })
        .collect()
}

#[test]
fn independent_tasks_overlap_with_two_jobs() {
    let ran = Test::new()
        .tasks(TWO_SLEEPS)
        .args(&["run", "both", "-j", "2", "--output", "json"])
        .run();
    ran.assert_code(0);
    let order = order(&ran.events());
    assert_eq!(
        &order[..2],
        ["start one", "start two"],
        "both start before either ends: {order:?}"
    );
}

#[test]
fn one_job_runs_them_one_after_the_other() {
    let ran = Test::new()
        .tasks(TWO_SLEEPS)
        .args(&["run", "both", "-j", "1", "--output", "json"])
        .run();
    ran.assert_code(0);
    assert_eq!(
        order(&ran.events()),
        ["start one", "end one", "start two", "end two"]
    );
}
