use crate::common::{Test, require_tool};

const PLAYBOOK: &str = r#"---
- name: Provision Caddy
  hosts: all
  gather_facts: false
  vars:
    caddy_services:
      - { name: authentik, host: authentik, backend: "https://authentik.example.net" }
      - { name: grafana, host: grafana, backend: "http://127.0.0.1:3001" }
  tasks:
    - name: Render the Caddyfile
      tags: [caddy]
      ansible.builtin.template:
        src: Caddyfile.j2
        dest: "{{ caddy_dir }}/Caddyfile"
        mode: "0644"
"#;

const TEMPLATE: &str = r"{% for s in caddy_services %}
{{ s.host }}.{{ caddy_domain }} {
    reverse_proxy {{ s.backend }}
}
{% endfor %}
";

fn tasks(dir: &std::path::Path) -> String {
    format!(
        r#"
[tasks.provision-caddy]
ansible = {{ playbook = "playbook.yml", inventory = "localhost,", tags = ["caddy"], args = ["-c", "local"], extra-vars = {{ caddy_dir = "{}", caddy_domain = "ops.example.net", ansible_python_interpreter = "{{{{ ansible_playbook_python }}}}" }} }}

[tasks.changed]
deps = ["provision-caddy"]
shell = "echo {{{{ tasks.provision-caddy.changed }}}} >> changes"
"#,
        dir.join("etc").display()
    )
}

#[test]
fn check_mode_changes_nothing_apply_changes_once() {
    if !require_tool("ansible-playbook") {
        return;
    }
    let test = Test::new()
        .file("playbook.yml", PLAYBOOK)
        .file("Caddyfile.j2", TEMPLATE)
        .file("etc/.keep", "");
    std::fs::write(test.root().join("tasks/main.toml"), tasks(test.root())).unwrap();
    let caddyfile = test.root().join("etc/Caddyfile");

    let diff = test.run_with(&["run", "changed", "--diff", "--detailed-exitcode"]);
    diff.assert_code(3);
    assert!(
        diff.stdout.contains("localhost: ok=1 changed=1"),
        "{}",
        diff.stdout
    );
    assert!(
        diff.stdout.contains("+authentik.ops.example.net {"),
        "the --diff output is shown: {}",
        diff.stdout
    );
    assert!(!caddyfile.exists(), "--check --diff must not write");

    test.run_with(&["run", "changed"]).assert_code(0);
    let rendered = std::fs::read_to_string(&caddyfile).unwrap();
    assert!(
        rendered.contains("reverse_proxy https://authentik.example.net"),
        "{rendered}"
    );

    let second = test.run_with(&["run", "changed"]);
    second.assert_code(0);
    assert!(
        second.stdout.contains("localhost: ok=1 changed=0"),
        "{}",
        second.stdout
    );
    assert_eq!(
        std::fs::read_to_string(test.root().join("changes")).unwrap(),
        "1\n0\n"
    );
    test.run_with(&["run", "provision-caddy", "--diff", "--detailed-exitcode"])
        .assert_code(0);
}

#[test]
fn a_failing_play_names_the_host() {
    if !require_tool("ansible-playbook") {
        return;
    }
    let playbook = "- hosts: all\n  gather_facts: false\n  tasks:\n    - ansible.builtin.fail:\n        msg: disk full\n";
    let ran = Test::new()
        .file("fail.yml", playbook)
        .tasks("[tasks.p]\nansible = { playbook = \"fail.yml\", inventory = \"localhost,\", args = [\"-c\", \"local\"], extra-vars = { ansible_python_interpreter = \"{{ ansible_playbook_python }}\" } }\n")
        .args(&["run", "p"])
        .run();
    ran.assert_code(1);
    assert!(
        ran.stdout
            .contains("ansible-playbook failed on localhost (failed=1, unreachable=0)"),
        "{}",
        ran.stdout
    );
    assert!(ran.stdout.contains("disk full"), "{}", ran.stdout);
}

/// Extra vars take task outputs and secrets when the step runs (Jinja keeps its own
/// names); a secret goes through a private file, not the command line.
#[test]
fn extra_vars_take_task_outputs_and_secrets() {
    if !require_tool("ansible-playbook") {
        return;
    }
    let playbook = r#"---
- hosts: all
  gather_facts: false
  tasks:
    - ansible.builtin.copy:
        dest: "{{ out }}"
        content: "commit={{ commit }} token={{ token }} jinja={{ greeting }}\n"
    - ansible.builtin.shell: "for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline; echo; done | grep ansible-playbook > {{ out }}.args"
"#;
    let test = Test::new()
        .file("playbook.yml", playbook)
        .env("DEPLOY_TOKEN", "tok-5c1d7e")
        .tasks(
            r#"
[secrets]
token = { env = "DEPLOY_TOKEN" }

[tasks.produce]
shell = "echo 0a1b2c3"

[tasks.play]
deps = ["produce"]
ansible = { playbook = "playbook.yml", inventory = "localhost,", args = ["-c", "local"], extra-vars = { out = "{{ root }}/out.txt", commit = "{{ tasks.produce.stdout }}", token = "{{ secrets.token }}", greeting = "{{ 'hello' }}", ansible_python_interpreter = "{{ ansible_playbook_python }}" } }

[vars]
root = "ROOT"
"#,
        );
    let root = test.root().display().to_string();
    let ran = test.run_with(&["run", "play", "--var", &format!("root={root}")]);
    ran.assert_code(0);
    assert_eq!(
        ran.read("out.txt"),
        "commit=0a1b2c3 token=tok-5c1d7e jinja=hello\n",
        "task output and secret expanded, the Jinja expression left to Ansible"
    );
    let args = ran.read("out.txt.args");
    assert!(
        !args.contains("tok-5c1d7e"),
        "the secret is on a command line: {args}"
    );
    assert!(
        args.contains("-e @"),
        "extra vars with a secret go through a file: {args}"
    );
    assert!(!ran.stdout.contains("tok-5c1d7e") && !ran.stderr.contains("tok-5c1d7e"));
    let plan = test.run_with(&["run", "play", "--dry-run", "--var", &format!("root={root}")]);
    plan.assert_stdout(r#"\"commit\":\"{{ tasks.produce.stdout }}\""#)
        .assert_stdout(r#"\"token\":\"{{ secrets.token }}\""#);
}
