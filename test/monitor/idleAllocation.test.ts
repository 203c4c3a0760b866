/**
 * Idle-power allocation (monitor.idlePolicy): over random histories, every interval and zone,
 * Σ containers + Σ VMs + node level = the zone's idle energy to the µJ (and so the totals), pods
 * = Σ their containers, no total ever decreases, and the result does not depend on the order
 * the processes came in; plus each policy's rule on a hand-made interval.
 */
import { FastCheck as fc } from "effect"
import { describe, expect, it } from "vitest"
import type { IdlePolicy } from "../../src/config/Config.js"
import { allocateIdle, type IdleAllocation, initialIdleAllocation } from "../../src/monitor/idleAllocation.js"
import type { Snapshot } from "../../src/monitor/snapshot.js"
import type { ContainerInfo } from "../../src/resource/types.js"
import { historyArbitrary, readingsOf, runHistory } from "../support/histories.js"

const sum = (xs: Iterable<bigint>): bigint => {
  let t = 0n
  for (const x of xs) t += x
  return t
}

/**
 * CPU requests for the `requests` policy (the histories have none): containers c0…, c3… 0 m,
 * c1…, c4… 100 m, c2…, c5… 200 m; pod-0 requests 500 m, pod-1 none (its idle stays at node level).
 */
const withRequests = (
  containers: ReadonlyMap<string, ContainerInfo>,
  pods: ReadonlyMap<string, number>
) => ({
  containers: new Map(
    [...containers].map(([id, c]) => [id, { ...c, cpuRequestMillis: (Number(id.charAt(1)) % 3) * 100 }])
  ),
  podCpuRequests: pods
})
const defaultRequests = new Map([["pod-0", 500], ["pod-1", 0]])

const allocations = (
  policy: IdlePolicy,
  h: Parameters<typeof runHistory>[0],
  permute: <T>(xs: ReadonlyArray<T>) => ReadonlyArray<T> = (xs) => xs,
  podRequests: ReadonlyMap<string, number> = defaultRequests
): Array<{ snapshot: Snapshot; idle: IdleAllocation }> => {
  const readings = readingsOf(h)
  let idle = initialIdleAllocation(policy)
  return runHistory(h).map(({ snapshot }, i) => {
    const r = readings[i]
    idle = allocateIdle(idle, snapshot, {
      processes: permute(r?.processes ?? []),
      node: { activeTicks: r?.node.activeTicks ?? 0 },
      ...withRequests(r?.containers ?? new Map(), podRequests)
    })
    return { snapshot, idle }
  })
}

const reverse = <T>(xs: ReadonlyArray<T>): ReadonlyArray<T> => [...xs].reverse()

