//! Jobs on the in-memory API server: a created Job gets pods that really run its
//! container's command on this machine (with its `env`, and its `secretKeyRef`s read
//! from stored Secrets), one pod per attempt up to `backoffLimit`; their logs can be
//! followed and their pods watched; deleting the Job kills what runs. An image whose
//! name contains `unpullable` never starts (`ImagePullBackOff`).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

use super::{State, matches, param, status};

/// `POST /apis/batch/v1/namespaces/NS/jobs`.
pub(super) fn create(shared: &Arc<Mutex<State>>, ns: &str, query: &str, body: &[u8]) -> (u16, Value) {
    let mut job: Value = serde_json::from_slice(body).unwrap();
    let name = job["metadata"]["name"].as_str().unwrap_or_default().to_owned();
    let key = format!("batch/v1/{ns}/jobs/{name}");
    let mut state = shared.lock().unwrap();
    if !state.objects.contains_key(&format!("v1/-/namespaces/{ns}")) {
        return status(404, "NotFound", &format!("namespaces \"{ns}\" not found"));
    }
    if state.objects.contains_key(&key) {
        return status(
            409,
            "AlreadyExists",
            &format!("jobs.batch \"{name}\" already exists"),
        );
    }
    let meta = job["metadata"].as_object_mut().unwrap();
    meta.insert("namespace".into(), json!(ns));
    meta.insert("uid".into(), json!(format!("uid-{name}")));
    meta.insert("resourceVersion".into(), json!((state.version + 1).to_string()));
    meta.insert("creationTimestamp".into(), json!("2026-01-01T00:00:00Z"));
    job["spec"]["completions"] = json!(1);
    job["spec"]["parallelism"] = json!(1);
    job["spec"]["completionMode"] = json!("NonIndexed");
    job["status"] = json!({});
    if param(query, "dryRun") == Some("All") {
        return (201, job);
    }
    state.version += 1;
    state.objects.insert(key.clone(), (job.clone(), Value::Null));
    drop(state);
    let shared = Arc::clone(shared);
    let spec = job.clone();
    std::thread::spawn(move || run(&shared, &key, &spec));
    (201, job)
}

/// `DELETE` of a Job: it goes at once, its pods with it (Background), and the process
/// of a running pod is killed.
pub(super) fn delete(state: &mut State, ns: &str, name: &str) -> (u16, Value) {
    let key = format!("batch/v1/{ns}/jobs/{name}");
    if state.objects.remove(&key).is_none() {
        return status(404, "NotFound", &format!("jobs.batch \"{name}\" not found"));
    }
    if let Some(pid) = state.running.remove(&key) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
    }
    let prefix = format!("v1/{ns}/pods/{name}-");
    state.objects.retain(|k, _| !k.starts_with(&prefix));
    state.version += 1;
    (
        200,
        json!({"kind": "Status", "apiVersion": "v1", "status": "Success"}),
    )
}

