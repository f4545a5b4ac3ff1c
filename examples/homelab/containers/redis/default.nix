# Stand-in for the Redis container image (see ../authentik/default.nix).
{ version ? "7.4.2" }:

builtins.derivation {
  name = "redis-image-${version}";
  system = builtins.currentSystem;
  builder = "/bin/sh";
  args = [
    "-c"
    ''
      echo '{"name": "registry.example.net/homelab/redis", "tag": "v${version}-nix", "entrypoint": ["redis-server"], "user": "65534", "ports": [6379]}' > "$out"
    ''
  ];
}
