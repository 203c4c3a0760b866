# Every npm tarball that package-lock.json names, fetched by name and exact version through npm
# itself (`npm pack NAME@VERSION` returns the registry's original tarball, whose sha512 is the
# lockfile's `integrity`; the fetch script checks each one). A fixed-output derivation: it may use
# the network, and its result must hash to nix/npm-deps.json's `hash`.
#
# Why not nixpkgs' fetchNpmDeps or importNpmLock: both skip lockfile entries without a `resolved`
# address, and this project's lockfile records none (npm's omit-lockfile-registry-resolved).
#
# After a dependency change, run scripts/nix-deps-hash --write; it runs the same fetch script and
# computes the same hash with nix-hash, without Nix's builder.
{
  lib,
  stdenvNoCC,
  nodejs,
}:
let
  recorded = lib.importJSON ./npm-deps.json;
in
stdenvNoCC.mkDerivation {
  name = "joulemon-npm-tarballs";

  # Only what the fetch reads, so editing the sources does not touch this derivation.
  src = lib.fileset.toSource {
    root = ../.;
    fileset = lib.fileset.unions [
      ../package-lock.json
      ../scripts/nix/npm-lock-tarballs.mjs
    ];
  };

  nativeBuildInputs = [ nodejs ];

  buildPhase = ''
    runHook preBuild
    export HOME="$TMPDIR"
    export npm_config_cache="$TMPDIR/npm-cache"
    export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
    mkdir "$out"
    node scripts/nix/npm-lock-tarballs.mjs fetch package-lock.json "$out"
    runHook postBuild
  '';

  dontConfigure = true;
  dontInstall = true;
  # The output is the tarballs byte for byte; nothing may rewrite them.
  dontFixup = true;

  # A mirror set on the Nix daemon's environment (npm_config_registry) or a proxy reaches the
  # fetch; the hash pins the bytes whatever their source.
  impureEnvVars = lib.fetchers.proxyImpureEnvVars ++ [ "npm_config_registry" ];

  outputHashMode = "recursive";
  outputHashAlgo = "sha256";
  outputHash = recorded.hash;

  passthru = { inherit (recorded) lockFingerprint tarballs; };
}
