import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, FastCheck as fc, Layer, Option, Ref } from "effect"
import { AppConfig } from "../../src/config/Config.js"
import { FatalLive } from "../../src/Fatal.js"
import { enrichWithPods, PodAttributionLive, withPods } from "../../src/k8s/podAttribution.js"
import type { PodContainer } from "../../src/k8s/podIndex.js"
import { PodInformer } from "../../src/k8s/PodInformer.js"
import {
  attribute,
  type AttributionConfig,
  initialMonitorState,
  type MonitorState
} from "../../src/monitor/attribute.js"
import type { Snapshot, ZoneValues } from "../../src/monitor/snapshot.js"
import { ResourceInformer } from "../../src/resource/ResourceInformer.js"
import type { ContainerInfo, ProcessInfo, ResourceReading } from "../../src/resource/types.js"
import { SelfMetricsLive } from "../../src/telemetry/SelfMetrics.js"
import { testConfig } from "../support/config.js"
import { energy, node, proc, reading, SECOND, zoneMeta } from "../support/readings.js"
import { containerIds, podUids } from "./fakeKube.js"
import { kubeletWorld, startInformer, tokenConnection } from "./support.js"

const zones = [zoneMeta("package", 0n, 0), zoneMeta("dram", 0n, 1)]
const attribution: AttributionConfig = {
  maxPlausibleWatts: 5000,
  maxTerminated: 500,
  minTerminatedEnergy: 0n,
  primaryZone: 0
}

const containerOf = (id: string, name: string): ContainerInfo => ({ id, name, runtime: "containerd", podId: "" })
const pc = (podId: string, podName: string, containerName: string): PodContainer => ({
  podId,
  podName,
  namespace: "ns",
  containerName,
  cpuRequestMillis: 0,
  podCpuRequestMillis: 0
})

/** A fake informer below the decorator, answering `readings` in turn (the last one repeats). */
const innerInformer = (readings: ReadonlyArray<ResourceReading>) =>
  Layer.effect(
    ResourceInformer,
    Effect.gen(function*() {
      const next = yield* Ref.make(0)
      return {
        cpuInfo: [],
        refresh: Effect.map(Ref.getAndUpdate(next, (n) => n + 1), (n) =>
          readings[Math.min(n, readings.length - 1)] ?? readings[0] ?? reading(node(0, 0, true), []))
      }
    })
  )

const enrichedInformer = (readings: ReadonlyArray<ResourceReading>, pods: PodInformer["Type"]) =>
  Effect.map(
    Layer.build(withPods.pipe(Layer.provide(Layer.merge(innerInformer(readings), Layer.succeed(PodInformer, pods))))),
    (context) => Context.get(context, ResourceInformer)
  )

describe("enrichWithPods", () => {
  const base = reading(node(10, 20), [
    proc(1, 5, { containerId: "a" }),
    proc(2, 5, { containerId: "b" }),
    proc(3, 5, { containerId: "s" })
  ], {
    containers: [containerOf("a", "web-host"), containerOf("b", "web-host"), containerOf("s", "sandbox")]
  })
  const found = new Map([
    ["a", pc("P", "web", "app")],
    ["b", pc("P", "web", "sidecar")]
  ])

  it("gives found containers their pod and Kubernetes name; others keep theirs; pods hold every pod with a running container", () => {
    const out = enrichWithPods(base, found, new Set())
    expect(out.containers.get("a")).toEqual({
      id: "a",
      name: "app",
      runtime: "containerd",
      podId: "P",
      cpuRequestMillis: 0
    })
    expect(out.containers.get("b")).toEqual({
      id: "b",
      name: "sidecar",
      runtime: "containerd",
      podId: "P",
      cpuRequestMillis: 0
    })
    expect(out.containers.get("s")).toEqual(containerOf("s", "sandbox"))
    expect([...out.pods.values()]).toEqual([{ id: "P", name: "web", namespace: "ns" }])
    expect(out.podCpuRequests).toEqual(new Map([["P", 0]]))
    expect(out.terminated.pods).toEqual([])
    expect(out.processes).toBe(base.processes)
  })

  it("a pod of the previous reading without a running container now is terminated, exactly once", () => {
    const first = enrichWithPods(base, found, new Set())
    const gone = enrichWithPods(
      reading(node(10, 20), [proc(3, 5, { containerId: "s" })], { containers: [containerOf("s", "sandbox")] }),
      found,
      new Set(first.pods.keys())
    )
    expect(gone.terminated.pods).toEqual(["P"])
    expect(gone.pods.size).toBe(0)
    const after = enrichWithPods(reading(node(10, 20), []), found, new Set(gone.pods.keys()))
    expect(after.terminated.pods).toEqual([])
  })
})

