/**
 * Short-lived work (`monitor.shortLived: cgroup`, issue 13), through the real procfs informer and
 * monitor over a generated /proc history whose containers have cgroup usage files: every µJ of
 * active energy is a seen process's, a container's short-lived share, or the node residual; a
 * container is Σ its processes + its short-lived share; pods are Σ their containers; and the
 * snapshots are identical at any parallelism. Hand cases pin the split itself.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, TestClock } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import {
  advanceProcfsTree,
  churnProcfsTree,
  generateProcfsTree,
  type ProcfsTree
} from "../../scripts/lib/procfsTree.js"
import { attribute, initialMonitorState } from "../../src/monitor/attribute.js"
import { allocateIdle, initialIdleAllocation } from "../../src/monitor/idleAllocation.js"
import type { ZoneMeta } from "../../src/monitor/nodeEnergy.js"
import { makePowerMonitor, type MonitorOptions } from "../../src/monitor/PowerMonitor.js"
import type { Snapshot } from "../../src/monitor/snapshot.js"
import { makeProcfsInformer } from "../../src/resource/procfsInformer.js"
import type { ContainerCgroup, ProcessInfo, ResourceReading } from "../../src/resource/types.js"
import { constantPowerZone, meterOf } from "../support/fakes.js"

const history: ReadonlyArray<(tree: ProcfsTree) => ProcfsTree> = [
  (t) => advanceProcfsTree(t),
  (t) => advanceProcfsTree(churnProcfsTree(t, { exits: 40, births: 40 })),
  (t) => advanceProcfsTree(t),
  (t) => advanceProcfsTree(churnProcfsTree(t, { exits: 10, births: 25 })),
  (t) => advanceProcfsTree(t)
]

const options = (parallelism: number): MonitorOptions => ({
  interval: Duration.zero,
  staleness: Duration.zero,
  parallelism,
  maxPlausibleWatts: 5000,
  // Every terminated workload stays listed, so the totals can be summed over everything.
  maxTerminated: -1,
  minTerminatedEnergyThreshold: 0
})

const snapshotsAt = (parallelism: number) =>
  Effect.gen(function*() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `joulemon-short-${parallelism}-`))
    yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })))
    const cgroupfs = path.join(dir, "sys", "fs", "cgroup")
    let tree = generateProcfsTree(path.join(dir, "proc"), { processes: 600, seed: 31, cgroupfs })
    const informer = yield* makeProcfsInformer({ procfs: tree.dir, parallelism, cgroupfs })
    const meter = meterOf([constantPowerZone("package", 45), constantPowerZone("dram", 9)])
    const monitor = yield* makePowerMonitor(meter, informer, options(parallelism))
    const snapshots: Array<Snapshot> = [yield* monitor.refresh]
    for (const step of history) {
      tree = step(tree)
      yield* TestClock.adjust(Duration.seconds(5))
      snapshots.push(yield* monitor.refresh)
    }
    return snapshots
  })

const sum = (values: Iterable<bigint>): bigint => {
  let total = 0n
  for (const v of values) total += v
  return total
}

const everything = <W>(w: { readonly running: ReadonlyArray<W>; readonly terminated: ReadonlyArray<W> }) => [
  ...w.running,
  ...w.terminated
]

describe("short-lived work through the informer and monitor", () => {
  it.scoped(
    "conserves active energy exactly and is identical at parallelism 1, 4 and 64",
    () =>
      Effect.gen(function*() {
        const one = yield* snapshotsAt(1)
        for (const s of one) {
          const shortLived = s.shortLived
          if (shortLived === undefined) throw new Error("no short-lived totals under monitor.shortLived cgroup")
          for (const [z, zone] of s.zones.entries()) {
            const processes = sum(everything(s.processes).map((p) => p.energy[z] ?? 0n))
            const unseen = sum([...shortLived.containers.values()].map((e) => e[z] ?? 0n))
            expect(processes + unseen + zone.unattributedEnergyTotal).toBe(zone.activeEnergyTotal)

            for (const c of s.containers.running) {
              const members = sum(
                everything(s.processes).filter((p) => p.containerId === c.id).map((p) => p.energy[z] ?? 0n)
              )
              expect(c.energy[z]).toBe(members + (shortLived.containers.get(c.id)?.[z] ?? 0n))
            }
          }
        }
        const last = one.at(-1)
        const unseenJoules = sum([...(last?.shortLived?.containers.values() ?? [])].map((e) => e[0] ?? 0n))
        expect(unseenJoules).toBeGreaterThan(0n)
        expect(last?.zones.every((z) => z.unattributedEnergyTotal > 0n)).toBe(true)
        expect(last?.shortLived?.containers.size).toBeGreaterThan(40)

        const strip = (ss: ReadonlyArray<Snapshot>) => ss.map((s) => ({ ...s, timestamp: 0 }))
        expect(strip(yield* snapshotsAt(4))).toEqual(strip(one))
        expect(strip(yield* snapshotsAt(64))).toEqual(strip(one))
      }),
    60_000
  )
})

// ---------------------------------------------------------------------------------------------
// Hand cases on `attribute` directly.

const zones: ReadonlyArray<ZoneMeta> = [{ name: "package", index: 0, path: "p", estimated: false, maxEnergy: 0n }]

const proc = (pid: number, containerId: string, delta: number): ProcessInfo => ({
  key: `${pid}:1`,
  pid,
  startTime: 1,
  comm: `p${pid}`,
  exe: "",
  type: containerId === "" ? "regular" : "container",
  containerId,
  vmId: "",
  cpuTicksTotal: 1000 + delta,
  cpuTicksDelta: delta,
  firstSeen: false
})

const cgroup = (ticks: number | null): ContainerCgroup => ({
  version: 2,
  hierarchy: "",
  path: "/x",
  usageUsec: 0,
  ticks
})

const reading = (
  processes: ReadonlyArray<ProcessInfo>,
  activeTicks: number,
  cgroups: ReadonlyMap<string, ContainerCgroup> | undefined,
  totalTicks = activeTicks
): ResourceReading => ({
  node: { first: false, activeTicks, totalTicks, usageRatio: activeTicks / totalTicks, cpuCount: 1 },
  processes,
  containers: new Map([
    ["c1", { id: "c1", name: "one", runtime: "docker", podId: "pod" }],
    ["c2", { id: "c2", name: "two", runtime: "docker", podId: "pod" }]
  ]),
  vms: new Map(),
  pods: new Map([["pod", { id: "pod", name: "web", namespace: "ns" }]]),
  terminated: { processes: [], containers: [], vms: [], pods: [] },
  stats: { processesScanned: processes.length, processesVanished: 0, unreadableFiles: 0 },
  ...(cgroups === undefined ? {} : { cgroups })
})

const config = { maxPlausibleWatts: 1e9, maxTerminated: 10, minTerminatedEnergy: 0n, primaryZone: 0 }

/** Two intervals: the baseline, then `energy` µJ booked with all of it active. */
const run = (r: ResourceReading, energy: bigint) => {
  const input = (micro: bigint, nanos: bigint) => ({
    nowNanos: nanos,
    timestamp: 0,
    zones,
    samples: [{ _tag: "Read" as const, reading: { _tag: "Energy" as const, microjoules: micro }, atNanos: nanos }],
    resources: r,
    clearTerminated: false
  })
  const first = attribute(initialMonitorState(1), input(1_000_000n, 1_000_000_000n), config)
  return attribute(first.state, input(1_000_000n + energy, 2_000_000_000n), config).snapshot
}

