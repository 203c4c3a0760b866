import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { type FlagOverrides, loadConfig } from "../../src/config/load.js"
import { runDoctor } from "../../src/doctor/doctor.js"
import { ENERGY_PERMISSION_FIX, powercapCheck, procCheck } from "../../src/doctor/hostChecks.js"
import type { HostFacts } from "../../src/doctor/hostFacts.js"
import type { DoctorReport } from "../../src/doctor/report.js"
import type { CheckResult } from "../../src/doctor/verdict.js"
import { type HostTree, hostTree, type TreeSpec } from "./hostTree.js"

const doctorOn = (tree: HostTree, flags: FlagOverrides = {}) =>
  Effect.gen(function*() {
    const loaded = yield* Effect.either(
      loadConfig(undefined, { hostSysfs: tree.sysfs, hostProcfs: tree.procfs, ...flags })
    )
    return yield* runDoctor(loaded, { ldLibraryPath: undefined })
  })

const doctorFor = (spec: TreeSpec, flags: FlagOverrides = {}) =>
  Effect.scoped(Effect.flatMap(hostTree(spec), (tree) => doctorOn(tree, flags)))

const check = (report: DoctorReport, id: string): CheckResult => {
  const found = report.checks.find((c) => c.id === id)
  if (found === undefined) throw new Error(`no check ${id} in ${report.checks.map((c) => c.id).join(", ")}`)
  return found
}

const RAPL = ["package-0", "core", "dram"]

