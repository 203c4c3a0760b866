import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import {
  attribute,
  type AttributionConfig,
  initialMonitorState,
  type MonitorState
} from "../../src/monitor/attribute.js"
import type { Snapshot, ZoneValues } from "../../src/monitor/snapshot.js"
import { historyArbitrary, runHistory } from "../support/histories.js"
import { energy, J, node, proc, reading, SECOND, zoneMeta } from "../support/readings.js"

const config: AttributionConfig = {
  maxPlausibleWatts: 5000,
  maxTerminated: 500,
  minTerminatedEnergy: J(10),
  primaryZone: 0
}
const zones = [zoneMeta("package", J(1000))]

const withPrevious = (processes: Record<string, number>, containers: Record<string, number> = {}): MonitorState => {
  const base = initialMonitorState(1)
  const values = (joules: number): ZoneValues => ({ energy: [J(joules)], watts: [0] })
  return {
    ...base,
    sequence: 1,
    zones: [{ ...base.zones[0], ...{ baseline: { raw: J(100), nanos: 0n } } } as MonitorState["zones"][number]],
    processes: new Map(
      Object.entries(processes).map(([key, joules]) => [
        key,
        {
          key,
          pid: Number(key.split(":")[0]),
          comm: "",
          exe: "",
          type: "regular" as const,
          containerId: "",
          vmId: "",
          cpuSeconds: 0,
          ...values(joules)
        }
      ])
    ),
    containers: new Map(
      Object.entries(containers).map((
        [id, joules]
      ) => [id, { id, name: "", runtime: "docker" as const, podId: "", cpuSeconds: 0, ...values(joules) }])
    )
  }
}

describe("attribute — Kepler's attribution vector (kepler-behaviour.md §12 check 9)", () => {
  // Node: 100 J over 2 s (50 W), usage 0.5 → 50 J active (25 W). D = 200 ticks.
  const step = () =>
    attribute(
      withPrevious({ "123:1": 25 }, { c1: 25 }),
      {
        nowNanos: 2n * SECOND,
        timestamp: 2000,
        zones,
        samples: [energy(J(200))],
        resources: reading(
          node(50, 100),
          [
            proc(123, 60, { containerId: "c1" }),
            proc(456, 40),
            proc(789, 30),
            proc(1231, 20, { containerId: "c1" }),
            proc(999, 50),
            proc(1000, 0)
          ],
          { containers: [{ id: "c1", name: "one", runtime: "docker", podId: "" }] }
        ),
        clearTerminated: false
      },
      config
    ).snapshot

  it("process with 30 % of the ticks: 7.5 W and 25 + 15 = 40 J", () => {
    const s = step()
    const p123 = s.processes.running.find((p) => p.pid === 123)
    expect(s.zones[0]?.watts).toBe(50)
    expect(s.zones[0]?.activeWatts).toBe(25)
    expect(p123?.watts[0]).toBe(7.5)
    expect(p123?.energy[0]).toBe(J(40))
    expect(s.processes.running.find((p) => p.pid === 456)?.watts[0]).toBe(5)
    expect(s.processes.running.find((p) => p.pid === 789)?.watts[0]).toBe(3.75)
  })

  it("container = Σ its processes: 10 W and 25 + 20 = 45 J", () => {
    const c1 = step().containers.running.find((c) => c.id === "c1")
    expect(c1?.watts[0]).toBe(10)
    expect(c1?.energy[0]).toBe(J(45))
  })

  it("a process with no CPU time gets 0 W and keeps its energy", () => {
    const p = step().processes.running.find((x) => x.pid === 1000)
    expect(p?.watts[0]).toBe(0)
    expect(p?.energy[0]).toBe(0n)
  })

  it("books the active energy as unattributed when no process used CPU", () => {
    const s = attribute(
      withPrevious({}),
      {
        nowNanos: 2n * SECOND,
        timestamp: 2000,
        zones,
        samples: [energy(J(200))],
        resources: reading(node(50, 100), [proc(1, 0)]),
        clearTerminated: false
      },
      config
    ).snapshot
    expect(s.zones[0]?.unattributedEnergyTotal).toBe(J(50))
    expect(s.zones[0]?.activeEnergyTotal).toBe(J(50))
  })
})

