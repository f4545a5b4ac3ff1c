use crate::common::{Test, require_tool};

/// A self-contained derivation (no nixpkgs) whose output depends on `nonce`, so
/// every test builds something new.
const IMAGE: &str = r#"{ version ? "0", nonce ? "" }:
builtins.derivation {
  name = "image-${version}";
  system = builtins.currentSystem;
  builder = "/bin/sh";
  args = [ "-c" "echo image ${version} ${nonce} > $out" ];
}
"#;

fn nonce() -> String {
    format!("{:?}", std::time::SystemTime::now()).replace(['{', '}', ' ', ':'], "")
}

fn tasks(nonce: &str) -> String {
    format!(
        r#"
[tasks.version]
nix-eval = {{ file = "version.nix", attr = "version" }}

[tasks.build]
deps = ["version"]
env = {{ NIX_CONFIG = "substituters =" }}
nix-build = {{ file = "image.nix", out-link = "result-image", args = {{ version = "{{{{ tasks.version.value }}}}", nonce = "{nonce}" }} }}

[tasks.record]
deps = ["build"]
shell = "echo {{{{ tasks.build.out }}}} > recorded"
"#
    )
}

#[test]
fn builds_records_the_store_path_and_diffs_before_and_after() {
    if !require_tool("nix-build") {
        return;
    }
    let test = Test::new()
        .file("image.nix", IMAGE)
        .file("version.nix", "{ version = \"2026.2.0\"; }\n")
        .tasks(&tasks(&nonce()))
        .env("NIX_CONFIG", "substituters =");

    let before = test.run_with(&["run", "record", "--diff", "--detailed-exitcode"]);
    before.assert_code(3);
    assert!(before.stdout.contains("value = 2026.2.0"), "{}", before.stdout);
    assert!(
        before.stdout.contains("derivation: /nix/store/"),
        "{}",
        before.stdout
    );
    assert!(before.stdout.contains("will be built"), "{}", before.stdout);
    assert!(
        !test.root().join("result-image").exists(),
        "--diff builds nothing"
    );

    test.run_with(&["run", "record"]).assert_code(0);
    let link = std::fs::read_link(test.root().join("result-image")).unwrap();
    assert!(link.starts_with("/nix/store/"), "{}", link.display());
    assert!(link.to_str().unwrap().ends_with("-image-2026.2.0"));
    let recorded = std::fs::read_to_string(test.root().join("recorded")).unwrap();
    assert_eq!(recorded.trim(), link.to_str().unwrap());
    assert!(
        std::fs::read_to_string(&link)
            .unwrap()
            .starts_with("image 2026.2.0")
    );

    let after = test.run_with(&["run", "build", "--diff", "--detailed-exitcode"]);
    after.assert_code(0);
    assert!(after.stdout.contains("nothing to build"), "{}", after.stdout);
}

#[test]
fn a_failing_build_names_the_cause() {
    if !require_tool("nix-build") {
        return;
    }
    let broken = "builtins.derivation { name = \"broken\"; system = builtins.currentSystem; builder = \"/bin/sh\"; args = [ \"-c\" \"echo compiler exploded >&2; exit 1\" ]; }\n";
    let ran = Test::new()
        .file("broken.nix", broken)
        .tasks("[tasks.build]\nnix-build = { file = \"broken.nix\" }\n")
        .env("NIX_CONFIG", "substituters =")
        .args(&["run", "build"])
        .run();
    ran.assert_code(1);
    assert!(ran.stdout.contains("compiler exploded"), "{}", ran.stdout);
    assert!(
        ran.stdout.contains("`nix-build` exited with code"),
        "{}",
        ran.stdout
    );
}