describe("joulemon doctor on synthetic hosts", () => {
  it.effect("a readable powercap tree: RAPL measures, everything passes, exit 0", () =>
    Effect.gen(function*() {
      const report = yield* doctorFor({ raplZones: RAPL, cgroup: "v2" })
      expect(check(report, "powercap")).toMatchObject({
        verdict: "passed",
        message: "zones: package-0 (intel-rapl:0), core (intel-rapl:0:0), dram (intel-rapl:0:1); energy_uj readable"
      })
      expect(check(report, "meter")).toMatchObject({
        verdict: "passed",
        impact: "none",
        message: expect.stringMatching(/^rapl, measured/)
      })
      expect(check(report, "kernel")).toMatchObject({ verdict: "passed", message: "Linux 6.8.0-45-generic" })
      expect(check(report, "proc")).toMatchObject({
        verdict: "passed",
        message: "exe and environ of pid 1 (uid 0) are readable"
      })
      expect(report.checks.filter((c) => c.impact !== "none")).toEqual([])
      expect(report.exitCode).toBe(0)
    }))

  it.effect("no powercap: failed with the driver fix, the model estimates, exit 1", () =>
    Effect.gen(function*() {
      const report = yield* doctorFor({ cgroup: "v2" })
      const powercap = check(report, "powercap")
      expect(powercap.verdict).toBe("failed")
      expect(powercap.message).toContain("no powercap directory at")
      expect(powercap.fix).toContain("modprobe intel_rapl_common intel_rapl_msr")
      const meter = check(report, "meter")
      expect(meter).toMatchObject({ verdict: "warned", impact: "degraded" })
      expect(meter.message).toMatch(/^model: power is ESTIMATED/)
      expect(meter.message).toContain("skipped rapl:")
      expect(report.exitCode).toBe(1)
    }))

  it.effect("energy_uj that is a directory: failed, naming it and host.sysfs", () =>
    Effect.gen(function*() {
      const report = yield* doctorFor({ raplZones: RAPL, energy: "directory", cgroup: "v2" })
      const powercap = check(report, "powercap")
      expect(powercap.verdict).toBe("failed")
      expect(powercap.message).toMatch(/intel-rapl:0\/energy_uj is a directory, not a regular file/)
      expect(powercap.fix).toContain("--host.sysfs")
      expect(check(report, "meter")).toMatchObject({ verdict: "warned", impact: "degraded" })
      expect(report.exitCode).toBe(1)
    }))

  it.effect("energy_uj that is a FIFO: the doctor finishes (nothing opens it) and fails the check", () =>
    Effect.gen(function*() {
      const report = yield* doctorFor({ raplZones: RAPL, energy: "fifo", cgroup: "v2" })
      expect(check(report, "powercap").message).toMatch(/intel-rapl:0\/energy_uj is a fifo, not a regular file/)
      const meter = check(report, "meter")
      expect(meter.message).toMatch(/skipped rapl: .*energy_uj is a fifo, not a regular file/)
      expect(meter.impact).toBe("degraded")
      expect(report.exitCode).toBe(1)
    }))

  it.effect("psys next to package: the overlap is warned about, with the query advice", () =>
    Effect.gen(function*() {
      const report = yield* doctorFor({ raplZones: ["package-0", "psys"], cgroup: "v2" })
      const overlap = check(report, "zone-overlap")
      expect(overlap).toMatchObject({ verdict: "warned", impact: "none" })
      expect(overlap.fix).toContain("never sum kepler_node_cpu_joules_total across the zone label")
      expect(check(yield* doctorFor({ raplZones: RAPL, cgroup: "v2" }), "zone-overlap").verdict).toBe("passed")
    }))

  it.effect("cgroup v2 and v1 are told apart, with the runtimes seen", () =>
    Effect.gen(function*() {
      const v2 = yield* doctorFor({ raplZones: RAPL, cgroup: "v2" })
      expect(check(v2, "cgroup")).toMatchObject({
        verdict: "passed",
        message: "cgroup v2 (unified); no container runtime seen"
      })
      const v1 = yield* doctorFor({
        raplZones: RAPL,
        cgroup: "v1",
        cgroupOfOther: "4:memory:/docker/3f4e5d6c7b8a9f0e1d2c3b4a5f6e7d8c9b0a1f2e3d4c5b6a7f8e9d0c1b2a3f4e\n"
      })
      expect(check(v1, "cgroup")).toMatchObject({
        verdict: "passed",
        message: "cgroup v1: cpu,cpuacct, memory, pids; runtimes seen: docker"
      })
      const none = yield* doctorFor({ raplZones: RAPL, cgroup: "none" })
      expect(check(none, "cgroup")).toMatchObject({ verdict: "warned", fix: expect.stringContaining("--host.sysfs") })
    }))

  it.effect("a VM is detected from the hypervisor flag or sys_vendor", () =>
    Effect.gen(function*() {
      const flagged = yield* doctorFor({ cgroup: "v2", cpuinfoFlags: "fpu vme hypervisor lahf_lm" })
      expect(check(flagged, "vm")).toMatchObject({
        verdict: "warned",
        message: expect.stringContaining("the cpuinfo hypervisor flag")
      })
      const vendor = yield* doctorFor({ cgroup: "v2", sysVendor: "QEMU" })
      expect(check(vendor, "vm").message).toContain("sys_vendor \"QEMU\"")
      const metal = yield* doctorFor({ raplZones: RAPL, cgroup: "v2", sysVendor: "Dell Inc." })
      expect(check(metal, "vm")).toMatchObject({ verdict: "passed", message: "bare metal (sys_vendor \"Dell Inc.\")" })
    }))

  it.effect("no other user's process visible: warned as degraded, with the hostPID fix", () =>
    Effect.gen(function*() {
      const report = yield* doctorFor({ raplZones: RAPL, cgroup: "v2", selfUid: 0, otherUid: 0 })
      expect(check(report, "proc")).toMatchObject({
        verdict: "warned",
        impact: "degraded",
        fix: expect.stringContaining("hostPID: true")
      })
      expect(report.exitCode).toBe(1)
    }))

  it.effect("as root with CAP_SYS_PTRACE and only root's processes: passed", () =>
    Effect.gen(function*() {
      const report = yield* doctorFor({
        raplZones: RAPL,
        cgroup: "v2",
        selfUid: 0,
        otherUid: 0,
        selfCapEff: "000001ffffffffff"
      })
      expect(check(report, "proc")).toMatchObject({
        verdict: "passed",
        message: expect.stringContaining("running as root with CAP_SYS_PTRACE")
      })
    }))

  it.effect("hwmon: sensors are listed; none is a warning only when nothing measures", () =>
    Effect.gen(function*() {
      const withSensor = yield* doctorFor({
        cgroup: "v2",
        hwmon: { name: "power_meter", files: ["power1_input", "temp1_input"] }
      })
      expect(check(withSensor, "hwmon")).toMatchObject({
        verdict: "passed",
        message: "hwmon0 power_meter: power1_input"
      })
      const estimated = yield* doctorFor({ cgroup: "v2" })
      expect(check(estimated, "hwmon")).toMatchObject({
        verdict: "warned",
        fix: expect.stringContaining("acpi_power_meter")
      })
      const rapl = yield* doctorFor({ raplZones: RAPL, cgroup: "v2" })
      expect(check(rapl, "hwmon")).toMatchObject({
        verdict: "passed",
        message: expect.stringContaining("(not needed: rapl measures)")
      })
    }))

  it.effect("an invalid configuration: one failed check, exit 2", () =>
    Effect.gen(function*() {
      const report = yield* doctorFor({ raplZones: RAPL }, { monitorParallelism: 0 })
      expect(report.checks).toHaveLength(1)
      expect(check(report, "config")).toMatchObject({
        verdict: "failed",
        impact: "fatal",
        message: expect.stringContaining("parallelism")
      })
      expect(report.exitCode).toBe(2)
    }))

  it.effect("no usable meter (model left out of cpu.preferredMeters): exit 2", () =>
    Effect.gen(function*() {
      const result = yield* Effect.scoped(
        Effect.gen(function*() {
          const tree = yield* hostTree({ cgroup: "v2" })
          const loaded = yield* loadConfig(undefined, { hostSysfs: tree.sysfs, hostProcfs: tree.procfs })
          const config = { ...loaded.config, cpu: { ...loaded.config.cpu, preferredMeters: ["rapl" as const] } }
          return yield* runDoctor(Either.right({ ...loaded, config }), { ldLibraryPath: undefined })
        })
      )
      expect(check(result, "meter")).toMatchObject({
        verdict: "failed",
        impact: "fatal",
        fix: expect.stringContaining("add `model`")
      })
      expect(result.exitCode).toBe(2)
    }))
})

