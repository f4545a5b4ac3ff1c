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
        ops = pkgs.callPackage ./nix/package.nix {
          rev = self.shortRev or self.dirtyShortRev or null;
          date =
            let d = self.lastModifiedDate or null;
            in if d == null then null
            else "${builtins.substring 0 4 d}-${builtins.substring 4 2 d}-${builtins.substring 6 2 d}";
        };
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

      # `ops.lib.mkOpsCheck { pkgs; src = ./.; }` in another flake's checks.
      lib.mkOpsCheck = args: (import ./nix/lib.nix { ops = self.packages.${args.pkgs.system}.ops; }).mkOpsCheck args;

      checks = forAllSystems (pkgs: {
        # Builds the package, which runs the unit tests (`cargo test --lib`).
        ops = self.packages.${pkgs.system}.ops;
        # The policy check of the bundled example repository, as other flakes would use it.
        ops-lint = self.lib.mkOpsCheck { inherit pkgs; src = ./examples/homelab; };
      });

      formatter = forAllSystems (pkgs: pkgs.nixpkgs-fmt);
    };
}
