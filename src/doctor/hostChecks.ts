/**
 * The verdicts on what `hostFacts.ts` read: pure functions, one per check, each with the exact
 * fix. The meter check alone carries the measurement's impact (estimated → degraded, none →
 * joulemon cannot start): a missing powercap tree is only a problem if nothing else measures.
 */
import type { JoulemonConfig } from "../config/Config.js"
import { describeProbe, type FileProbe } from "./fileProbe.js"
import type { GpuLibraryFacts } from "./gpuLibrary.js"
import type { HostFacts, PowercapZoneFacts } from "./hostFacts.js"
import { type CheckResult, failed, passed, warned } from "./verdict.js"

/** Linux capability numbers (include/uapi/linux/capability.h). */
export const CAPABILITIES = { CAP_DAC_READ_SEARCH: 2, CAP_SYS_PTRACE: 19 } as const
type CapabilityName = keyof typeof CAPABILITIES

export const hasCapability = (capEff: bigint, name: CapabilityName): boolean =>
  ((capEff >> BigInt(CAPABILITIES[name])) & 1n) === 1n

/**
 * Since Linux 5.10 (and its stable backports, the "Platypus" fix for CVE-2020-8694) energy_uj
 * is mode 0400 root. World-readable (0444) would reopen that side channel, so the rule makes
 * the file readable by one group only.
 */
export const ENERGY_PERMISSION_FIX =
  "run joulemon as root, or grant it CAP_DAC_READ_SEARCH (Kubernetes: securityContext.capabilities.add: [\"DAC_READ_SEARCH\"]; " +
  "systemd: AmbientCapabilities=CAP_DAC_READ_SEARCH), or let one group read the counters with a udev rule in " +
  "/etc/udev/rules.d/70-joulemon-powercap.rules: " +
  "ACTION==\"add\", SUBSYSTEM==\"powercap\", RUN+=\"/bin/chgrp powercap /sys%p/energy_uj\", RUN+=\"/bin/chmod 0440 /sys%p/energy_uj\" " +
  "(apply it now with `udevadm trigger --subsystem-match=powercap --action=add`) and run joulemon with that group " +
  "(systemd: SupplementaryGroups=powercap); see docs/install.md"

const SYSFS_FIX = (sysfs: string) =>
  `point --host.sysfs (YAML host.sysfs, now ${sysfs}) at the host's real /sys, mounted read-only (Kubernetes: a hostPath volume of /sys)`

const KERNEL_TITLE = "kernel version"

export const kernelCheck = (facts: HostFacts): CheckResult => {
  const probe = facts.osrelease
  if (probe._tag !== "Read") {
    return warned(
      "kernel",
      KERNEL_TITLE,
      `cannot tell: ${describeProbe(probe)}`,
      `point --host.procfs (YAML host.procfs, now ${facts.procfs}) at the host's /proc`
    )
  }
  const release = probe.text.trim()
  const match = /^(\d+)\.(\d+)/.exec(release)
  const major = Number(match?.[1] ?? 0)
  const minor = Number(match?.[2] ?? 0)
  if (major < 4 || (major === 4 && minor < 5)) {
    return warned(
      "kernel",
      KERNEL_TITLE,
      `Linux ${release}: older than 4.5, which has no cgroup v2 and an incomplete powercap driver`,
      "upgrade the kernel to 4.5 or later (5.10+ for current RAPL domains)"
    )
  }
  return passed("kernel", KERNEL_TITLE, `Linux ${release}`)
}

const isPermission = (p: FileProbe) => p._tag === "Unreadable" && (p.code === "EACCES" || p.code === "EPERM")

const zoneName = (z: PowercapZoneFacts): string => (z.name._tag === "Read" ? z.name.text.trim() : z.entry)

export const powercapCheck = (facts: HostFacts): CheckResult => {
  const title = "powercap (RAPL)"
  const zones = facts.powercap
  if (zones === undefined || zones.length === 0) {
    return failed(
      "powercap",
      title,
      zones === undefined
        ? `no powercap directory at ${facts.sysfs}/class/powercap: RAPL is not available`
        : `${facts.sysfs}/class/powercap has no RAPL zones`,
      "on bare-metal Intel or AMD, load the driver (`modprobe intel_rapl_common intel_rapl_msr`, for AMD Linux 5.17+) and " +
        `check that --host.sysfs (now ${facts.sysfs}) is the host's /sys; in a VM there is no RAPL, and joulemon estimates`,
      "none"
    )
  }
  const listed = zones.map((z) => `${zoneName(z)} (${z.entry})`).join(", ")
  const notFile = zones.map((z) => z.energy).find((p) => p._tag === "NotAFile")
  if (notFile !== undefined) {
    return failed("powercap", title, `zones: ${listed}; ${describeProbe(notFile)}`, SYSFS_FIX(facts.sysfs), "none")
  }
  const denied = zones.map((z) => z.energy).find(isPermission)
  if (denied !== undefined) {
    return failed(
      "powercap",
      title,
      `zones: ${listed}; ${describeProbe(denied)}: energy_uj is readable by root only (Linux 5.10+, CVE-2020-8694)`,
      ENERGY_PERMISSION_FIX,
      "none"
    )
  }
  const broken = zones.map((z) => z.energy).find((p) => p._tag !== "Read")
  if (broken !== undefined) {
    return failed("powercap", title, `zones: ${listed}; ${describeProbe(broken)}`, SYSFS_FIX(facts.sysfs), "none")
  }
  return passed("powercap", title, `zones: ${listed}; energy_uj readable`)
}

