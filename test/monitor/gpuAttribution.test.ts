/**
 * The GPU attribution on hand-made readings: exact µJ at node, process, container and pod level,
 * Kepler's idle detection and sharing modes, failures that lose no energy, and a property that
 * conservation holds and the result does not depend on the order NVML lists things in.
 */
import { FastCheck as fc } from "effect"
import { describe, expect, it } from "vitest"
import type { GpuDeviceInfo, GpuSample, GpuShareGroup } from "../../src/device/gpu/GpuPowerMeter.js"
import {
  attributeGpu,
  type GpuAttributionConfig,
  type GpuAttributionWorkloads,
  type GpuState,
  initialGpuState
} from "../../src/monitor/gpuAttribution.js"
import type { ContainerWorkload, PodWorkload, ProcessWorkload } from "../../src/monitor/snapshot.js"

const SECOND = 1_000_000_000n
const config: GpuAttributionConfig = { idlePowerWatts: 0, maxPlausibleWatts: 10_000 }

const device = (index: number, mode: GpuDeviceInfo["mode"] = "time-slicing", energyCounter = true): GpuDeviceInfo => ({
  index,
  uuid: `GPU-${index}`,
  name: "Test GPU",
  vendor: "nvidia",
  mode,
  energyCounter
})

const proc = (pid: number, containerId = ""): ProcessWorkload => ({
  key: `${pid}:1`,
  pid,
  comm: `p${pid}`,
  exe: `/bin/p${pid}`,
  type: "regular",
  containerId,
  vmId: "",
  cpuSeconds: 0,
  energy: [],
  watts: []
})
const container = (id: string, podId = ""): ContainerWorkload => ({
  id,
  name: id,
  runtime: "containerd",
  podId,
  cpuSeconds: 0,
  energy: [],
  watts: []
})
const pod = (id: string): PodWorkload => ({ id, name: id, namespace: "ns", energy: [], watts: [] })

const world = (
  processes: ReadonlyArray<ProcessWorkload>,
  containers: ReadonlyArray<ContainerWorkload> = [],
  pods: ReadonlyArray<PodWorkload> = []
): GpuAttributionWorkloads => ({
  processes: { running: processes, terminated: [] },
  containers: { running: containers, terminated: [] },
  pods: { running: pods, terminated: [] }
})

const read = (
  atSeconds: bigint,
  powerWatts: number,
  energyMillijoules: bigint | undefined,
  groups: ReadonlyArray<GpuShareGroup> = []
): Extract<GpuSample, { _tag: "Read" }> => ({
  _tag: "Read",
  atNanos: atSeconds * SECOND,
  powerMilliwatts: powerWatts * 1000,
  energyMillijoules,
  computeProcesses: groups.reduce((n, g) => n + g.processes.length, 0),
  groups
})
const whole = (...processes: ReadonlyArray<readonly [number, number]>): ReadonlyArray<GpuShareGroup> => [
  { gpuInstance: -1, weight: 1, processes: processes.map(([pid, weight]) => ({ pid, weight })) }
]

/** Runs readings (one array per interval, one sample per device) through the attribution. */
const run = (
  devices: ReadonlyArray<GpuDeviceInfo>,
  intervals: ReadonlyArray<ReadonlyArray<GpuSample>>,
  w: GpuAttributionWorkloads,
  c: GpuAttributionConfig = config
) => {
  let state: GpuState = initialGpuState
  const snapshots = []
  for (const samples of intervals) {
    const r = attributeGpu(state, devices, samples, w, c)
    state = r.state
    snapshots.push(r.snapshot)
  }
  const last = snapshots[snapshots.length - 1]
  if (last === undefined) throw new Error("no interval")
  return { state, snapshots, last }
}

