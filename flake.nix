{
  description = "joulemon: energy attribution for Linux machines, exported with Kepler's metric names";

  # No flake.lock is committed yet: it can only be written where nixpkgs can be fetched. The first
  # `nix build`/`nix flake lock` pins this branch; commit the lock it writes.
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-26.05";

  outputs =
    { self, nixpkgs }:
    let
      inherit (nixpkgs) lib;
      systems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      forAllSystems = f: lib.genAttrs systems (system: f system nixpkgs.legacyPackages.${system});
    in
    {
      packages = forAllSystems (
        system: pkgs: {
          joulemon = pkgs.callPackage ./nix/package.nix {
            revision = self.shortRev or self.dirtyShortRev or "unknown";
          };
          default = self.packages.${system}.joulemon;
        }
      );

      apps = forAllSystems (
        system: pkgs: {
          default = {
            type = "app";
            program = lib.getExe self.packages.${system}.default;
            meta.description = "Run joulemon (joulemon --help lists the flags)";
          };
        }
      );

      devShells = forAllSystems (
        system: pkgs: {
          default = import ./nix/devshell.nix {
            inherit pkgs;
            joulemon = self.packages.${system}.default;
          };
        }
      );

      overlays.default = final: prev: { joulemon = final.callPackage ./nix/package.nix { }; };

      nixosModules.default = import ./nix/module.nix;
      nixosModules.joulemon = self.nixosModules.default;

      checks = forAllSystems (
        system: pkgs:
        let
          nixos = lib.nixosSystem {
            modules = [
              self.nixosModules.default
              {
                nixpkgs.hostPlatform = system;
                boot.isContainer = true;
                system.stateVersion = lib.trivial.release;
                services.joulemon = {
                  enable = true;
                  settings.cpu.preferredMeters = [ "fake" ];
                };
              }
            ];
          };
          unit = nixos.config.systemd.units."joulemon.service".unit;
        in
        {
          package = self.packages.${system}.default;

          # The module evaluates, and the unit NixOS renders from it carries exactly the
          # hardening of packaging/systemd/joulemon.service.
          module =
            pkgs.runCommand "joulemon-module-hardening" { nativeBuildInputs = [ pkgs.nodejs_22 ]; }
              ''
                cat ${unit}/joulemon.service
                node ${./scripts/nix/unit-hardening.mjs} compare \
                  ${unit}/joulemon.service ${./packaging/systemd/joulemon.service}
                touch "$out"
              '';

          vm = import ./nix/vm-test.nix { inherit pkgs; };
        }
      );
    };
}
