# NixOS module: services.joulemon, joulemon as a sandboxed system service.
# The flake exports it as nixosModules.default; without flakes, add this file to `imports`.
{
  config,
  lib,
  pkgs,
  utils,
  ...
}:
let
  cfg = config.services.joulemon;
  settingsFormat = pkgs.formats.yaml { };
  configFile = settingsFormat.generate "joulemon.yaml" cfg.settings;
  # Shared with packaging/systemd/joulemon.service; the reasons for each setting are there.
  hardening = import ./hardening.nix;

  # ":28282", "0.0.0.0:28282", "[::1]:28282", "localhost:28282" → 28282 (Go's host:port syntax,
  # which joulemon validates; the port is always after the last colon).
  listenPort = lib.toInt (lib.last (lib.splitString ":" cfg.listenAddress));
in
{
  options.services.joulemon = {
    enable = lib.mkEnableOption "joulemon, which measures the machine's energy and attributes it to processes, containers, VMs and pods (Kepler's metrics)";

    package = lib.mkOption {
      type = lib.types.package;
      default = pkgs.callPackage ./package.nix { };
      defaultText = lib.literalExpression "pkgs.callPackage ./nix/package.nix { } (joulemon from its flake)";
      description = "The joulemon package to run.";
    };

    settings = lib.mkOption {
      inherit (settingsFormat) type;
      default = { };
      example = lib.literalExpression ''
        {
          monitor.interval = "5s";
          cpu.preferredMeters = [ "rapl" "model" ];
          exporter.prometheus.metricsLevel = [ "node" "container" "pod" ];
        }
      '';
      description = ''
        joulemon's configuration, with Kepler's YAML keys (a Kepler config file, written as a
        Nix attribute set). It is rendered to YAML and passed with `--config.file`; missing keys
        keep their defaults. The listen address comes from
        {option}`services.joulemon.listenAddress`, which overrides `web.listenAddresses`.
      '';
    };

    listenAddress = lib.mkOption {
      type = lib.types.str;
      default = ":28282";
      example = "127.0.0.1:28282";
      description = "Address (`host:port`, host optional) of the HTTP server serving /metrics; passed as `--web.listen-address`.";
    };

    openFirewall = lib.mkOption {
      type = lib.types.bool;
      default = false;
      description = "Open the TCP port of {option}`services.joulemon.listenAddress` in the firewall.";
    };

    extraFlags = lib.mkOption {
      type = lib.types.listOf lib.types.str;
      default = [ ];
      example = [
        "--log.level=debug"
        "--metrics=node"
      ];
      description = "Extra command-line flags passed to joulemon (see `joulemon --help`).";
    };
  };

  config = lib.mkIf cfg.enable {
    networking.firewall.allowedTCPPorts = lib.mkIf cfg.openFirewall [ listenPort ];

    systemd.services.joulemon = {
      description = "joulemon energy exporter (Kepler-compatible Prometheus metrics)";
      wantedBy = [ "multi-user.target" ];
      after = [ "network.target" ];
      restartTriggers = [ configFile ];
      # The sandbox comes last so that nothing above can loosen it by accident; to change a
      # setting deliberately, override systemd.services.joulemon.serviceConfig.<Key> with
      # lib.mkForce.
      serviceConfig = {
        Type = "simple";
        ExecStart = utils.escapeSystemdExecArgs (
          [
            (lib.getExe cfg.package)
            "--config.file=${configFile}"
            "--web.listen-address=${cfg.listenAddress}"
            # Counters survive restarts and upgrades (monitor.stateDir); StateDirectory below.
            "--monitor.state-dir=/var/lib/joulemon"
          ]
          ++ cfg.extraFlags
        );
        StateDirectory = "joulemon";
        Restart = "on-failure";
        RestartSec = "5s";
      }
      // hardening;
    };
  };
}