describe("attribute — first reading (kepler-behaviour.md §12 check 10, DESIGN.md §3.2)", () => {
  it("books nothing: every total and every watt is 0, every workload present at 0", () => {
    const { snapshot } = attribute(
      initialMonitorState(1),
      {
        nowNanos: 0n,
        timestamp: 0,
        zones,
        samples: [energy(J(480_844))],
        resources: reading(node(0, 0, true), [proc(1, 500), proc(2, 700, { containerId: "c" })], {
          containers: [{ id: "c", name: "", runtime: "docker", podId: "" }]
        }),
        clearTerminated: false
      },
      config
    )
    expect(snapshot.zones[0]).toMatchObject({
      energyTotal: 0n,
      activeEnergyTotal: 0n,
      idleEnergyTotal: 0n,
      watts: 0,
      status: "baseline"
    })
    expect(snapshot.processes.running.map((p) => [p.energy[0], p.watts[0]])).toEqual([
      [0n, 0],
      [0n, 0]
    ])
    // CPU seconds still count the first observation's lifetime (Kepler §4.6).
    expect(snapshot.containers.running[0]?.cpuSeconds).toBe(7)
  })
})

describe("attribute — terminated lifecycle (kepler-behaviour.md §12 check 13)", () => {
  const run = (joules: number, maxTerminated: number) => {
    const cfg = { ...config, maxTerminated }
    let state = withPrevious({})
    const snaps: Array<Snapshot> = []
    const stepWith = (
      procs: ReturnType<typeof proc>[],
      terminated: string[],
      at: bigint,
      counter: number,
      clear: boolean
    ) => {
      const r = attribute(
        state,
        {
          nowNanos: at,
          timestamp: Number(at / 1_000_000n),
          zones,
          samples: [energy(J(counter))],
          resources: reading(node(100, 100), procs, { terminated: { processes: terminated } }),
          clearTerminated: clear
        },
        cfg
      )
      state = r.state
      snaps.push(r.snapshot)
    }
    // N: process 42 alone gets all `joules` of active energy; N+1: it is gone.
    stepWith([proc(42, 10)], [], SECOND, 100 + joules, false)
    stepWith([proc(43, 10)], ["42:1"], 2n * SECOND, 100 + joules + 1, false)
    stepWith([proc(43, 10)], [], 3n * SECOND, 100 + joules + 2, false) // not exported yet: kept
    stepWith([proc(43, 10)], [], 4n * SECOND, 100 + joules + 3, true) // exported before this refresh: cleared
    return snaps
  }

  it("keeps a 25 J process as terminated with frozen values until exported, then drops it", () => {
    const snaps = run(25, 500)
    expect(snaps[0]?.processes.running[0]?.energy[0]).toBe(J(25))
    expect(snaps[1]?.processes.terminated.map((p) => [p.pid, p.energy[0], p.watts[0]])).toEqual([[42, J(25), 25]])
    expect(snaps[2]?.processes.terminated.map((p) => p.pid)).toEqual([42])
    expect(snaps[3]?.processes.terminated).toEqual([])
  })

  it("never tracks a 5 J process (below the 10 J threshold)", () => {
    expect(run(5, 500)[1]?.processes.terminated).toEqual([])
  })

  it("never tracks anything with maxTerminated 0", () => {
    expect(run(25, 0)[1]?.processes.terminated).toEqual([])
  })
})

// ---- Properties over random histories (DESIGN.md §6) ----

const intervalOf = (now: ZoneValues, before: ZoneValues | undefined, z: number) =>
  (now.energy[z] ?? 0n) - (before?.energy[z] ?? 0n)

const byKey = <W>(ws: ReadonlyArray<W>, key: (w: W) => string) => new Map(ws.map((w) => [key(w), w]))

const property = (name: string, check: (snaps: ReturnType<typeof runHistory>) => void) =>
  it(name, () => {
    fc.assert(
      fc.property(historyArbitrary, (h) => {
        check(runHistory(h))
      }),
      { seed: 42, numRuns: 200 }
    )
  })

