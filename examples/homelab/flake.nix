{
  description = "homelab: the GitOps repository of the ops example";

  # Where this repository gets ops from: a mirror of the ops repository on its own
  # forge (change the URL to yours); `nix flake lock` pins it in flake.lock.
  inputs.ops.url = "git+https://forge.example.net/tools/ops";

  outputs = { self, ops }:
    let
      forEachSystem = f: builtins.mapAttrs f ops.packages;
    in
    {
      # `nix profile install .#ops`, as examples/forgejo/ops.yaml does in CI.
      packages = forEachSystem (_system: packages: {
        inherit (packages) ops;
        default = packages.ops;
      });

      # `nix flake check`: ops lint and ops validate on this repository.
      checks = forEachSystem (system: _packages: {
        policies = ops.lib.mkOpsCheck {
          pkgs = ops.inputs.nixpkgs.legacyPackages.${system};
          src = ./.;
        };
      });
    };
}
