# The sandbox of the joulemon service: systemd [Service] settings merged into the NixOS module's
# unit (nix/module.nix) and repeated, line for line, in packaging/systemd/joulemon.service.
# test/packaging/hardening.test.ts and scripts/check-packaging keep the two identical.
#
# Keep this file a flat attribute set of `Key = value;` where a value is a string, a boolean or
# a list of strings (one unit line each, as NixOS renders lists): the test reads it with a small
# parser of its own, and check-packaging checks that parser against `nix-instantiate --eval`.
#
# joulemon only reads: energy counters under /sys, every process under /proc, its config file.
# It writes nothing and serves HTTP. Everything not needed for that is taken away.
{
  # No root: a transient UID/GID allocated at start, owning no file on the system.
  DynamicUser = true;

  # The two reads an unprivileged user cannot make, each needing exactly one capability
  # (measured with setpriv as an unprivileged user holding each set; see docs/install.md):
  # - CAP_DAC_READ_SEARCH: RAPL's energy_uj is mode 0400 root since Linux 5.10 (CVE-2020-8694,
  #   "Platypus"), and /proc/<pid>/environ of another user's process is mode 0400 owned by that
  #   user. The capability bypasses read permission checks only; it grants no write access
  #   (CAP_DAC_OVERRIDE would) and its escalation path, open_by_handle_at(2), is outside the
  #   system call filter below.
  # - CAP_SYS_PTRACE: readlink of another user's /proc/<pid>/exe and reading its environ pass the
  #   kernel's ptrace_may_access(PTRACE_MODE_READ) check, which nothing else satisfies. The
  #   ptrace(2), process_vm_readv(2) and process_vm_writev(2) system calls themselves stay
  #   blocked by the filter (they are not in @system-service), so the capability cannot be used
  #   to attach to or read the memory of another process through them.
  # Without CAP_SYS_PTRACE joulemon still measures every process; only the exe label and the
  # container name taken from environ are empty for other users' processes.
  CapabilityBoundingSet = [
    "CAP_DAC_READ_SEARCH"
    "CAP_SYS_PTRACE"
  ];
  AmbientCapabilities = [
    "CAP_DAC_READ_SEARCH"
    "CAP_SYS_PTRACE"
  ];
  NoNewPrivileges = true;
  # The capabilities must be held in the host's user namespace, where the processes we read live.
  PrivateUsers = false;

  ProtectSystem = "strict";
  ProtectHome = true;
  PrivateTmp = true;
  PrivateDevices = true;
  PrivateIPC = true;
  ProtectKernelTunables = true;
  ProtectKernelModules = true;
  ProtectKernelLogs = true;
  ProtectControlGroups = true;
  ProtectClock = true;
  ProtectHostname = true;
  # Not "invisible" (nor "noaccess"/"ptraceable"): those hide the other users' processes that
  # joulemon exists to measure.
  ProtectProc = "default";
  # Not "pid": joulemon needs /proc/stat (node CPU time) and /proc/cpuinfo besides /proc/<pid>.
  ProcSubset = "all";

  RestrictAddressFamilies = [
    "AF_INET"
    "AF_INET6"
    "AF_UNIX"
  ];
  RestrictNamespaces = true;
  RestrictRealtime = true;
  RestrictSUIDSGID = true;
  LockPersonality = true;
  # Off on purpose: V8's JIT compiler needs memory that is writable and executable. Under the
  # kernel's equivalent, prctl(PR_SET_MDWE), node aborts (SIGTRAP in V8's SetPermissions) as soon
  # as it compiles its first function.
  MemoryDenyWriteExecute = false;

  SystemCallArchitectures = "native";
  SystemCallFilter = [
    "@system-service"
    "~@privileged"
    # SYS_PTRACE is held for the ptrace access check on /proc/<pid>/exe and environ, not to read
    # other processes' memory; io_uring is attack surface libuv does without.
    "~process_vm_readv process_vm_writev io_uring_setup io_uring_enter io_uring_register"
  ];
  # A refused system call fails with EPERM instead of killing the process. Needed: V8 calls
  # pkey_alloc(2) at start, which @system-service (systemd 252) does not allow; killed for it,
  # node dies before running a line (measured with scripts/nix/seccomp-run). With EPERM, V8
  # goes on without memory protection keys, and that is the only call refused while joulemon
  # starts and serves /metrics (strace).
  SystemCallErrorNumber = "EPERM";
  UMask = "0077";
}
