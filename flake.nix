{
  description = "ops: runbooks as task graphs, and policy checks for GitOps repositories";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs = { self, nixpkgs }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" "x86_64-darwin" "aarch64-darwin" ];
      forAllSystems = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
    in
    {
      packages = forAllSystems (pkgs: rec {
        ops = pkgs.callPackage ./nix/package.nix { };
        default = ops;
      });

      apps = forAllSystems (pkgs: rec {
        ops = {
          type = "app";
          program = "${self.packages.${pkgs.system}.ops}/bin/ops";
        };
        default = ops;
      });

      devShells = forAllSystems (pkgs: {
        default = pkgs.callPackage ./nix/shell.nix { ops = self.packages.${pkgs.system}.ops; };
      });

      checks = forAllSystems (pkgs: {
        # Builds the package, which runs the unit tests (`cargo test --lib`).
        ops = self.packages.${pkgs.system}.ops;
        # Validates the task files of the bundled example repository.
        example-tasks = pkgs.runCommand "ops-example-tasks" { nativeBuildInputs = [ self.packages.${pkgs.system}.ops ]; } ''
          ops --root ${./examples/homelab} validate
          touch $out
        '';
      });

      formatter = forAllSystems (pkgs: pkgs.nixpkgs-fmt);
    };
}
