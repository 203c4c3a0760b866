# Evaluates nix/module.nix without nixpkgs, for scripts/check-packaging on machines that have
# only Debian's nix-bin (no nixpkgs, no daemon). The module is called with small stand-ins for
# the few `lib`, `pkgs` and `utils` functions it uses; each stand-in copies nixpkgs' definition
# or, for packages and generated files, returns a recognisable fake store path.
#
# What this proves: the module evaluates, its options have the defaults the docs state, the
# command line and firewall port are built right (escaping included), and the [Service] section
# it produces (rendered as NixOS renders it) can be compared with the plain unit. What it cannot
# prove, the flake's checks do where nixpkgs is available (`nix flake check`): that the real
# nixpkgs functions behave like these stand-ins.
#
#   nix-instantiate --eval --strict --json scripts/nix/eval-module.nix
#   → { failures = [ "..." ]; serviceUnit = "<unit text>"; }
let
  inherit (builtins)
    attrNames
    concatMap
    concatStringsSep
    elemAt
    filter
    fromJSON
    isBool
    isList
    isString
    length
    mapAttrs
    replaceStrings
    split
    toJSON
    ;

  fakePackage = {
    outPath = "/nix/store/00000000000000000000000000000000-joulemon";
    meta.mainProgram = "joulemon";
  };

  # --- lib (definitions as in nixpkgs' lib, reduced to what the module calls) ---
  lib = {
    mkOption = attrs: attrs;
    mkEnableOption = name: {
      default = false;
      description = "Whether to enable ${name}.";
    };
    literalExpression = text: {
      _type = "literalExpression";
      inherit text;
    };
    mkIf = condition: content: {
      _type = "if";
      inherit condition content;
    };
    types = {
      package = "package";
      str = "str";
      bool = "bool";
      listOf = t: "listOf ${t}";
    };
    getExe = pkg: "${pkg.outPath}/bin/${pkg.meta.mainProgram}";
    # (lib.splitString escapes the separator for the regex; the module only splits on ":")
    splitString = sep: s: filter isString (split sep s);
    last = list: elemAt list (length list - 1);
    # nixpkgs' lib.toInt accepts decimal integers only; fromJSON does the same for digit strings.
    toInt =
      s:
      if builtins.match "[0-9]+" s == null then throw "toInt: not a decimal integer: ${s}" else fromJSON s;
  };

  pkgs = {
    callPackage = _path: _args: fakePackage;
    formats.yaml = _: {
      type = "yaml value";
      generate = name: value: "/nix/store/00000000000000000000000000000000-${name}";
    };
  };

  utils = rec {
    # nixos/lib/utils.nix
    escapeSystemdExecArg = arg: replaceStrings [ "%" "$" ] [ "%%" "$$" ] (toJSON arg);
    escapeSystemdExecArgs = args: concatStringsSep " " (map escapeSystemdExecArg args);
  };

  module = import ../../nix/module.nix;

  # The module's own option defaults, overlaid with a scenario's values.
  optionDefaults =
    (module {
      config = { };
      inherit lib pkgs utils;
    }).options.services.joulemon;
  evaluate =
    values:
    let
      cfg = mapAttrs (_: option: option.default) optionDefaults // values;
      result = module {
        config.services.joulemon = cfg;
        inherit lib pkgs utils;
      };
      when = x: if x._type or "" == "if" then (if x.condition then x.content else null) else x;
      config = when result.config;
    in
    {
      inherit config;
      service = config.systemd.services.joulemon;
      ports =
        let
          p = when config.networking.firewall.allowedTCPPorts;
        in
        if p == null then [ ] else p;
    };

  # nixos/lib/systemd-lib.nix: attrsToSection
  toOption =
    x:
    if x == true then
      "true"
    else if x == false then
      "false"
    else
      toString x;
  attrsToSection =
    attrs:
    concatStringsSep "" (
      concatMap (
        name:
        map (x: "${name}=${toOption x}\n") (
          if isList attrs.${name} then attrs.${name} else [ attrs.${name} ]
        )
      ) (attrNames attrs)
    );

  defaults = evaluate { enable = true; };
  custom = evaluate {
    enable = true;
    listenAddress = "[::1]:9100";
    openFirewall = true;
    extraFlags = [
      "--log.level=debug"
      "--web.config-file=/etc/joulemon/100%$web.yaml"
    ];
  };
  disabled = evaluate { };

  expect = name: actual: expected: if actual == expected then [ ] else [ "${name}: expected ${toJSON expected}, got ${toJSON actual}" ];
in
{
  failures =
    expect "disabled module configures nothing" (disabled.config == null) true
    ++ expect "default listenAddress" optionDefaults.listenAddress.default ":28282"
    ++ expect "default settings" optionDefaults.settings.default { }
    ++ expect "openFirewall off by default" defaults.ports [ ]
    ++ expect "default ExecStart" defaults.service.serviceConfig.ExecStart (
      ''"${fakePackage.outPath}/bin/joulemon" "--config.file=/nix/store/00000000000000000000000000000000-joulemon.yaml" "--web.listen-address=:28282" "--monitor.state-dir=/var/lib/joulemon"''
    )
    ++ expect "firewall port from [::1]:9100" custom.ports [ 9100 ]
    ++ expect "ExecStart with extra flags, % and $ escaped for systemd" custom.service.serviceConfig.ExecStart (
      ''"${fakePackage.outPath}/bin/joulemon" "--config.file=/nix/store/00000000000000000000000000000000-joulemon.yaml" "--web.listen-address=[::1]:9100" "--monitor.state-dir=/var/lib/joulemon" "--log.level=debug" "--web.config-file=/etc/joulemon/100%%$$web.yaml"''
    )
    ++ expect "counters kept in the unit's StateDirectory" defaults.service.serviceConfig.StateDirectory "joulemon"
    ++ expect "started at boot" defaults.service.wantedBy [ "multi-user.target" ];

  serviceUnit = "[Service]\n" + attrsToSection defaults.service.serviceConfig;
}
