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
    // In Nix's words, not only an exit code.
    assert!(
        ran.stdout.contains("`nix-build` failed: error: builder for"),
        "{}",
        ran.stdout
    );
}

#[test]
fn a_failing_evaluation_shows_nix_s_error() {
    if !require_tool("nix-instantiate") {
        return;
    }
    let ran = Test::new()
        .file(
            "version.nix",
            "{ version = builtins.throw \"no version pinned\"; }\n",
        )
        .tasks("[tasks.v]\nnix-eval = { file = \"version.nix\", attr = \"version\" }\n")
        .args(&["run", "v"])
        .run();
    ran.assert_code(1);
    let summary = ran
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("TASK"))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        summary.contains("`nix-instantiate` failed: error:"),
        "{}",
        ran.stdout
    );
    assert!(ran.stdout.contains("no version pinned"), "{}", ran.stdout);
}

/// On a Nix store that was never used, the first two Nix commands of a plan start
/// together and one finds the store's database busy while the other creates it; the
/// plan must still pass the first time (as the README's first command on a fresh
/// machine). A store of its own (`store = DIR`) is new for each round.
#[test]
fn parallel_builds_pass_on_a_store_never_used_before() {
    if !require_tool("nix-build") {
        return;
    }
    let tasks = r#"
[tasks.a]
nix-build = { file = "image.nix", args = { version = "a" } }
[tasks.b]
nix-build = { file = "image.nix", args = { version = "b" } }
[tasks.both]
deps = ["a", "b"]
"#;
    for round in 0..3 {
        let test = Test::new().file("image.nix", IMAGE).tasks(tasks);
        let store = test.root().join("store");
        // Builds in a store of its own run in Nix's sandbox: give it /bin/sh.
        let config = format!(
            "store = {}\nsubstituters =\nextra-sandbox-paths = /bin /lib /lib64 /usr",
            store.display()
        );
        let test = test.env("NIX_CONFIG", &config);
        let diff = test.run_with(&["run", "both", "--diff", "-j", "2"]);
        diff.assert_code(0);
        assert!(
            diff.stdout.contains("will be built"),
            "round {round}: {}",
            diff.stdout
        );
        let fresh = Test::new().file("image.nix", IMAGE).tasks(tasks);
        let config = config.replace(
            &store.display().to_string(),
            &fresh.root().join("store").display().to_string(),
        );
        let built = fresh
            .env("NIX_CONFIG", &config)
            .run_with(&["run", "both", "-j", "2"]);
        built.assert_code(0);
        assert!(
            built.stdout.contains("-image-a"),
            "round {round}: {}",
            built.stdout
        );
        assert!(
            built.stdout.contains("-image-b"),
            "round {round}: {}",
            built.stdout
        );
    }
}