export const overlapCheck = (facts: HostFacts): CheckResult => {
  const title = "overlapping zones"
  const names = new Set((facts.powercap ?? []).map(zoneName).map((n) => n.replace(/-\d+$/, "")))
  if (names.has("psys") && names.has("package")) {
    return warned(
      "zone-overlap",
      title,
      "psys (the whole SoC/platform) contains package (and dram on most parts); joulemon attributes from psys, and the zone series of both are exported",
      "never sum kepler_node_cpu_joules_total across the zone label when psys is present; " +
        "to export without psys, list the other zones in rapl.zones (YAML), e.g. rapl.zones: [package, core, dram, uncore]"
    )
  }
  return passed("zone-overlap", title, "no zone contains another")
}

export const hwmonCheck = (facts: HostFacts): CheckResult => {
  const title = "hwmon power sensors"
  const sensors = (facts.hwmon ?? []).filter((h) => h.powerFiles.length > 0)
  if (sensors.length > 0) {
    return passed(
      "hwmon",
      title,
      sensors.map((h) => `${h.entry} ${h.name ?? "(no name)"}: ${h.powerFiles.join(", ")}`).join("; ")
    )
  }
  const none = facts.hwmon === undefined
    ? `no ${facts.sysfs}/class/hwmon directory`
    : "no hwmon device has a power or energy input"
  const measured = facts.meters.find((m) => m._tag === "Usable" && !m.estimated)
  // Only worth a warning when nothing else measures: most machines with RAPL have no hwmon power.
  return measured === undefined
    ? warned(
      "hwmon",
      title,
      none,
      "on servers whose BMC or ACPI exposes power meters, load the driver (e.g. `modprobe acpi_power_meter`)"
    )
    : passed("hwmon", title, `${none} (not needed: ${measured.meter} measures)`)
}

export const meterCheck = (facts: HostFacts, config: JoulemonConfig): CheckResult => {
  const title = "cpu power meter"
  const skipped = facts.meters.filter((m) => m._tag === "Unusable")
  const why = skipped.map((m) => `${m.meter}: ${m._tag === "Unusable" ? m.reason : ""}`).join("; ")
  const chosen = facts.meters.find((m) => m._tag === "Usable")
  const order = config.cpu.preferredMeters.join(", ")
  if (chosen === undefined || chosen._tag !== "Usable") {
    return failed(
      "meter",
      title,
      order === "" ? "cpu.preferredMeters is empty" : `no meter of cpu.preferredMeters [${order}] works: ${why}`,
      "fix the first meter's problem (see the checks above), or add `model` at the end of cpu.preferredMeters (YAML) to run with estimated power",
      "fatal"
    )
  }
  const because = skipped.length === 0 ? `first in cpu.preferredMeters [${order}]` : `skipped ${why}`
  const zones = chosen.zones.join(", ")
  if (chosen.meter === "fake") {
    return warned(
      "meter",
      title,
      `fake (synthetic readings, not this machine's); zones ${zones}; ${because}`,
      "set dev.fake-cpu-meter.enabled: false (YAML)",
      "degraded"
    )
  }
  if (chosen.estimated) {
    const hint = skipped.flatMap((m) => (m._tag === "Unusable" && m.hint !== undefined ? [m.hint] : []))[0]
    return warned(
      "meter",
      title,
      `${chosen.meter}: power is ESTIMATED from CPU usage, not measured; ${because}`,
      hint ?? "give joulemon a readable RAPL or hwmon power sensor (see the powercap and hwmon checks)",
      "degraded"
    )
  }
  return passed("meter", title, `${chosen.meter}, measured; zones ${zones}; ${because}`)
}

const PROC_FIX =
  "run joulemon as root, or grant it CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH (Kubernetes: securityContext.capabilities.add: [\"SYS_PTRACE\", \"DAC_READ_SEARCH\"] with hostPID: true; " +
  "systemd: AmbientCapabilities=CAP_SYS_PTRACE CAP_DAC_READ_SEARCH)"