const facts = (overrides: Partial<HostFacts>): HostFacts => ({
  sysfs: "/sys",
  procfs: "/proc",
  osrelease: { _tag: "Read", path: "/proc/sys/kernel/osrelease", text: "6.8.0\n" },
  powercap: [],
  hwmon: undefined,
  meters: [],
  capEff: 0n,
  uid: 1000,
  otherProcess: undefined,
  cgroup: { v2Root: true, v1Hierarchies: [], hybridUnified: false },
  runtimes: [],
  cpuinfoHypervisor: false,
  sysVendor: undefined,
  ...overrides
})

describe("doctor verdicts on permission errors (not reproducible as root, so from facts)", () => {
  it("energy_uj denied (EACCES): the root-only change, with the capability and the udev rule", () => {
    const energy = {
      _tag: "Unreadable",
      path: "/sys/class/powercap/intel-rapl:0/energy_uj",
      code: "EACCES",
      reason: "permission denied"
    } as const
    const result = powercapCheck(
      facts({
        powercap: [
          {
            entry: "intel-rapl:0",
            name: { _tag: "Read", path: "n", text: "package-0\n" },
            maxEnergy: { _tag: "Read", path: "m", text: "1\n" },
            energy
          }
        ]
      })
    )
    expect(result.verdict).toBe("failed")
    expect(result.message).toContain("readable by root only (Linux 5.10+, CVE-2020-8694)")
    expect(result.fix).toBe(ENERGY_PERMISSION_FIX)
    expect(ENERGY_PERMISSION_FIX).toContain("CAP_DAC_READ_SEARCH")
    expect(ENERGY_PERMISSION_FIX).toContain(
      "ACTION==\"add\", SUBSYSTEM==\"powercap\", RUN+=\"/bin/chgrp powercap /sys%p/energy_uj\", RUN+=\"/bin/chmod 0440 /sys%p/energy_uj\""
    )
  })

  it("another user's exe and environ denied: names the missing capabilities", () => {
    const result = procCheck(facts({ otherProcess: { pid: 1, uid: 0, exe: "EACCES", environ: "EACCES" } }))
    expect(result).toMatchObject({ verdict: "failed", impact: "degraded" })
    expect(result.message).toBe(
      "cannot read exe (EACCES) and environ (EACCES) of pid 1 (uid 0): other users' processes lose their executable and container name; missing capabilities: CAP_DAC_READ_SEARCH, CAP_SYS_PTRACE"
    )
    expect(result.fix).toContain("SYS_PTRACE")
    // CapEff with bits 2 and 19 set: nothing missing.
    const capable = procCheck(
      facts({ capEff: (1n << 2n) | (1n << 19n), otherProcess: { pid: 1, uid: 0, exe: "EACCES", environ: "readable" } })
    )
    expect(capable.message).not.toContain("missing capabilities")
  })
})
