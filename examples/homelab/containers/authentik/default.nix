# Stand-in for the Authentik container image. A real repository builds it with
# `pkgs.dockerTools.buildLayeredImage`; this derivation needs no nixpkgs, so the
# example builds anywhere Nix runs, offline.
{ version ? "2026.2.0" }:

builtins.derivation {
  name = "authentik-image-${version}";
  system = builtins.currentSystem;
  builder = "/bin/sh";
  args = [
    "-c"
    ''
      echo '{"name": "registry.example.net/homelab/authentik", "tag": "v${version}-nix", "entrypoint": ["ak", "server"], "ports": [9000, 9443, 9300]}' > "$out"
    ''
  ];
}