export const procCheck = (facts: HostFacts): CheckResult => {
  const title = "other users' /proc files"
  const other = facts.otherProcess
  const missing = facts.capEff === undefined || facts.uid === 0
    ? []
    : (Object.keys(CAPABILITIES) as ReadonlyArray<CapabilityName>).filter((c) =>
      facts.capEff !== undefined && !hasCapability(facts.capEff, c)
    )
  if (other === undefined) {
    if (facts.uid === 0 && facts.capEff !== undefined && hasCapability(facts.capEff, "CAP_SYS_PTRACE")) {
      return passed(
        "proc",
        title,
        `running as root with CAP_SYS_PTRACE; every visible process belongs to uid 0, so no other user's files to try`
      )
    }
    return warned(
      "proc",
      title,
      `no process of another user is visible under ${facts.procfs}: joulemon sees only its own processes (a private pid namespace?)`,
      "give joulemon the host's pid namespace (Kubernetes: hostPID: true; docker: --pid=host) and --host.procfs pointing at the host's /proc",
      "degraded"
    )
  }
  const unreadable = [
    ...(other.exe === "readable" ? [] : [`exe (${other.exe})`]),
    ...(other.environ === "readable" ? [] : [`environ (${other.environ})`])
  ]
  if (unreadable.length > 0) {
    return failed(
      "proc",
      title,
      `cannot read ${
        unreadable.join(" and ")
      } of pid ${other.pid} (uid ${other.uid}): other users' processes lose their executable and container name` +
        (missing.length > 0 ? `; missing capabilities: ${missing.join(", ")}` : ""),
      PROC_FIX,
      "degraded"
    )
  }
  return passed("proc", title, `exe and environ of pid ${other.pid} (uid ${other.uid}) are readable`)
}

export const cgroupCheck = (facts: HostFacts): CheckResult => {
  const title = "cgroups and runtimes"
  const { v2Root, v1Hierarchies, hybridUnified } = facts.cgroup
  const runtimes = facts.runtimes.length === 0
    ? "no container runtime seen"
    : `runtimes seen: ${facts.runtimes.join(", ")}`
  if (v2Root) return passed("cgroup", title, `cgroup v2 (unified); ${runtimes}`)
  if (v1Hierarchies.length > 0) {
    return passed(
      "cgroup",
      title,
      `cgroup v1${hybridUnified ? " (hybrid, with unified)" : ""}: ${v1Hierarchies.join(", ")}; ${runtimes}`
    )
  }
  return warned(
    "cgroup",
    title,
    `no cgroup hierarchy under ${facts.sysfs}/fs/cgroup; ${runtimes}`,
    SYSFS_FIX(facts.sysfs)
  )
}

/** /sys/class/dmi/id/sys_vendor values of the common hypervisors. */
const VM_VENDORS = [
  "QEMU",
  "VMware",
  "Microsoft Corporation",
  "Xen",
  "innotek GmbH",
  "Amazon EC2",
  "Google",
  "Parallels",
  "Red Hat",
  "KubeVirt",
  "OpenStack"
]

export const vmCheck = (facts: HostFacts): CheckResult => {
  const title = "virtual machine"
  const vendor = facts.sysVendor
  const vendorSaysVm = vendor !== undefined && VM_VENDORS.some((v) => vendor.startsWith(v))
  if (facts.cpuinfoHypervisor === true || vendorSaysVm) {
    const evidence = [
      ...(facts.cpuinfoHypervisor === true ? ["the cpuinfo hypervisor flag"] : []),
      ...(vendor === undefined ? [] : [`sys_vendor ${JSON.stringify(vendor)}`])
    ].join(", ")
    return warned(
      "vm",
      title,
      `running in a virtual machine (${evidence}): guests rarely see RAPL, so power is usually estimated`,
      "for measured power run joulemon on the host, or read the platform's power from the BMC (--experimental.platform.redfish.enabled)"
    )
  }
  return passed("vm", title, `bare metal${vendor === undefined ? "" : ` (sys_vendor ${JSON.stringify(vendor)})`}`)
}

export const gpuCheck = (gpu: GpuLibraryFacts, config: JoulemonConfig): CheckResult => {
  const title = "GPU library"
  if (gpu.found !== undefined) return passed("gpu", title, `libnvidia-ml.so.1 at ${gpu.found}`)
  const notFound = `libnvidia-ml.so.1 not found in ${gpu.searched.join(":")}`
  // Without GPU power on, a missing NVIDIA library is the normal case, not a finding.
  if (!config.experimental.gpu.enabled) {
    return passed("gpu", title, `GPU power off (experimental.gpu.enabled); ${notFound}`)
  }
  return warned(
    "gpu",
    title,
    notFound,
    "install the NVIDIA driver's NVML library (libnvidia-ml.so.1), or mount it into the container and add its directory to LD_LIBRARY_PATH"
  )
}

export const hostChecks = (
  facts: HostFacts,
  gpu: GpuLibraryFacts,
  config: JoulemonConfig
): ReadonlyArray<CheckResult> => [
  kernelCheck(facts),
  powercapCheck(facts),
  overlapCheck(facts),
  hwmonCheck(facts),
  meterCheck(facts, config),
  procCheck(facts),
  cgroupCheck(facts),
  vmCheck(facts),
  gpuCheck(gpu, config)
]
