//! `nix-tools`: packages built by Nix (real Nix, self-contained expressions without
//! nixpkgs, so it runs offline) and put first on a task's `PATH`, once per run.

use crate::common::{Test, require_tool};

/// Two tools, each a shell script in `bin/`; `nonce` makes them new for every test.
fn tools_nix(nonce: &str) -> String {
    format!(
        r#"{{ system ? builtins.currentSystem }}:
let
  tool = name: builtins.derivation {{
    inherit name system;
    builder = "/bin/sh";
    args = [ "-c" "/bin/mkdir -p $out/bin && printf '#!/bin/sh\necho %s {nonce} \"$@\"\n' ${{name}} > $out/bin/${{name}} && /bin/chmod +x $out/bin/${{name}}" ];
  }};
in {{
  greet = tool "greet-tool";
  shout = tool "shout-tool";
}}
"#
    )
}

fn nonce() -> String {
    format!("{:?}", std::time::SystemTime::now()).replace(['{', '}', ' ', ':', ','], "")
}

const NIX_CONFIG: &str = "substituters =\nextra-sandbox-paths = /bin /lib /lib64 /usr";

#[test]
fn tools_are_built_once_and_put_first_on_path() {
    if !require_tool("nix-instantiate") {
        return;
    }
    let nonce = nonce();
    let test = Test::new()
        .file("nix/tools.nix", &tools_nix(&nonce))
        .env("NIX_CONFIG", NIX_CONFIG)
        .tasks(
            r#"
[tasks.first]
nix-tools = { file = "nix/tools.nix", attrs = ["greet", "shout"] }
shell = "greet-tool one > first.out; shout-tool two >> first.out; command -v greet-tool >> first.out"

[tasks.second]
deps = ["first"]
nix-tools = { file = "nix/tools.nix", attrs = ["greet"] }
cmd = ["greet-tool", "three"]

[tasks.without]
deps = ["second"]
shell = "command -v greet-tool || echo none > without.out"
"#,
        );
    let plan = test.run_with(&["run", "without", "--dry-run"]);
    plan.assert_code(0);
    plan.assert_stdout("tools from Nix: greet, shout from nix/tools.nix");

    let ran = test.run_with(&["run", "without"]);
    ran.assert_code(0);
    let first = ran.read("first.out");
    assert!(
        first.starts_with(&format!(
            "greet-tool {nonce} one\nshout-tool {nonce} two\n/nix/store/"
        )),
        "{first}"
    );
    assert!(
        first.trim_end().ends_with("-greet-tool/bin/greet-tool"),
        "{first}"
    );
    ran.assert_stdout(&format!("greet-tool {nonce} three"));
    assert_eq!(
        ran.stdout.matches("tool greet: building").count(),
        1,
        "built once in the run, though two tasks name it:\n{}",
        ran.stdout
    );
    assert_eq!(
        ran.read("without.out"),
        "none\n",
        "a task without nix-tools does not get them"
    );

    // The next run finds them built.
    let again = test.run_with(&["run", "second", "--diff"]);
    again.assert_stdout("tool greet: built already (/nix/store/");
    assert!(!again.stdout.contains("building"), "{}", again.stdout);
}

#[test]
fn settings_give_tools_to_every_task_and_installables_build_a_flake() {
    if !require_tool("nix-instantiate") || !require_tool("nix") {
        return;
    }
    let nonce = nonce();
    let flake = format!(
        r#"{{
  outputs = {{ self }}: {{
    packages.{system}.greet = (import ./nix/tools.nix {{ system = "{system}"; }}).greet;
  }};
}}
"#,
        system = format!("{}-linux", std::env::consts::ARCH)
    );
    let test = Test::new()
        .file("nix/tools.nix", &tools_nix(&nonce))
        .file("flake.nix", &flake)
        .env("NIX_CONFIG", NIX_CONFIG)
        .file(
            "ops.toml",
            "[settings]\nnix-tools = { file = \"nix/tools.nix\", attrs = [\"shout\"] }\n",
        )
        .tasks("[tasks.repo-wide]\ncmd = [\"shout-tool\", \"hi\"]\n");
    let root = test.root().display().to_string();
    std::fs::write(
        test.root().join("tasks/flake.toml"),
        format!(
            "[tasks.from-flake]\nnix-tools = {{ installables = [\"path:{root}#greet\"] }}\ncmd = [\"greet-tool\", \"flake\"]\n"
        ),
    )
    .unwrap();
    let ran = test.run_with(&["run", "repo-wide", "from-flake"]);
    ran.assert_code(0);
    ran.assert_stdout(&format!("shout-tool {nonce} hi"))
        .assert_stdout(&format!("greet-tool {nonce} flake"));
}

#[test]
fn a_tool_that_does_not_evaluate_fails_the_task_in_nix_words() {
    if !require_tool("nix-instantiate") {
        return;
    }
    let test = Test::new()
        .file("nix/tools.nix", "{ greet = builtins.derivation { name = \"x\"; }; }\n")
        .env("NIX_CONFIG", NIX_CONFIG)
        .tasks("[tasks.t]\nnix-tools = { file = \"nix/tools.nix\", attrs = [\"nope\"] }\nshell = \"touch ran\"\n");
    let ran = test.run_with(&["run", "t"]);
    ran.assert_code(1);
    assert!(
        ran.stdout
            .contains("attribute 'nope' in selection path 'nope' not found"),
        "{}",
        ran.stdout
    );
    assert!(!ran.exists("ran"));
}

#[test]
fn a_nix_tools_table_of_neither_form_is_a_load_error() {
    let ran = Test::new()
        .tasks("[tasks.t]\nnix-tools = { file = \"nix/tools.nix\" }\ncmd = [\"true\"]\n")
        .args(&["run", "t"])
        .run();
    ran.assert_code(2);
    assert!(ran.stderr.contains("`nix-tools` is `{ file"), "{}", ran.stderr);
    assert!(ran.stderr.contains("main.toml:2:13"), "{}", ran.stderr);
}

/// `ops doctor` does not call a program missing that the task's `nix-tools` provide;
/// it checks the Nix programs that build them instead.
#[test]
fn doctor_counts_on_nix_tools_for_their_programs() {
    if !require_tool("nix-instantiate") {
        return;
    }
    let test = Test::new().file("nix/tools.nix", &tools_nix(&nonce())).tasks(
        r#"
[tasks.with-tools]
nix-tools = { file = "nix/tools.nix", attrs = ["greet"] }
cmd = ["greet-tool", "hi"]

[tasks.without]
cmd = ["greet-tool", "hi"]
"#,
    );
    let with = test.run_with(&["doctor", "with-tools"]);
    with.assert_code(0);
    let without = test.run_with(&["doctor", "without"]);
    without.assert_code(1);
    assert!(without.stdout.contains("greet-tool"), "{}", without.stdout);
}
