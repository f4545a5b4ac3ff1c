//! The Nix files the project ships parse with the real `nix-instantiate`.

use crate::common::{repo_root, require_tool};

#[test]
fn flake_and_nix_expressions_parse() {
    if !require_tool("nix-instantiate") {
        return;
    }
    for file in ["flake.nix", "nix/package.nix", "nix/shell.nix"] {
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
