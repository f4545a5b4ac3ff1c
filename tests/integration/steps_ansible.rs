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