describe("withPods", () => {
  it.scoped("enriches every refresh through the pod informer, tracking terminated pods between refreshes", () =>
    Effect.gen(function*() {
      const index = new Map([["a", pc("P", "web", "app")]])
      const withA = reading(node(10, 20), [proc(1, 5, { containerId: "a" })], { containers: [containerOf("a", "h")] })
      const withoutA = reading(node(10, 20), [proc(2, 5)])
      const informer = yield* enrichedInformer(
        [withA, withoutA, withoutA],
        yield* Effect.map(Layer.build(PodInformer.fromIndex(index)), Context.get(PodInformer))
      )
      const r1 = yield* informer.refresh
      expect(r1.containers.get("a")?.podId).toBe("P")
      expect([...r1.pods.keys()]).toEqual(["P"])
      const r2 = yield* informer.refresh
      expect(r2.terminated.pods).toEqual(["P"])
      const r3 = yield* informer.refresh
      expect(r3.terminated.pods).toEqual([])
    }))
})

describe("PodAttributionLive", () => {
  it.scoped("is the informer below, unchanged, when kube.enabled is false", () =>
    Effect.gen(function*() {
      const only = reading(node(10, 20), [proc(1, 5, { containerId: "a" })], { containers: [containerOf("a", "h")] })
      const context = yield* Layer.build(
        PodAttributionLive.pipe(
          Layer.provide(innerInformer([only])),
          Layer.provide(SelfMetricsLive),
          Layer.provide(
            Layer.succeed(AppConfig, testConfig({ kube: { enabled: false, config: "/nonexistent/kubeconfig" } }))
          ),
          Layer.provide(FatalLive)
        )
      )
      expect(yield* Context.get(context, ResourceInformer).refresh).toBe(only)
    }))

  it.scoped("builds the Kubernetes client when kube.enabled is true (a bad kubeconfig stops startup, named)", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        Layer.build(
          PodAttributionLive.pipe(
            Layer.provide(innerInformer([reading(node(0, 0, true), [])])),
            Layer.provide(SelfMetricsLive),
            Layer.provide(
              Layer.succeed(AppConfig, testConfig({ kube: { enabled: true, config: "/nonexistent/kubeconfig" } }))
            ),
            Layer.provide(FatalLive)
          )
        )
      )
      expect(error.message).toContain("/nonexistent/kubeconfig")
    }))
})

// --- through the attribution -------------------------------------------------------------

const step = (prev: MonitorState, resources: ResourceReading, at: bigint, counters: ReadonlyArray<bigint>) =>
  attribute(prev, {
    nowNanos: at,
    timestamp: Number(at / 1_000_000n),
    zones,
    samples: counters.map(energy),
    resources,
    clearTerminated: false
  }, attribution)