describe("the short-lived split", () => {
  const processes = [proc(10, "c1", 30), proc(11, "c1", 10), proc(20, "c2", 20), proc(30, "", 20)]

  it("books a container's unseen cgroup ticks to it and the rest of /proc/stat to the residual", () => {
    // c1: cgroup 60 ticks, seen 40 → 20 short-lived; c2: cgroup 15 < seen 20 → none taken back;
    // node: 120 active − (80 seen + 20 short-lived) = 20 residual. 10 000 µJ per tick.
    const s = run(reading(processes, 120, new Map([["c1", cgroup(60)], ["c2", cgroup(15)]])), 1_200_000n)
    const energy = (pid: number) => s.processes.running.find((p) => p.pid === pid)?.energy[0]
    expect([energy(10), energy(11), energy(20), energy(30)]).toEqual([300_000n, 100_000n, 200_000n, 200_000n])
    expect(s.shortLived?.containers.get("c1")).toEqual([200_000n])
    expect(s.shortLived?.containers.get("c2")).toEqual([0n])
    expect(s.zones[0]?.unattributedEnergyTotal).toBe(200_000n)
    expect(s.containers.running.find((c) => c.id === "c1")?.energy[0]).toBe(600_000n)
    // Ticks of both intervals (the baseline reading books ticks, not energy): 2 × (40 + 20).
    expect(s.containers.running.find((c) => c.id === "c1")?.cpuSeconds).toBe(1.2)
    expect(s.pods.running[0]?.energy[0]).toBe(800_000n)
    expect(s.shortLived?.pods.get("pod")).toEqual([200_000n])
  })

  it("a cgroup without a previous sample (ticks null) claims nothing", () => {
    const s = run(reading(processes, 80, new Map([["c1", cgroup(null)]])), 800_000n)
    expect(s.shortLived?.containers.get("c1")).toEqual([0n])
    expect(s.zones[0]?.unattributedEnergyTotal).toBe(0n)
    expect(s.containers.running.find((c) => c.id === "c1")?.energy[0]).toBe(400_000n)
  })

  it("cpu-share idle weighs a container's short-lived ticks as its own and the residual at node level", () => {
    const r = reading(processes, 120, new Map([["c1", cgroup(60)], ["c2", cgroup(15)]]), 240)
    const s = run(r, 1_200_000n)
    expect((s.zones[0]?.intervalEnergy ?? 0n) - (s.zones[0]?.intervalActiveEnergy ?? 0n)).toBe(600_000n)
    const idle = allocateIdle(initialIdleAllocation("cpu-share"), s, r)
    // Claims: c1 40 seen + 20 short-lived, c2 20; node level: pid 30's 20 + the residual's 20.
    expect(idle.containers.get("c1")).toEqual([300_000n])
    expect(idle.containers.get("c2")).toEqual([100_000n])
    expect(idle.nodeLevel).toEqual([200_000n])
  })

  it("is Kepler's split when cgroups are not read: no residual, no short-lived totals", () => {
    const s = run(reading(processes, 500, undefined), 800_000n)
    expect(s.shortLived).toBeUndefined()
    expect(s.zones[0]?.unattributedEnergyTotal).toBe(0n)
    expect(s.processes.running.find((p) => p.pid === 10)?.energy[0]).toBe(300_000n)
  })
})
