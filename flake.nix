{
  description = "ops: runbooks as task graphs, and policy checks for GitOps repositories";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs = { self, nixpkgs }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" "x86_64-darwin" "aarch64-darwin" ];
      forAllSystems = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
      # What `ops --version` names: the flake's revision and its date.
      version = {
        rev = self.shortRev or self.dirtyShortRev or null;
        date =
          let d = self.lastModifiedDate or null;
          in if d == null then null
          else "${builtins.substring 0 4 d}-${builtins.substring 4 2 d}-${builtins.substring 6 2 d}";
      };
      opsFor = pkgs: self.packages.${pkgs.stdenv.hostPlatform.system}.ops;
    in
    {
      # `pkgs.ops` in another flake's nixpkgs: `overlays = [ ops.overlays.default ]`.
      overlays.default = final: _prev: {
        ops = final.callPackage ./nix/package.nix version;
      };

      packages = forAllSystems (pkgs: rec {
        ops = pkgs.callPackage ./nix/package.nix version;
        default = ops;
      });

      apps = forAllSystems (pkgs: rec {
        ops = {
          type = "app";
          program = "${opsFor pkgs}/bin/ops";
          meta.description = "Run the runbooks in tasks/*.toml, or check the manifests with ops lint";
        };
        default = ops;
      });

      devShells = forAllSystems (pkgs: {
        default = pkgs.callPackage ./nix/shell.nix { ops = opsFor pkgs; };
      });

      # `ops.lib.mkOpsCheck { pkgs; src = ./.; }` in another flake's checks.
      lib.mkOpsCheck = args: (import ./nix/lib.nix { ops = opsFor args.pkgs; }).mkOpsCheck args;

      checks = forAllSystems (pkgs:
        let
          ops = opsFor pkgs;
          # The same sources and dependencies as the package, another cargo command.
          cargoCheck = name: command: ops.overrideAttrs (old: {
            pname = "ops-${name}";
            nativeBuildInputs = old.nativeBuildInputs ++ [ pkgs.clippy pkgs.rustfmt ];
            buildPhase = "runHook preBuild; ${command}; runHook postBuild";
            checkPhase = "true";
            doCheck = false;
            installPhase = "touch $out";
            postInstall = "";
          });
        in
        {
          # Builds the package, which runs the unit tests (`cargo test --lib`).
          inherit ops;
          clippy = cargoCheck "clippy" "cargo clippy --offline --all-targets -- -D warnings";
          fmt = cargoCheck "fmt" "cargo fmt --all --check";
          # The policy check of the bundled example repository, as other flakes would use it.
          ops-lint = self.lib.mkOpsCheck { inherit pkgs; src = ./examples/homelab; };
        });

      formatter = forAllSystems (pkgs: pkgs.nixfmt-tree);
    };
}