/** Readings of a node running pod `web` (nginx, log-shipper), coredns, a sandbox and a host process. */
const nodeReadings = (): [ResourceReading, ResourceReading] => {
  const sandbox = "ee".repeat(32)
  const processes = (first: boolean): Array<ProcessInfo> => [
    proc(100, first ? 0 : 30, { containerId: containerIds.nginx, firstSeen: first }),
    proc(101, first ? 0 : 10, { containerId: containerIds.nginx, firstSeen: first }),
    proc(200, first ? 0 : 21, { containerId: containerIds.logShipper, firstSeen: first }),
    proc(300, first ? 0 : 15, { containerId: containerIds.coredns, firstSeen: first }),
    proc(400, first ? 0 : 1, { containerId: sandbox, firstSeen: first }),
    proc(500, first ? 0 : 23, { firstSeen: first })
  ]
  const containers = [
    containerOf(containerIds.nginx, "web-6c7f9d8b5-q2w4e"),
    containerOf(containerIds.logShipper, "web-6c7f9d8b5-q2w4e"),
    containerOf(containerIds.coredns, "coredns-5d78c9869d-7xk2p"),
    containerOf(sandbox, "")
  ]
  return [
    reading(node(0, 0, true), processes(true), { containers }),
    reading(node(100, 400), processes(false), { containers })
  ]
}

const sumOf = (values: ReadonlyArray<ZoneValues>, z: number): bigint =>
  values.reduce((acc, v) => acc + (v.energy[z] ?? 0n), 0n)

const checkSums = (snapshot: Snapshot) => {
  for (let z = 0; z < zones.length; z++) {
    for (const pod of snapshot.pods.running) {
      expect(pod.energy[z]).toBe(sumOf(snapshot.containers.running.filter((c) => c.podId === pod.id), z))
    }
    for (const container of snapshot.containers.running) {
      expect(container.energy[z]).toBe(
        sumOf(snapshot.processes.running.filter((p) => p.containerId === container.id), z)
      )
    }
  }
}

describe("pod attribution with a kubelet", () => {
  it.scopedLive("containers carry their pod and name; pod energy is exactly the sum of its containers'", () =>
    Effect.gen(function*() {
      const world = yield* kubeletWorld
      const pods = yield* startInformer({
        mode: "kubelet",
        connection: tokenConnection(world.api.base, world.tokenFile)
      })
      const informer = yield* enrichedInformer(nodeReadings(), pods)

      const s0 = step(initialMonitorState(zones.length), yield* informer.refresh, 0n, [1_000_000n, 500_000n])
      const r1 = yield* informer.refresh
      const s1 = step(s0.state, r1, 2n * SECOND, [61_000_000n, 10_500_000n]).snapshot

      expect(r1.containers.get(containerIds.nginx)).toMatchObject({ name: "nginx", podId: podUids.web })
      expect(r1.containers.get(containerIds.logShipper)).toMatchObject({ name: "log-shipper", podId: podUids.web })
      expect(r1.containers.get("ee".repeat(32))).toMatchObject({ name: "", podId: "" })
      expect(new Set(s1.pods.running.map((p) => `${p.namespace}/${p.name}`))).toEqual(
        new Set(["default/web-6c7f9d8b5-q2w4e", "kube-system/coredns-5d78c9869d-7xk2p"])
      )
      const web = s1.pods.running.find((p) => p.id === podUids.web)
      // 61 of 100 ticks of 25 % active energy (15 J of package): not zero, and exact.
      expect(web?.energy[0]).toBeGreaterThan(0n)
      checkSums(s1)
      // One /pods for the first reading; the sandbox became a confirmed miss, the second costs none.
      expect(yield* world.podsRequests).toBe(1)
    }))

  it.scopedLive("with the kubelet refusing (401), refreshes still succeed and attribute, just without pods", () =>
    Effect.gen(function*() {
      const world = yield* kubeletWorld
      yield* Ref.set(world.control.status, 401)
      const pods = yield* startInformer({
        mode: "kubelet",
        connection: tokenConnection(world.api.base, world.tokenFile)
      })
      const informer = yield* enrichedInformer(nodeReadings(), pods)
      const s0 = step(initialMonitorState(zones.length), yield* informer.refresh, 0n, [1_000_000n, 500_000n])
      const r1 = yield* informer.refresh
      const s1 = step(s0.state, r1, 2n * SECOND, [61_000_000n, 10_500_000n]).snapshot
      expect(r1.pods.size).toBe(0)
      expect([...r1.containers.values()].every((c) => c.podId === "")).toBe(true)
      expect(s1.pods.running).toHaveLength(0)
      expect(s1.containers.running).toHaveLength(4)
      const active = s1.zones[0]?.activeEnergyTotal ?? -1n
      expect(sumOf(s1.processes.running, 0) + (s1.zones[0]?.unattributedEnergyTotal ?? 0n)).toBe(active)
      expect(active).toBeGreaterThan(0n)
      checkSums(s1)
      // It kept retrying meanwhile.
      expect(yield* world.podsRequests).toBeGreaterThanOrEqual(1)
      expect(Option.isNone(yield* pods.lookup(containerIds.nginx))).toBe(true)
    }))
})

