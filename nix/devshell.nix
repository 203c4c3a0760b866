# `nix develop`: the tools joulemon's scripts and CI use. The TypeScript toolchain (tsc, vitest,
# tsx) is the one pinned by package-lock.json, installed by npm into node_modules like in CI,
# not nixpkgs' versions.
{ pkgs, joulemon }:
pkgs.mkShell {
  packages = [
    joulemon.nodejs
    # promtool, to lint the exposition (`promtool check metrics`)
    (pkgs.lib.getOutput "cli" pkgs.prometheus)
    # systemd-analyze, for scripts/check-packaging
    pkgs.systemd
    pkgs.curl
  ];

  shellHook = ''
    export PATH="$PWD/node_modules/.bin:$PATH"
    if [ ! -d node_modules ]; then
      echo "joulemon: run 'npm ci' to install the pinned toolchain (TypeScript, vitest, tsx)"
    fi
  '';
}