describe("idle allocation", () => {
  for (const policy of ["cpu-share", "equal", "requests"] as const) {
    it(`${policy}: containers + VMs + node level = node idle, exactly, at every interval and zone`, () => {
      fc.assert(
        fc.property(historyArbitrary, (h) => {
          let previous: IdleAllocation | undefined
          for (const { snapshot, idle } of allocations(policy, h)) {
            for (const [z, zone] of snapshot.zones.entries()) {
              const charged = sum([...idle.containers.values()].map((e) => e[z] ?? 0n)) +
                sum([...idle.vms.values()].map((e) => e[z] ?? 0n)) + (idle.nodeLevel[z] ?? 0n)
              expect(charged).toBe(zone.idleEnergyTotal)
              // Nothing decreases.
              for (const [id, e] of idle.containers) {
                expect((e[z] ?? 0n) >= (previous?.containers.get(id)?.[z] ?? 0n)).toBe(true)
              }
              expect((idle.nodeLevel[z] ?? 0n) >= (previous?.nodeLevel[z] ?? 0n)).toBe(true)
            }
            // Pods = Σ their containers.
            const podOf = new Map(
              [...snapshot.containers.running, ...snapshot.containers.terminated].map((c) => [c.id, c.podId])
            )
            for (const [pod, energies] of idle.pods) {
              const members = [...idle.containers].filter(([id]) => podOf.get(id) === pod)
              for (const z of snapshot.zones.keys()) {
                expect(energies[z] ?? 0n).toBe(sum(members.map(([, e]) => e[z] ?? 0n)))
              }
            }
            previous = idle
          }
        }),
        { numRuns: 150 }
      )
    })

    it(`${policy}: the same allocation whatever order the processes come in`, () => {
      fc.assert(
        fc.property(historyArbitrary, (h) => {
          const a = allocations(policy, h).map((x) => x.idle)
          const b = allocations(policy, h, reverse).map((x) => x.idle)
          expect(b).toEqual(a)
        }),
        { numRuns: 100 }
      )
    })
  }

  it("none computes nothing", () => {
    fc.assert(
      fc.property(historyArbitrary, (h) => {
        for (const { idle } of allocations("none", h)) {
          expect(idle.containers.size + idle.vms.size + idle.pods.size).toBe(0)
        }
      }),
      { numRuns: 30 }
    )
  })

  // Two containers (one twice as busy as the other, one process each), a VM, and a plain process
  // as busy as the VM, over 2 intervals of the history helpers.
  const handMade = {
    pool: [
      { pid: 10, container: 0, vm: undefined },
      { pid: 11, container: 1, vm: undefined },
      { pid: 12, container: undefined, vm: 0 },
      { pid: 13, container: undefined, vm: undefined }
    ],
    intervals: [0, 1].map(() => ({
      running: [{ member: 0, ticks: 200 }, { member: 1, ticks: 100 }, { member: 2, ticks: 50 }, {
        member: 3,
        ticks: 50
      }],
      zoneDeltas: [10_000_000, 5_000_000, 20_000_000],
      activeTicks: 400,
      idleTicks: 400,
      seconds: 1
    }))
  }

  it("cpu-share charges idle by CPU time and keeps the plain process's part at node level", () => {
    const [, second] = allocations("cpu-share", handMade)
    const idle = second?.idle
    const zoneIdle = second?.snapshot.zones[0]?.idleEnergyTotal ?? 0n
    expect(zoneIdle).toBe(5_000_000n)
    // 200 : 100 : 50 : 50 of 5 J.
    expect(idle?.containers.get([...(idle?.containers.keys() ?? [])].sort()[0] ?? "")?.[0]).toBe(2_500_000n)
    expect(idle?.vms.get("vm0")?.[0]).toBe(625_000n)
    expect(idle?.nodeLevel[0]).toBe(625_000n)
  })

  it("equal charges each container and VM the same and keeps nothing at node level", () => {
    const [, second] = allocations("equal", handMade)
    const idle = second?.idle
    const parts = [...(idle?.containers.values() ?? []), ...(idle?.vms.values() ?? [])].map((e) => e[0])
    expect(parts).toHaveLength(3)
    expect(sum(parts.map((p) => p ?? 0n))).toBe(5_000_000n)
    expect(Math.max(...parts.map(Number)) - Math.min(...parts.map(Number))).toBeLessThanOrEqual(1)
    expect(idle?.nodeLevel[0]).toBe(0n)
  })

  it("requests charges pods by their CPU requests and keeps the rest at node level", () => {
    // Container 0 is in pod-0 (500 m), container 1 in pod-1 (none): all idle to container 0.
    const [, second] = allocations("requests", handMade)
    const idle = second?.idle
    expect(idle?.pods.get("pod-0")?.[0]).toBe(5_000_000n)
    expect(idle?.pods.get("pod-1")).toBeUndefined()
    expect(idle?.vms.size).toBe(0)
    expect(idle?.nodeLevel[0]).toBe(0n)
    // No pod with a request: nothing is charged.
    const [, none] = allocations("requests", handMade, undefined, new Map())
    expect(none?.idle.containers.size).toBe(0)
    expect(none?.idle.nodeLevel[0]).toBe(5_000_000n)
  })
})
