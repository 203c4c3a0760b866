/** In-memory device and resource services for monitor/exporter/server tests. */
import { Clock, Deferred, Effect, Option, Ref } from "effect"
import type { CpuPowerMeterShape } from "../../src/device/CpuPowerMeter.js"
import { energyReading, type EnergyZone } from "../../src/device/EnergyZone.js"
import { ResourceError, type ResourceInformerShape } from "../../src/resource/ResourceInformer.js"
import type { ResourceReading } from "../../src/resource/types.js"
import { node, proc, reading } from "./readings.js"

/** A zone drawing a constant power, read off the (test) clock. */
export const constantPowerZone = (name: string, watts: number, extra: Partial<EnergyZone> = {}): EnergyZone => ({
  name,
  index: 0,
  path: `/fake/${name}`,
  maxEnergy: 0n,
  estimated: false,
  read: Clock.currentTimeNanos.pipe(
    Effect.map((ns) => energyReading((BigInt(Math.round(watts * 1e6)) * ns) / 1_000_000_000n))
  ),
  ...extra
})

export const meterOf = (zones: ReadonlyArray<EnergyZone>): CpuPowerMeterShape => {
  const primary = zones[0]
  if (primary === undefined) throw new Error("a test meter needs a zone")
  return { name: "fake", zones, primaryZone: primary, estimated: false }
}

/** A steady workload: three processes, one in a container, 50 % CPU. */
export const steadyReading = (first: boolean): ResourceReading =>
  reading(node(first ? 0 : 50, first ? 0 : 100, first), [
    proc(10, 30, { firstSeen: first }),
    proc(20, 10, { firstSeen: first, containerId: "c".repeat(64) }),
    proc(30, 10, { firstSeen: first })
  ], { containers: [{ id: "c".repeat(64), name: "web", runtime: "docker", podId: "" }] })

export interface ControlledInformer {
  readonly informer: ResourceInformerShape
  /** Number of refreshes started. */
  readonly calls: Ref.Ref<number>
  /** When set, each refresh waits for this gate to open. */
  readonly gate: Ref.Ref<Option.Option<Deferred.Deferred<void>>>
  /** When true, refreshes fail. */
  readonly failing: Ref.Ref<boolean>
}

export const controlledInformer = Effect.gen(function*() {
  const calls = yield* Ref.make(0)
  const gate = yield* Ref.make<Option.Option<Deferred.Deferred<void>>>(Option.none())
  const failing = yield* Ref.make(false)
  const informer: ResourceInformerShape = {
    cpuInfo: [],
    refresh: Effect.gen(function*() {
      const n = yield* Ref.updateAndGet(calls, (c) => c + 1)
      const g = yield* Ref.get(gate)
      if (Option.isSome(g)) yield* Deferred.await(g.value)
      if (yield* Ref.get(failing)) {
        return yield* Effect.fail(new ResourceError({ path: "/proc/stat", reason: "injected failure" }))
      }
      return steadyReading(n === 1)
    })
  }
  return { informer, calls, gate, failing } satisfies ControlledInformer
})
