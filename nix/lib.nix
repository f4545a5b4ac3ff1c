# For other flakes: `ops lint` (and `ops validate`) of a repository as a flake check.
#
#   checks.x86_64-linux.policies = ops.lib.mkOpsCheck {
#     pkgs = nixpkgs.legacyPackages.x86_64-linux;
#     src = ./.;
#   };
{ ops }:
{
  mkOpsCheck =
    { pkgs
    , src
    , name ? "ops-lint"
    , lintArgs ? [ ]
    , validate ? true
    }:
    pkgs.runCommand name { nativeBuildInputs = [ ops ]; } ''
      cp -r ${src} repo && chmod -R u+w repo && cd repo
      ops lint ${pkgs.lib.escapeShellArgs lintArgs}
      ${pkgs.lib.optionalString validate "if [ -d tasks ]; then ops validate; fi"}
      touch $out
    '';
}
