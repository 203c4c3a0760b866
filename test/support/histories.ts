/**
 * Random multi-interval histories for property tests: a pool of processes with fixed
 * container/VM/pod membership, random CPU ticks, random zone counters and clock steps.
 */
import { FastCheck as fc } from "effect"
import {
  attribute,
  type AttributionConfig,
  initialMonitorState,
  type MonitorState
} from "../../src/monitor/attribute.js"
import type { ZoneMeta, ZoneSample } from "../../src/monitor/nodeEnergy.js"
import type { Snapshot } from "../../src/monitor/snapshot.js"
import type { ContainerInfo, PodInfo, ProcessInfo, ResourceReading, VmInfo } from "../../src/resource/types.js"
import { energy, node, power, reading, SECOND } from "./readings.js"

export interface Member {
  readonly pid: number
  readonly container: number | undefined
  readonly vm: number | undefined
}

export interface Interval {
  /** Which pool members run in this interval, and their tick deltas. */
  readonly running: ReadonlyArray<{ readonly member: number; readonly ticks: number }>
  readonly zoneDeltas: ReadonlyArray<number>
  readonly activeTicks: number
  readonly idleTicks: number
  readonly seconds: number
}

export interface History {
  readonly pool: ReadonlyArray<Member>
  readonly intervals: ReadonlyArray<Interval>
}

const ZONES = 3

export const historyArbitrary: fc.Arbitrary<History> = fc
  .uniqueArray(fc.integer({ min: 1, max: 4_000_000 }), { minLength: 1, maxLength: 40 })
  .chain((pids) =>
    fc.record({
      pool: fc.tuple(
        ...pids.map((pid) =>
          fc.record({
            pid: fc.constant(pid),
            container: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }),
            vm: fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined })
          })
        )
      ),
      intervals: fc.array(
        fc.record({
          running: fc.uniqueArray(
            fc.record({
              member: fc.integer({ min: 0, max: pids.length - 1 }),
              ticks: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2000 }))
            }),
            { selector: (r) => r.member, maxLength: pids.length }
          ),
          zoneDeltas: fc.array(fc.integer({ min: 0, max: 2_000_000_000 }), { minLength: ZONES, maxLength: ZONES }),
          activeTicks: fc.integer({ min: 0, max: 800 }),
          idleTicks: fc.integer({ min: 0, max: 800 }),
          seconds: fc.integer({ min: 1, max: 30 })
        }),
        { minLength: 1, maxLength: 8 }
      )
    })
  )

export const historyZones: ReadonlyArray<ZoneMeta> = [
  { name: "package", index: 0, path: "p", estimated: false, maxEnergy: 0n },
  { name: "dram", index: 0, path: "d", estimated: false, maxEnergy: 0n },
  { name: "psys", index: 0, path: "s", estimated: false, maxEnergy: 0n }
]

const containerId = (c: number) => `c${c}`.padEnd(64, "0")
const podOf = (c: number) => `pod-${c % 2}`

/** Resource readings for each interval (index 0 is the informer's first reading). */
export const readingsOf = (h: History): Array<ResourceReading> => {
  let previousKeys = new Set<string>()
  let previousContainers = new Set<string>()
  let previousVms = new Set<string>()
  let previousPods = new Set<string>()
  const ticksSoFar = new Map<number, number>()
  return h.intervals.map((iv, i) => {
    const processes: Array<ProcessInfo> = []
    const containers = new Map<string, ContainerInfo>()
    const vms = new Map<string, VmInfo>()
    const pods = new Map<string, PodInfo>()
    for (const r of iv.running) {
      const m = h.pool[r.member]
      if (m === undefined) continue
      const total = (ticksSoFar.get(m.pid) ?? 0) + r.ticks
      ticksSoFar.set(m.pid, total)
      const cid = m.container === undefined ? "" : containerId(m.container)
      const vid = m.container === undefined && m.vm !== undefined ? `vm${m.vm}` : ""
      if (m.container !== undefined) {
        containers.set(cid, { id: cid, name: `name${m.container}`, runtime: "docker", podId: podOf(m.container) })
        pods.set(podOf(m.container), { id: podOf(m.container), name: `n${podOf(m.container)}`, namespace: "ns" })
      }
      if (vid !== "") vms.set(vid, { id: vid, name: vid, hypervisor: "kvm" })
      processes.push({
        key: `${m.pid}:7`,
        pid: m.pid,
        startTime: 7,
        comm: `c${m.pid}`,
        exe: "",
        type: cid !== "" ? "container" : vid !== "" ? "vm" : "regular",
        containerId: cid,
        vmId: vid,
        cpuTicksTotal: total,
        cpuTicksDelta: r.ticks,
        firstSeen: !previousKeys.has(`${m.pid}:7`)
      })
    }
    processes.sort((a, b) => a.pid - b.pid)
    const keys = new Set(processes.map((p) => p.key))
    const result = reading(
      node(i === 0 ? 0 : iv.activeTicks, i === 0 ? 0 : iv.activeTicks + iv.idleTicks, i === 0),
      processes,
      {
        containers: [...containers.values()],
        vms: [...vms.values()],
        pods: [...pods.values()],
        terminated: {
          processes: [...previousKeys].filter((k) => !keys.has(k)),
          containers: [...previousContainers].filter((k) => !containers.has(k)),
          vms: [...previousVms].filter((k) => !vms.has(k)),
          pods: [...previousPods].filter((k) => !pods.has(k))
        }
      }
    )
    previousKeys = keys
    previousContainers = new Set(containers.keys())
    previousVms = new Set(vms.keys())
    previousPods = new Set(pods.keys())
    return result
  })
}

export const samplesOf = (h: History): Array<{ at: bigint; samples: Array<ZoneSample> }> => {
  const counters = [0n, 0n, 0n]
  let at = 0n
  return h.intervals.map((iv, i) => {
    if (i > 0) at += BigInt(iv.seconds) * SECOND
    const samples = iv.zoneDeltas.map((d, z) => {
      if (z === 2) return power(d / 10) // the psys zone is a power sensor
      counters[z] = (counters[z] ?? 0n) + (i === 0 ? 0n : BigInt(d))
      return energy(counters[z] ?? 0n)
    })
    return { at, samples }
  })
}

export const historyConfig: AttributionConfig = {
  maxPlausibleWatts: 1e9,
  maxTerminated: -1,
  minTerminatedEnergy: 0n,
  primaryZone: 0
}

export const runHistory = (
  h: History,
  permute: <T>(xs: ReadonlyArray<T>) => ReadonlyArray<T> = (xs) => xs
): Array<{ snapshot: Snapshot; state: MonitorState }> => {
  const readings = readingsOf(h)
  const samples = samplesOf(h)
  let state = initialMonitorState(ZONES)
  return readings.map((r, i) => {
    const s = samples[i]
    const result = attribute(
      state,
      {
        nowNanos: s?.at ?? 0n,
        timestamp: Number((s?.at ?? 0n) / 1_000_000n),
        zones: historyZones,
        samples: s?.samples ?? [],
        resources: { ...r, processes: permute(r.processes) },
        clearTerminated: false
      },
      historyConfig
    )
    state = result.state
    return result
  })
}