// --- property: pod = Σ containers = Σ processes -----------------------------------------

interface Tree {
  /** Containers per pod. */
  readonly pods: ReadonlyArray<number>
  /** Containers outside any pod. */
  readonly loose: number
  /** Owner container index (or -1: a host process) and ticks per interval (undefined: not running). */
  readonly processes: ReadonlyArray<{ readonly owner: number; readonly ticks: ReadonlyArray<number | undefined> }>
  readonly intervals: ReadonlyArray<
    { readonly deltas: ReadonlyArray<number>; readonly active: number; readonly idle: number; readonly seconds: number }
  >
}

const INTERVALS = 5

const treeArbitrary: fc.Arbitrary<Tree> = fc
  .record({ pods: fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 4 }), loose: fc.integer({ min: 0, max: 2 }) })
  .chain(({ pods, loose }) => {
    const containers = pods.reduce((a, b) => a + b, 0) + loose
    return fc.record({
      pods: fc.constant(pods),
      loose: fc.constant(loose),
      processes: fc.array(
        fc.record({
          owner: fc.integer({ min: -1, max: containers - 1 }),
          ticks: fc.array(fc.option(fc.integer({ min: 0, max: 400 }), { nil: undefined, freq: 4 }), {
            minLength: INTERVALS,
            maxLength: INTERVALS
          })
        }),
        { maxLength: 24 }
      ),
      intervals: fc.array(
        fc.record({
          deltas: fc.array(fc.integer({ min: 0, max: 2_000_000_000 }), { minLength: 2, maxLength: 2 }),
          active: fc.integer({ min: 0, max: 800 }),
          idle: fc.integer({ min: 0, max: 800 }),
          seconds: fc.integer({ min: 1, max: 30 })
        }),
        { minLength: INTERVALS, maxLength: INTERVALS }
      )
    })
  })

const containerIdOf = (k: number) => `k${k}`.padEnd(64, "0")

/** This interval's energy of a workload: its total now minus its total in the previous snapshot. */
const intervalEnergy = (now: ZoneValues, before: ZoneValues | undefined, z: number): bigint =>
  (now.energy[z] ?? 0n) - (before?.energy[z] ?? 0n)

