# Evaluates flake.nix's outputs without nixpkgs, for scripts/check-packaging (Debian's nix-bin
# has no nixpkgs and no flakes). `nixpkgs` is replaced by a stand-in whose packages are
# recognisable fakes, so what this proves is the shape of the outputs: every output the README
# promises exists for both systems, apps point at bin/joulemon, the NixOS module is a module
# function, and the checks are wired to the right things. `nix flake check`, where nixpkgs is
# available, builds them for real.
#
#   nix-instantiate --eval --strict --json scripts/nix/eval-flake.nix  →  { failures = [ ... ]; }
let
  inherit (builtins)
    attrNames
    functionArgs
    isFunction
    listToAttrs
    map
    sort
    toJSON
    ;

  systems = [
    "x86_64-linux"
    "aarch64-linux"
  ];

  fake = name: {
    outPath = "/nix/store/00000000000000000000000000000000-${name}";
    inherit name;
  };

  lib = {
    genAttrs =
      names: f:
      listToAttrs (
        map (n: {
          name = n;
          value = f n;
        }) names
      );
    getExe = pkg: "${pkg.outPath}/bin/${pkg.meta.mainProgram}";
    getOutput = _output: pkg: pkg;
    trivial.release = "26.05";
    nixosSystem = args: {
      inherit args;
      config.systemd.units."joulemon.service".unit = fake "unit-joulemon.service";
    };
  };

  pkgsFor = system: rec {
    inherit lib system;
    callPackage =
      path: _args:
      fake "callPackage-${baseNameOf path}"
      // {
        meta.mainProgram = "joulemon";
        nodejs = fake "nodejs";
      };
    mkShell = attrs: attrs // { _shell = true; };
    runCommand = name: env: script: { inherit name env script; };
    writeText = name: text: fake name // { inherit text; };
    testers.runNixOSTest = test: test // { _nixosTest = true; };
    prometheus = fake "prometheus";
    systemd = fake "systemd";
    curl = fake "curl";
    nodejs_22 = fake "nodejs" // {
      meta.mainProgram = "node";
    };
    stdenv.hostPlatform.system = system;
  };

  nixpkgs = {
    inherit lib;
    legacyPackages = lib.genAttrs systems pkgsFor;
  };

  flake = import ../../flake.nix;
  self = flake.outputs { inherit self nixpkgs; } // {
    outPath = toString ../..;
  };

  sorted = xs: sort (a: b: a < b) xs;
  # every needle occurs literally in the text
  hasAll = text: needles: builtins.all (needle: builtins.replaceStrings [ needle ] [ "" ] text != text) needles;
  expect = name: actual: expected: if actual == expected then [ ] else [ "${name}: expected ${toJSON expected}, got ${toJSON actual}" ];
  perSystem =
    system:
    expect "${system}: packages" (sorted (attrNames self.packages.${system})) [
      "default"
      "joulemon"
    ]
    ++ expect "${system}: packages.default is joulemon" self.packages.${system}.default.outPath self.packages.${system}.joulemon.outPath
    ++ expect "${system}: packages.joulemon comes from nix/package.nix" self.packages.${system}.joulemon.name "callPackage-package.nix"
    ++ expect "${system}: apps.default" {
      inherit (self.apps.${system}.default) type program;
    } {
      type = "app";
      program = "/nix/store/00000000000000000000000000000000-callPackage-package.nix/bin/joulemon";
    }
    ++ expect "${system}: devShells.default is a shell" (self.devShells.${system}.default._shell or false) true
    ++ expect "${system}: checks" (sorted (attrNames self.checks.${system})) [
      "module"
      "package"
      "vm"
    ]
    ++ expect "${system}: checks.vm is a NixOS test" (self.checks.${system}.vm._nixosTest or false) true
    ++ expect "${system}: checks.module compares the rendered unit with the plain unit" (
      hasAll self.checks.${system}.module.script [
        "-unit-hardening.mjs compare \\\n"
        "-unit-joulemon.service/joulemon.service"
        "-joulemon.service\n"
      ]
    ) true;
in
{
  failures =
    expect "description" (flake ? description) true
    ++ expect "nixpkgs input" flake.inputs.nixpkgs.url "github:NixOS/nixpkgs/nixos-26.05"
    ++ expect "output systems" (sorted (attrNames self.packages)) (sorted systems)
    ++ expect "nixosModules" (sorted (attrNames self.nixosModules)) [
      "default"
      "joulemon"
    ]
    ++ expect "nixosModules.default is a module function taking config, lib, pkgs, utils" (
      isFunction self.nixosModules.default && sorted (attrNames (functionArgs self.nixosModules.default)) == [ "config" "lib" "pkgs" "utils" ]
    ) true
    ++ expect "overlays.default adds joulemon" (attrNames (self.overlays.default (pkgsFor "x86_64-linux") { })) [ "joulemon" ]
    ++ builtins.concatLists (map perSystem systems);
}
