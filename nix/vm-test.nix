# NixOS VM test: services.joulemon starts with the fake meter, serves /metrics on the open port,
# runs as a non-root user holding exactly its two capabilities, and those capabilities are what
# let a process in the same sandbox make the two privileged reads.
{ pkgs }:
let
  inherit (pkgs) lib;
  hardening = import ./hardening.nix;

  # The two privileged reads of joulemon, made on PID 1 (systemd, root) and on a file shaped like
  # RAPL's energy_uj (mode 0400 root; the VM has no RAPL of its own).
  probe = pkgs.writeText "joulemon-privilege-probe.mjs" ''
    import { readFileSync, readlinkSync } from "node:fs"
    const reads = {
      energy_uj: () => readFileSync("/etc/joulemon-probe/energy_uj", "utf8"),
      exe: () => readlinkSync("/proc/1/exe"),
      environ: () => readFileSync("/proc/1/environ"),
      stat: () => readFileSync("/proc/stat", "utf8"),
    }
    let failed = 0
    for (const [name, read] of Object.entries(reads)) {
      try { read(); console.log(name, "ok") } catch (e) { failed++; console.log(name, e.code) }
    }
    process.exit(failed === 0 ? 0 : 1)
  '';
  probeService = extra: {
    serviceConfig = {
      Type = "oneshot";
      ExecStart = "${lib.getExe pkgs.nodejs_22} ${probe}";
    }
    // hardening
    // extra;
  };
in
pkgs.testers.runNixOSTest {
  name = "joulemon";

  nodes.machine = {
    imports = [ ./module.nix ];
    services.joulemon = {
      enable = true;
      settings.cpu.preferredMeters = [ "fake" ];
      openFirewall = true;
    };
    environment.etc."joulemon-probe/energy_uj" = {
      text = "123456789\n";
      mode = "0400";
    };
    systemd.services.joulemon-probe = probeService { };
    # Control: the same sandbox without the capabilities must fail the same reads.
    systemd.services.joulemon-probe-without-capabilities = probeService {
      AmbientCapabilities = [ ];
      CapabilityBoundingSet = [ ];
    };
    environment.systemPackages = [ pkgs.curl ];
  };

  nodes.scraper = {
    environment.systemPackages = [ pkgs.curl ];
  };

  testScript = ''
    start_all()
    machine.wait_for_unit("joulemon.service")
    machine.wait_for_open_port(28282)

    with subtest("serves Kepler's metrics, locally and through the opened firewall"):
        metrics = machine.succeed("curl -fsS http://127.0.0.1:28282/metrics")
        assert "kepler_node_cpu_joules_total" in metrics, metrics[:2000]
        scraper.wait_until_succeeds(
            "curl -fsS http://machine:28282/metrics | grep -q '^kepler_node_cpu_joules_total'"
        )

    with subtest("runs as a dynamic user with exactly CAP_DAC_READ_SEARCH and CAP_SYS_PTRACE"):
        pid = machine.succeed("systemctl show --property MainPID --value joulemon.service").strip()
        status = dict(
            line.split(":", 1) for line in machine.succeed(f"cat /proc/{pid}/status").splitlines()
        )
        assert status["Uid"].split()[0] != "0", status["Uid"]
        expected = (1 << 2) | (1 << 19)  # CAP_DAC_READ_SEARCH, CAP_SYS_PTRACE
        for field in ("CapEff", "CapPrm", "CapBnd", "CapAmb"):
            assert int(status[field], 16) == expected, f"{field}: {status[field]}"

    with subtest("the capabilities are what make the privileged reads work"):
        machine.succeed("systemctl start joulemon-probe.service")
        granted = machine.succeed("journalctl -u joulemon-probe.service -o cat")
        for read in ("energy_uj", "exe", "environ", "stat"):
            assert f"{read} ok" in granted, granted
        machine.fail("systemctl start joulemon-probe-without-capabilities.service")
        refused = machine.succeed("journalctl -u joulemon-probe-without-capabilities.service -o cat")
        for read in ("energy_uj", "exe", "environ"):
            assert f"{read} EACCES" in refused, refused
        assert "stat ok" in refused, refused

    with subtest("systemd's own exposure score of the unit"):
        print(machine.succeed("systemd-analyze security joulemon.service --no-pager | tail -n 1"))
  '';
}