describe("property: pod = Σ containers = Σ processes, exactly", () => {
  it("for random pod/container/process trees over several intervals, with churn", () => {
    fc.assert(
      fc.property(treeArbitrary, (tree) => {
        const index = new Map<string, PodContainer>()
        let k = 0
        tree.pods.forEach((count, p) => {
          for (let c = 0; c < count; c++, k++) index.set(containerIdOf(k), pc(`pod${p}`, `name${p}`, `c${c}`))
        })
        let state = initialMonitorState(zones.length)
        let previous: Snapshot | undefined
        let previousPods: ReadonlySet<string> = new Set()
        let previousKeys = new Set<string>()
        let previousContainers = new Set<string>()
        const counters = [0n, 0n]
        const ticksSoFar = new Map<number, number>()
        let at = 0n
        tree.intervals.forEach((iv, i) => {
          const processes: Array<ProcessInfo> = []
          const containers = new Map<string, ContainerInfo>()
          tree.processes.forEach((p, n) => {
            const ticks = p.ticks[i]
            if (ticks === undefined) return
            const pid = n + 1
            const total = (ticksSoFar.get(pid) ?? 0) + ticks
            ticksSoFar.set(pid, total)
            const cid = p.owner < 0 ? "" : containerIdOf(p.owner)
            if (cid !== "") containers.set(cid, containerOf(cid, "from-hostname"))
            processes.push(
              proc(pid, i === 0 ? 0 : ticks, {
                containerId: cid,
                cpuTicksTotal: total,
                firstSeen: !previousKeys.has(`${pid}:1`)
              })
            )
          })
          const keys = new Set(processes.map((p) => p.key))
          const raw = reading(node(i === 0 ? 0 : iv.active, i === 0 ? 0 : iv.active + iv.idle, i === 0), processes, {
            containers: [...containers.values()],
            terminated: {
              processes: [...previousKeys].filter((key) => !keys.has(key)),
              containers: [...previousContainers].filter((id) => !containers.has(id))
            }
          })
          const found = new Map(
            [...containers.keys()].flatMap((id) =>
              Option.toArray(Option.fromNullable(index.get(id)).pipe(Option.map((v) => [id, v] as const)))
            )
          )
          const enriched = enrichWithPods(raw, found, previousPods)

          // The reading's pods: exactly those with a running container; the rest of the previous ones terminated.
          const expectedPods = new Set([...found.values()].map((c) => c.podId))
          expect(new Set(enriched.pods.keys())).toEqual(expectedPods)
          expect(new Set(enriched.terminated.pods)).toEqual(
            new Set([...previousPods].filter((id) => !expectedPods.has(id)))
          )

          if (i > 0) at += BigInt(iv.seconds) * SECOND
          iv.deltas.forEach((d, z) => {
            counters[z] = (counters[z] ?? 0n) + (i === 0 ? 0n : BigInt(d))
          })
          const result = attribute(
            state,
            {
              nowNanos: at,
              timestamp: Number(at / 1_000_000n),
              zones,
              samples: counters.map(energy),
              resources: enriched,
              clearTerminated: false
            },
            attribution
          )
          const s = result.snapshot
          const before = {
            processes: new Map(previous?.processes.running.map((w) => [w.key, w])),
            containers: new Map(previous?.containers.running.map((w) => [w.id, w])),
            pods: new Map(previous?.pods.running.map((w) => [w.id, w]))
          }
          for (let z = 0; z < zones.length; z++) {
            const processShare = new Map(
              s.processes.running.map((p) => [p.key, intervalEnergy(p, before.processes.get(p.key), z)])
            )
            const containerShare = new Map(
              s.containers.running.map((c) => [c.id, intervalEnergy(c, before.containers.get(c.id), z)])
            )
            for (const c of s.containers.running) {
              const sum = s.processes.running.filter((p) => p.containerId === c.id).reduce(
                (a, p) => a + (processShare.get(p.key) ?? 0n),
                0n
              )
              expect(containerShare.get(c.id)).toBe(sum)
            }
            for (const pod of s.pods.running) {
              const sum = s.containers.running.filter((c) => c.podId === pod.id).reduce(
                (a, c) => a + (containerShare.get(c.id) ?? 0n),
                0n
              )
              expect(intervalEnergy(pod, before.pods.get(pod.id), z)).toBe(sum)
            }
            // …and the processes share the zone's active energy (or it is booked as unattributed).
            const zone = s.zones[z]
            const processes = [...processShare.values()].reduce((a, b) => a + b, 0n)
            const unattributed = (zone?.unattributedEnergyTotal ?? 0n) -
              (previous?.zones[z]?.unattributedEnergyTotal ?? 0n)
            expect(processes + unattributed).toBe(zone?.intervalActiveEnergy)
          }
          state = result.state
          previous = s
          previousPods = new Set(enriched.pods.keys())
          previousKeys = keys
          previousContainers = new Set(containers.keys())
        })
      }),
      { seed: 42, numRuns: 300 }
    )
  })
})
