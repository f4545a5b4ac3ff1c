//! The Nix files the project ships parse with the real `nix-instantiate`.

use crate::common::{repo_root, require_tool};

#[test]
fn flake_and_nix_expressions_parse() {
    if !require_tool("nix-instantiate") {
        return;
    }
    for file in [
        "flake.nix",
        "nix/package.nix",
        "nix/shell.nix",
        "nix/lib.nix",
        "examples/homelab/flake.nix",
    ] {
        let out = std::process::Command::new("nix-instantiate")
            .args(["--parse", file])
            .current_dir(repo_root())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{file}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// `mkOpsCheck` evaluates (with a stand-in for nixpkgs, which cannot be fetched here)
/// to a build script that lints and validates the given source.
#[test]
fn mk_ops_check_evaluates_to_a_lint_script() {
    if !require_tool("nix-instantiate") {
        return;
    }
    let expr = format!(
        r#"
let
  pkgs = {{
    system = "x86_64-linux";
    lib = {{ escapeShellArgs = xs: builtins.concatStringsSep " " xs; optionalString = c: s: if c then s else ""; }};
    runCommand = name: attrs: script: {{ inherit name script; inputs = attrs.nativeBuildInputs; }};
  }};
  lib = import {}/nix/lib.nix {{ ops = "OPS"; }};
in lib.mkOpsCheck {{ inherit pkgs; src = "/src"; lintArgs = [ "--rule" "pinned-image" ]; }}
"#,
        repo_root().display()
    );
    let out = std::process::Command::new("nix-instantiate")
        .args(["--eval", "--strict", "--json", "--expr", &expr])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let check: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(check["name"], "ops-lint");
    assert_eq!(check["inputs"], serde_json::json!(["OPS"]));
    let script = check["script"].as_str().unwrap();
    assert!(script.contains("ops lint --rule pinned-image"), "{script}");
    assert!(script.contains("ops validate"), "{script}");
}

/// The example repository's flake, evaluated with a stand-in for the ops flake:
/// `.#ops` is ops' package (what the Forgejo example installs), and its check is
/// `mkOpsCheck` of the repository itself.
#[test]
fn the_example_flake_exposes_ops() {
    if !require_tool("nix-instantiate") {
        return;
    }
    let expression = r#"
let
  flake = import ./examples/homelab/flake.nix;
  ops = {
    packages.x86_64-linux.ops = "ops-package";
    lib.mkOpsCheck = { pkgs, src }: "check of ${baseNameOf src} with ${pkgs.name}";
    inputs.nixpkgs.legacyPackages.x86_64-linux.name = "nixpkgs";
  };
  out = flake.outputs { self = { }; inherit ops; };
in { inherit (out) packages checks; }
"#;
    let out = std::process::Command::new("nix-instantiate")
        .args(["--eval", "--strict", "--json", "-E", expression])
        .current_dir(repo_root())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(value["packages"]["x86_64-linux"]["ops"], "ops-package");
    assert_eq!(value["packages"]["x86_64-linux"]["default"], "ops-package");
    assert_eq!(
        value["checks"]["x86_64-linux"]["policies"],
        "check of homelab with nixpkgs"
    );
}
