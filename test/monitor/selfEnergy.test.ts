import { describe, expect, it } from "@effect/vitest"
import { snapshotSelfFamilies } from "../../src/exporter/prometheus/selfFamilies.js"
import {
  attribute,
  type AttributionConfig,
  initialMonitorState,
  type MonitorState
} from "../../src/monitor/attribute.js"
import { energy, J, node, proc, reading, SECOND, zoneMeta } from "../support/readings.js"

const config: AttributionConfig = {
  maxPlausibleWatts: 5000,
  maxTerminated: 500,
  minTerminatedEnergy: J(10),
  primaryZone: 0
}
const zones = [zoneMeta("package", J(1000)), zoneMeta("dram", J(1000))]

/** Each interval books 100 J per zone with half the node's ticks active: 50 J active per zone. */
const step = (
  state: MonitorState,
  at: number,
  selfPids: ReadonlyArray<number>,
  processes: Parameters<typeof reading>[1]
) =>
  attribute(
    state,
    {
      nowNanos: BigInt(at) * SECOND,
      timestamp: at * 1000,
      zones,
      samples: [energy(J(100 + 100 * at)), energy(J(100 + 100 * at))],
      resources: reading(node(100, 200), processes),
      clearTerminated: false,
      selfPids
    },
    config
  )

describe("joulemon's own energy (issue 13 item 4)", () => {
  const baseline = step(initialMonitorState(2), 0, [10, 11], [proc(10, 0), proc(11, 0), proc(50, 0)]).state

  it("is the sum of the shares of joulemon's own pids, per zone, by the same attribution", () => {
    // 50 J active split 20:30:50 over pids 10, 11, 50 → self = 10 + 15 = 25 J.
    const s = step(baseline, 1, [10, 11], [proc(10, 20), proc(11, 30), proc(50, 50)]).snapshot
    expect(s.selfEnergy).toEqual([J(25), J(25)])
    const own = s.processes.running.filter((p) => p.pid === 10 || p.pid === 11)
    expect(own.reduce((sum, p) => sum + (p.energy[0] ?? 0n), 0n)).toBe(J(25))
  })

  it("keeps a respawned worker's energy: the counter never goes down when a self pid leaves", () => {
    const first = step(baseline, 1, [10, 11], [proc(10, 20), proc(11, 30), proc(50, 50)])
    // Worker 11 died and was replaced by 12; 50 J split 10:40:50 → self += 5 + 20.
    const second = step(first.state, 2, [10, 12], [proc(10, 10), proc(12, 40), proc(50, 50)]).snapshot
    expect(second.selfEnergy).toEqual([J(50), J(50)])
  })

  it("is 0 when no self pid is given", () => {
    const s = step(baseline, 1, [], [proc(10, 20), proc(11, 30), proc(50, 50)]).snapshot
    expect(s.selfEnergy).toEqual([0n, 0n])
  })

  it("is exported as joulemon_self_cpu_joules_total with a zone label", () => {
    const s = step(baseline, 1, [10, 11], [proc(10, 20), proc(11, 30), proc(50, 50)]).snapshot
    const family = snapshotSelfFamilies(s).find((f) => f.name === "joulemon_self_cpu_joules_total")
    expect(family?.type).toBe("counter")
    expect(family?.labelNames).toEqual(["zone"])
    expect(Array.from(family?.samples ?? [])).toEqual([
      { labels: ["package"], value: 25 },
      { labels: ["dram"], value: 25 }
    ])
  })
})
