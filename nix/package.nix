# joulemon, built from this checkout with the dependencies pinned by package-lock.json.
#
# The recipe (scripts/nix/offline-install.sh, which scripts/check-packaging also runs outside
# Nix): install every dependency offline from the tarballs of ./npm-deps.nix, build with the
# project's pinned TypeScript (`npm run build`), drop the dev dependencies, and wrap bin/joulemon
# with Node from nixpkgs.
{
  lib,
  stdenv,
  callPackage,
  makeWrapper,
  # Node 20, which joulemon's CI runs, left upstream support in April 2026 and nixpkgs drops
  # unsupported majors; 22 is the closest supported LTS (package.json asks for >= 20).
  nodejs_22,
  # Reported by `kepler_build_info` and `--version` (src/buildInfo.ts reads JOULEMON_REVISION);
  # the flake passes its git revision.
  revision ? "unknown",
}:
let
  nodejs = nodejs_22;
  packageJson = lib.importJSON ../package.json;
  npmTarballs = callPackage ./npm-deps.nix { inherit nodejs; };
in
stdenv.mkDerivation (finalAttrs: {
  pname = "joulemon";
  inherit (packageJson) version;

  src = lib.fileset.toSource {
    root = ../.;
    fileset = lib.fileset.unions [
      ../package.json
      ../package-lock.json
      ../tsconfig.json
      ../tsconfig.build.json
      ../bin
      ../src
      ../scripts/bundle.mjs
      ../scripts/nix/npm-lock-tarballs.mjs
      ../scripts/nix/offline-install.sh
    ];
  };

  nativeBuildInputs = [
    nodejs
    makeWrapper
  ];
  # Also a runtime input: the fixup phase rewrites the result's `#!/usr/bin/env node` lines
  # (patchShebangs --host) to this node.
  buildInputs = [ nodejs ];

  # The tarballs include every dev dependency; a reference to them from the result would drag
  # all of it into the runtime closure.
  disallowedReferences = [ npmTarballs ];

  configurePhase = ''
    runHook preConfigure
    export HOME="$TMPDIR"
    source scripts/nix/offline-install.sh
    joulemon_npm_offline_env "$TMPDIR/npm-cache"
    joulemon_install_deps "$PWD" ${npmTarballs}
    # The sandbox has no /usr/bin/env for the `#!/usr/bin/env node` of tsc and friends.
    patchShebangs --build node_modules
    runHook postConfigure
  '';

  buildPhase = ''
    runHook preBuild
    joulemon_build "$PWD"
    joulemon_prune "$PWD"
    runHook postBuild
  '';

  installPhase = ''
    runHook preInstall
    joulemon_install_tree "$PWD" "$out/lib/node_modules/joulemon"
    # The V8 flags of bin/joulemon's shebang (which this wrapper bypasses), src/nodeFlags.ts.
    makeWrapper ${lib.getExe nodejs} "$out/bin/joulemon" \
      --add-flags "--max-semi-space-size=2 --heap-growing-percent=20 $out/lib/node_modules/joulemon/bin/joulemon" \
      --set-default JOULEMON_REVISION ${lib.escapeShellArg revision}
    runHook postInstall
  '';

  doInstallCheck = true;
  installCheckPhase = ''
    runHook preInstallCheck
    "$out/bin/joulemon" --version | grep -F "${finalAttrs.version}"
    runHook postInstallCheck
  '';

  passthru = {
    inherit nodejs npmTarballs;
  };

  meta = {
    inherit (packageJson) description;
    license = lib.licenses.asl20;
    mainProgram = "joulemon";
    platforms = lib.platforms.linux;
  };
})