describe("GPU attribution", () => {
  it("books the energy counter's delta, learns idle from a reading without processes and splits active 3:1", () => {
    const d = [device(0)]
    const w = world([proc(10, "c1"), proc(20, "c2")], [container("c1", "pod-a"), container("c2", "pod-a")], [
      pod("pod-a")
    ])
    const { last } = run(d, [
      // No compute process: the idle baseline is 50 W.
      [read(0n, 50, 1_000_000n)],
      // 10 s at 50 W idle: 500 J, all idle.
      [read(10n, 50, 1_500_000n)],
      // 10 s, 1500 J booked: 500 J idle, 1000 J active split 3:1.
      [read(20n, 200, 3_000_000n, whole([10, 75], [20, 25]))]
    ], w)
    const dev = last.devices[0]
    expect(dev?.energyTotal).toBe(2_000_000_000n)
    expect(dev?.idleEnergyTotal).toBe(1_000_000_000n)
    expect(dev?.activeEnergyTotal).toBe(1_000_000_000n)
    expect(dev?.unattributedEnergyTotal).toBe(0n)
    expect(dev?.watts).toBe(200)
    expect(dev?.idleWatts).toBe(50)
    expect(dev?.activeWatts).toBe(150)
    expect(last.processes.get("10:1")?.energy).toBe(750_000_000n)
    expect(last.processes.get("20:1")?.energy).toBe(250_000_000n)
    expect(last.processes.get("10:1")?.watts).toBeCloseTo(75, 9)
    expect(last.containers.get("c1")?.energy).toBe(750_000_000n)
    expect(last.containers.get("c2")?.energy).toBe(250_000_000n)
    expect(last.pods.get("pod-a")?.energy).toBe(1_000_000_000n)
  })

  it("uses the configured idle power instead of the observed minimum", () => {
    const { last } = run(
      [device(0)],
      [
        [read(0n, 20, 0n)],
        [read(10n, 100, 1_000_000n, whole([10, 1]))]
      ],
      world([proc(10)]),
      { ...config, idlePowerWatts: 30 }
    )
    expect(last.devices[0]?.idleEnergyTotal).toBe(300_000_000n)
    expect(last.processes.get("10:1")?.energy).toBe(700_000_000n)
  })

  it("gives an exclusive process all the active energy and books invisible processes as unattributed", () => {
    const { last } = run([device(0, "exclusive"), device(1)], [
      [read(0n, 0, 0n), read(0n, 0, 0n)],
      [read(5n, 100, 500_000n, whole([10, 1])), read(5n, 100, 500_000n, whole([99999, 1]))]
    ], world([proc(10)]))
    expect(last.processes.get("10:1")?.energy).toBe(500_000_000n)
    expect(last.devices[1]?.unattributedEnergyTotal).toBe(500_000_000n)
    expect(last.processes.size).toBe(1)
  })

  it("loses no energy across a lost device: the next good read books the whole delta", () => {
    const lost: GpuSample = { _tag: "Failed", error: "GPU is lost", lost: true }
    const { snapshots, last } = run([device(0)], [
      [read(0n, 0, 0n)],
      [read(1n, 100, 100_000n, whole([10, 1]))],
      [lost],
      [lost],
      [read(4n, 100, 400_000n, whole([10, 1]))]
    ], world([proc(10)]))
    expect(snapshots[2]?.devices[0]?.status).toBe("lost")
    expect(snapshots[3]?.devices[0]?.energyTotal).toBe(100_000_000n)
    expect(last.devices[0]?.status).toBe("ok")
    expect(last.devices[0]?.energyTotal).toBe(400_000_000n)
    expect(last.devices[0]?.losses).toBe(2)
    expect(last.processes.get("10:1")?.energy).toBe(400_000_000n)
  })

  it("books nothing when the counter stops advancing, and re-baselines when it goes backwards", () => {
    const { snapshots, last } = run([device(0)], [
      [read(0n, 0, 1_000n)],
      [read(1n, 100, 101_000n, whole([10, 1]))],
      [read(2n, 100, 101_000n, whole([10, 1]))],
      // Driver reloaded: the counter restarts.
      [read(3n, 100, 5_000n, whole([10, 1]))],
      [read(4n, 100, 105_000n, whole([10, 1]))]
    ], world([proc(10)]))
    expect(snapshots[2]?.devices[0]?.intervalEnergy).toBe(0n)
    expect(snapshots[2]?.devices[0]?.energyTotal).toBe(100_000_000n)
    expect(snapshots[3]?.devices[0]?.status).toBe("reset")
    expect(last.devices[0]?.energyTotal).toBe(200_000_000n)
    expect(last.devices[0]?.resets).toBe(1)
    expect(last.processes.get("10:1")?.energy).toBe(200_000_000n)
  })

  it("integrates power exactly over time when the device has no energy counter", () => {
    // 1 mW over thirds of a second: 333.33 µJ each, so each interval carries a sub-µJ remainder.
    const at = (nanos: bigint): GpuSample => ({
      _tag: "Read",
      atNanos: nanos,
      powerMilliwatts: 1,
      computeProcesses: 0,
      groups: []
    })
    const steps = [0n, 333_333_333n, 666_666_666n, 1_000_000_000n]
    const { last } = run([device(0, "time-slicing", false)], steps.map((n) => [at(n)]), world([]))
    // 1 mW × 1 s = 1000 µJ exactly, though each third books ⌊333.33⌋.
    expect(last.devices[0]?.energyTotal).toBe(1000n)
  })

  it("drops an interval whose delta implies implausible power", () => {
    const { last } = run([device(0)], [
      [read(0n, 0, 0n)],
      [read(1n, 100, 1_000_000_000n, whole([10, 1]))]
    ], world([proc(10)]))
    expect(last.devices[0]?.status).toBe("glitch")
    expect(last.devices[0]?.energyTotal).toBe(0n)
  })

  it("splits a MIG device over its instances by weight, then over each instance's processes", () => {
    const groups: ReadonlyArray<GpuShareGroup> = [
      { gpuInstance: 2, weight: 1, processes: [{ pid: 30, weight: 1 }] },
      { gpuInstance: 1, weight: 3, processes: [{ pid: 10, weight: 1 }, { pid: 20, weight: 1 }] }
    ]
    const { last } = run([device(0, "partitioned")], [
      [read(0n, 0, 0n)],
      [read(1n, 400, 400_000n, groups)]
    ], world([proc(10), proc(20), proc(30)]))
    expect(last.processes.get("10:1")?.energy).toBe(150_000_000n)
    expect(last.processes.get("20:1")?.energy).toBe(150_000_000n)
    expect(last.processes.get("30:1")?.energy).toBe(100_000_000n)
  })

  it("keeps a terminated process's last GPU values while the CPU side reports it", () => {
    const d = [device(0)]
    const first = attributeGpu(initialGpuState, d, [read(0n, 0, 0n)], world([proc(10)]), config)
    const second = attributeGpu(first.state, d, [read(1n, 100, 100_000n, whole([10, 1]))], world([proc(10)]), config)
    const gone: GpuAttributionWorkloads = {
      ...world([]),
      processes: { running: [], terminated: [proc(10)] }
    }
    const third = attributeGpu(second.state, d, [read(2n, 0, 100_000n)], gone, config)
    expect(third.snapshot.processes.get("10:1")).toEqual(second.snapshot.processes.get("10:1"))
    const forgotten = attributeGpu(third.state, d, [read(3n, 0, 100_000n)], world([]), config)
    expect(forgotten.snapshot.processes.size).toBe(0)
  })

  it("property: conservation is exact at every level and the listing order changes nothing", () => {
    const pids = [10, 20, 30, 40, 50]
    const processes = pids.map((pid, i) => proc(pid, i < 4 ? `c${i % 2}` : ""))
    const w = world(processes, [container("c0", "pod-a"), container("c1", "pod-a")], [pod("pod-a")])
    const groupArb = fc.record({
      gpuInstance: fc.integer({ min: -1, max: 7 }),
      weight: fc.integer({ min: 0, max: 1_000_000 }),
      processes: fc.uniqueArray(
        fc.record({ pid: fc.constantFrom(...pids, 777), weight: fc.integer({ min: 0, max: 100 }) }),
        { selector: (p) => p.pid, maxLength: 6 }
      )
    })
    const intervalArb = fc.record({
      seconds: fc.integer({ min: 1, max: 30 }),
      watts: fc.integer({ min: 0, max: 2000 }),
      failed: fc.boolean(),
      groups: fc.uniqueArray(groupArb, { selector: (g) => g.gpuInstance, maxLength: 3 })
    })
    fc.assert(
      fc.property(
        fc.array(fc.array(intervalArb, { minLength: 2, maxLength: 2 }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 0, max: 200 }),
        (intervals, idleWatts) => {
          const devices = [device(0), device(1, "partitioned", false)]
          const at = [0n, 0n]
          const energy = [0n, 0n]
          const samples = intervals.map((perDevice) =>
            perDevice.map((iv, d): GpuSample => {
              at[d] = (at[d] ?? 0n) + BigInt(iv.seconds) * SECOND
              energy[d] = (energy[d] ?? 0n) + BigInt(iv.watts * iv.seconds) * 1000n
              if (iv.failed) return { _tag: "Failed", error: "x", lost: false }
              const sample = read(0n, iv.watts, d === 0 ? energy[d] : undefined, iv.groups)
              return { ...sample, atNanos: at[d] ?? 0n }
            })
          )
          const c = { ...config, idlePowerWatts: idleWatts }
          const forward = run(devices, [[read(0n, 0, 0n), read(0n, 0, undefined)], ...samples], w, c)
          const reversed = run(
            devices,
            [
              [read(0n, 0, 0n), read(0n, 0, undefined)],
              ...samples.map((ss) =>
                ss.map((s) =>
                  s._tag === "Read"
                    ? {
                      ...s,
                      groups: [...s.groups].reverse().map((g) => ({ ...g, processes: [...g.processes].reverse() }))
                    }
                    : s
                )
              )
            ],
            w,
            c
          )
          expect(reversed.last).toEqual(forward.last)
          const snap = forward.last
          const active = snap.devices.reduce((a, d) => a + d.activeEnergyTotal, 0n)
          const unattributed = snap.devices.reduce((a, d) => a + d.unattributedEnergyTotal, 0n)
          for (const d of snap.devices) expect(d.idleEnergyTotal + d.activeEnergyTotal).toBe(d.energyTotal)
          const byProcess = [...snap.processes.values()].reduce((a, u) => a + u.energy, 0n)
          expect(byProcess + unattributed).toBe(active)
          const inContainers = processes
            .filter((p) => p.containerId !== "")
            .reduce((a, p) => a + (snap.processes.get(p.key)?.energy ?? 0n), 0n)
          const containers = [...snap.containers.values()].reduce((a, u) => a + u.energy, 0n)
          expect(containers).toBe(inContainers)
          expect(snap.pods.get("pod-a")?.energy ?? 0n).toBe(containers)
        }
      ),
      { numRuns: 300 }
    )
  })
})