describe("attribute — properties", () => {
  it("is identical for any order of the input processes", () => {
    fc.assert(
      fc.property(historyArbitrary, fc.integer(), (h, seed) => {
        const shuffle = <T>(xs: ReadonlyArray<T>): ReadonlyArray<T> => {
          const out = [...xs]
          let s = seed
          for (let i = out.length - 1; i > 0; i--) {
            s = (s * 1103515245 + 12345) & 0x7fffffff
            const j = s % (i + 1)
            const tmp = out[i] as T
            out[i] = out[j] as T
            out[j] = tmp
          }
          return out
        }
        expect(runHistory(h, shuffle).map((r) => r.snapshot)).toEqual(runHistory(h).map((r) => r.snapshot))
      }),
      { seed: 42, numRuns: 100 }
    )
  })

  property("Σ process energy = node active energy − unattributed, exactly, per zone and interval", (runs) => {
    runs.forEach(({ snapshot }, i) => {
      const before = i === 0 ? undefined : runs[i - 1]?.snapshot
      const prevProcs = byKey(before?.processes.running ?? [], (p) => p.key)
      snapshot.zones.forEach((zone, z) => {
        const sum = snapshot.processes.running.reduce((acc, p) => acc + intervalOf(p, prevProcs.get(p.key), z), 0n)
        const unattributed = zone.unattributedEnergyTotal - (before?.zones[z]?.unattributedEnergyTotal ?? 0n)
        expect(sum).toBe(zone.intervalActiveEnergy - unattributed)
        expect(zone.energyTotal).toBe(zone.activeEnergyTotal + zone.idleEnergyTotal)
      })
    })
  })

  property("container = Σ its processes, VM = Σ its processes, pod = Σ its containers, exactly", (runs) => {
    runs.forEach(({ snapshot }, i) => {
      const before = i === 0 ? undefined : runs[i - 1]?.snapshot
      const prevProcs = byKey(before?.processes.running ?? [], (p) => p.key)
      const prevContainers = byKey(before?.containers.running ?? [], (c) => c.id)
      const prevVms = byKey(before?.vms.running ?? [], (v) => v.id)
      const prevPods = byKey(before?.pods.running ?? [], (p) => p.id)
      snapshot.zones.forEach((_, z) => {
        for (const c of snapshot.containers.running) {
          const members = snapshot.processes.running.filter((p) => p.containerId === c.id)
          expect(intervalOf(c, prevContainers.get(c.id), z)).toBe(
            members.reduce((a, p) => a + intervalOf(p, prevProcs.get(p.key), z), 0n)
          )
        }
        for (const v of snapshot.vms.running) {
          const members = snapshot.processes.running.filter((p) => p.vmId === v.id)
          expect(intervalOf(v, prevVms.get(v.id), z)).toBe(
            members.reduce((a, p) => a + intervalOf(p, prevProcs.get(p.key), z), 0n)
          )
        }
        for (const pod of snapshot.pods.running) {
          const members = snapshot.containers.running.filter((c) => c.podId === pod.id)
          expect(intervalOf(pod, prevPods.get(pod.id), z)).toBe(
            members.reduce((a, c) => a + intervalOf(c, prevContainers.get(c.id), z), 0n)
          )
        }
      })
    })
  })

  property("every counter is non-decreasing and every watt is finite and ≥ 0", (runs) => {
    runs.forEach(({ snapshot }, i) => {
      const before = i === 0 ? undefined : runs[i - 1]?.snapshot
      snapshot.zones.forEach((zone, z) => {
        const b = before?.zones[z]
        expect(zone.energyTotal >= (b?.energyTotal ?? 0n)).toBe(true)
        expect(zone.activeEnergyTotal >= (b?.activeEnergyTotal ?? 0n)).toBe(true)
        expect(zone.idleEnergyTotal >= (b?.idleEnergyTotal ?? 0n)).toBe(true)
        for (const w of [zone.watts, zone.activeWatts, zone.idleWatts]) expect(Number.isFinite(w) && w >= 0).toBe(true)
      })
      const kinds = [
        [snapshot.processes.running, before?.processes.running ?? [], (w: { key: string }) => w.key],
        [snapshot.containers.running, before?.containers.running ?? [], (w: { id: string }) => w.id],
        [snapshot.vms.running, before?.vms.running ?? [], (w: { id: string }) => w.id],
        [snapshot.pods.running, before?.pods.running ?? [], (w: { id: string }) => w.id]
      ] as const
      for (const [now, then, key] of kinds) {
        const prev = new Map((then as ReadonlyArray<ZoneValues>).map((w) => [(key as (w: unknown) => string)(w), w]))
        for (const w of now as ReadonlyArray<ZoneValues>) {
          const p = prev.get((key as (w: unknown) => string)(w))
          w.energy.forEach((e, z) => expect(e >= (p?.energy[z] ?? 0n)).toBe(true))
          w.watts.forEach((x) => expect(Number.isFinite(x) && x >= 0).toBe(true))
        }
      }
    })
  })

  property("Σ running process watts = node active watts (to float rounding) when some process used CPU", (runs) => {
    for (const { snapshot } of runs) {
      const anyTicks = snapshot.processes.running.some((p) => p.watts.some((w) => w > 0))
      if (!anyTicks) continue
      snapshot.zones.forEach((zone, z) => {
        if (zone.unattributedEnergyTotal > 0n && zone.intervalActiveEnergy > 0n) return
        const sum = snapshot.processes.running.reduce((a, p) => a + (p.watts[z] ?? 0), 0)
        expect(sum).toBeCloseTo(zone.activeWatts, 6)
      })
    }
  })
})