/// Run the Job's pods, one attempt after another.
fn run(shared: &Arc<Mutex<State>>, key: &str, job: &Value) {
    let ns = job["metadata"]["namespace"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let name = job["metadata"]["name"].as_str().unwrap_or_default().to_owned();
    let backoff = job["spec"]["backoffLimit"].as_u64().unwrap_or(6);
    let container = job["spec"]["template"]["spec"]["containers"][0].clone();
    let alive = |state: &State| state.objects.contains_key(key);
    for attempt in 0..=backoff {
        let pod = format!("v1/{ns}/pods/{name}-p{attempt}");
        let mut labels = job["spec"]["template"]["metadata"]["labels"].clone();
        labels["job-name"] = json!(name);
        labels["batch.kubernetes.io/job-name"] = json!(name);
        let set = |phase: &str, container_state: Value| {
            let mut state = shared.lock().unwrap();
            if !alive(&state) {
                return false;
            }
            state.version += 1;
            let object = json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": pod.rsplit('/').next(), "namespace": ns, "labels": labels,
                             "resourceVersion": state.version.to_string()},
                "spec": {"restartPolicy": "Never", "containers": [{"name": container["name"], "image": container["image"]}]},
                "status": {"phase": phase, "containerStatuses": [{"name": container["name"], "ready": phase == "Running",
                    "restartCount": 0, "image": container["image"], "imageID": "", "state": container_state}]}});
            state.objects.insert(pod.clone(), (object, Value::Null));
            true
        };
        let waiting =
            |reason: &str, message: &str| json!({"waiting": {"reason": reason, "message": message}});
        if !set("Pending", waiting("ContainerCreating", "")) {
            return;
        }
        std::thread::sleep(Duration::from_millis(30));
        if container["image"]
            .as_str()
            .unwrap_or_default()
            .contains("unpullable")
        {
            let image = container["image"].as_str().unwrap_or_default();
            set(
                "Pending",
                waiting(
                    "ErrImagePull",
                    &format!("failed to pull image \"{image}\": not found"),
                ),
            );
            std::thread::sleep(Duration::from_millis(30));
            set(
                "Pending",
                waiting("ImagePullBackOff", &format!("Back-off pulling image \"{image}\"")),
            );
            return;
        }
        let env = match environment(shared, &ns, &container) {
            Ok(env) => env,
            Err(message) => {
                set("Pending", waiting("CreateContainerConfigError", &message));
                return;
            }
        };
        let Some(code) = execute(shared, key, &pod, &container, &env, || {
            set(
                "Running",
                json!({"running": {"startedAt": "2026-01-01T00:00:00Z"}}),
            )
        }) else {
            return;
        };
        let reason = if code == 0 { "Completed" } else { "Error" };
        let phase = if code == 0 { "Succeeded" } else { "Failed" };
        if !set(phase, json!({"terminated": {"exitCode": code, "reason": reason}})) {
            return;
        }
        let mut state = shared.lock().unwrap();
        if let Some((job, _)) = state.objects.get_mut(key) {
            if code == 0 {
                job["status"] =
                    json!({"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]});
                return;
            }
            job["status"]["failed"] = json!(attempt + 1);
        }
    }
    let mut state = shared.lock().unwrap();
    if let Some((job, _)) = state.objects.get_mut(key) {
        job["status"]["conditions"] =
            json!([{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]);
    }
}

/// The container's environment, `secretKeyRef`s read from the stored Secrets.
fn environment(shared: &Mutex<State>, ns: &str, container: &Value) -> Result<Vec<(String, String)>, String> {
    let state = shared.lock().unwrap();
    let mut env = Vec::new();
    for entry in container["env"].as_array().into_iter().flatten() {
        let name = entry["name"].as_str().unwrap_or_default().to_owned();
        if let Some(value) = entry["value"].as_str() {
            env.push((name, value.to_owned()));
            continue;
        }
        let from = &entry["valueFrom"]["secretKeyRef"];
        let (secret, key) = (
            from["name"].as_str().unwrap_or_default(),
            from["key"].as_str().unwrap_or_default(),
        );
        let Some((object, _)) = state.objects.get(&format!("v1/{ns}/secrets/{secret}")) else {
            return Err(format!("secret \"{secret}\" not found"));
        };
        let value = if let Some(text) = object["stringData"][key].as_str() {
            text.to_owned()
        } else if let Some(encoded) = object["data"][key].as_str() {
            String::from_utf8(base64::engine::general_purpose::STANDARD.decode(encoded).unwrap()).unwrap()
        } else {
            return Err(format!("couldn't find key {key} in Secret {ns}/{secret}"));
        };
        env.push((name, value));
    }
    Ok(env)
}

/// Run the container's command, its output into the pod's log; its exit code, or
/// `None` when the Job went away first.
fn execute(
    shared: &Mutex<State>,
    key: &str,
    pod: &str,
    container: &Value,
    env: &[(String, String)],
    started: impl Fn() -> bool,
) -> Option<i32> {
    let argv: Vec<String> = container["command"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a.as_str().map(str::to_owned))
        .collect();
    let (reader, writer) = std::io::pipe().unwrap();
    let spawned = Command::new(&argv[0])
        .args(&argv[1..])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().cloned())
        .stdin(Stdio::null())
        .stdout(writer.try_clone().unwrap())
        .stderr(writer)
        .spawn();
    // As a container runtime reports a command it cannot start: exit code 128.
    let Ok(mut child) = spawned else {
        let mut state = shared.lock().unwrap();
        state.logs.insert(
            pod.to_owned(),
            format!("exec: \"{}\": executable file not found in $PATH\n", argv[0]),
        );
        return state.objects.contains_key(key).then_some(128);
    };
    {
        let mut state = shared.lock().unwrap();
        state
            .running
            .insert(key.to_owned(), i32::try_from(child.id()).unwrap());
        state.logs.insert(pod.to_owned(), String::new());
    }
    if !started() {
        let _ = child.kill();
    }
    for line in BufReader::new(reader).lines() {
        let Ok(line) = line else { break };
        let mut state = shared.lock().unwrap();
        if let Some(log) = state.logs.get_mut(pod) {
            log.push_str(&line);
            log.push('\n');
        }
    }
    let code = child.wait().unwrap().code();
    let mut state = shared.lock().unwrap();
    state.running.remove(key);
    if !state.objects.contains_key(key) {
        return None;
    }
    Some(code.unwrap_or(137))
}

/// Whether the pod's container has terminated (its log is complete).
fn terminated(state: &State, pod: &str) -> bool {
    state
        .objects
        .get(pod)
        .is_none_or(|(object, _)| !object["status"]["containerStatuses"][0]["state"]["terminated"].is_null())
}

/// `GET …/pods/NAME/log`: what the container wrote; with `follow=true`, kept open
/// until it has terminated.
pub(super) fn log(mut stream: TcpStream, shared: &Mutex<State>, ns: &str, name: &str, query: &str) {
    let pod = format!("v1/{ns}/pods/{name}");
    let follow = param(query, "follow") == Some("true");
    let _ = write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n"
    );
    let mut sent = 0;
    loop {
        let (chunk, done) = {
            let state = shared.lock().unwrap();
            let log = state.logs.get(&pod).map_or("", String::as_str);
            (log[sent..].to_owned(), terminated(&state, &pod))
        };
        if !chunk.is_empty() {
            if stream.write_all(chunk.as_bytes()).is_err() {
                return;
            }
            sent += chunk.len();
        }
        if done || !follow {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `GET …/pods?watch=true`: the pods that changed after `resourceVersion`, as they
/// change, for up to 2 seconds (a short `timeoutSeconds`); then the watch ends.
pub(super) fn watch(mut stream: TcpStream, shared: &Mutex<State>, ns: &str, query: &str) {
    let selector = param(query, "labelSelector").unwrap_or("").to_owned();
    let mut since: u64 = param(query, "resourceVersion")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let _ = write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
    );
    let until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < until {
        let changed: Vec<Value> = {
            let state = shared.lock().unwrap();
            super::pods(&state, Some(ns))
                .into_iter()
                .filter(|pod| matches(&pod["metadata"]["labels"], &selector))
                .filter(|pod| version(pod) > since)
                .collect()
        };
        for pod in changed {
            since = since.max(version(&pod));
            let line = json!({"type": "MODIFIED", "object": pod}).to_string();
            if writeln!(stream, "{line}").is_err() {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn version(object: &Value) -> u64 {
    object["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}
