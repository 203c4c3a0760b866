/** Runs the real web layer (servers + endpoints) over fake device/resource services. */
import { Effect, Layer, Ref } from "effect"
import { webLayer } from "../../src/app.js"
import { BuildInfo } from "../../src/buildInfo.js"
import { Collector, inProcessCollector } from "../../src/collector/Collector.js"
import { AppConfig, type JoulemonConfig } from "../../src/config/Config.js"
import { CpuPowerMeter } from "../../src/device/CpuPowerMeter.js"
import { type EnergyZone, ZoneReadError } from "../../src/device/EnergyZone.js"
import { makePowerMonitorWith, monitorOptionsFrom, PowerMonitor } from "../../src/monitor/PowerMonitor.js"
import type { PlatformReading } from "../../src/platform/platformEnergy.js"
import { PlatformPower } from "../../src/platform/PlatformPower.js"
import { makeSelfMetrics, SelfMetrics, type SelfMetricsShape } from "../../src/telemetry/SelfMetrics.js"
import { constantPowerZone, type ControlledInformer, controlledInformer, meterOf } from "./fakes.js"

export interface CoreControls {
  readonly informer: ControlledInformer
  /** While true, every zone read fails (the device stopped answering). */
  readonly deviceBroken: Ref.Ref<boolean>
  /** The self-metrics the monitor and exporter report to. */
  readonly self: SelfMetricsShape
  /** What the (fake) BMC reports. */
  readonly platform: Ref.Ref<ReadonlyArray<PlatformReading>>
}

export const makeCoreControls = Effect.gen(function*() {
  return {
    informer: yield* controlledInformer,
    deviceBroken: yield* Ref.make(false),
    self: makeSelfMetrics({ debugCollectors: [] }),
    platform: yield* Ref.make<ReadonlyArray<PlatformReading>>([])
  } satisfies CoreControls
})

const breakable = (zone: EnergyZone, broken: Ref.Ref<boolean>): EnergyZone => ({
  ...zone,
  read: Effect.flatMap(
    Ref.get(broken),
    (b) =>
      b
        ? Effect.fail(new ZoneReadError({ zone: zone.name, path: zone.path, reason: "EIO: device not answering" }))
        : zone.read
  )
})

export const fakeCore = (config: JoulemonConfig, controls?: CoreControls) =>
  Layer.unwrapScoped(
    Effect.gen(function*() {
      const c = controls ?? (yield* makeCoreControls)
      const ctl = c.informer
      const meter = meterOf(
        [constantPowerZone("package", 40), constantPowerZone("dram", 8)].map((z) => breakable(z, c.deviceBroken))
      )
      const informer = {
        ...ctl.informer,
        cpuInfo: [{ processor: "0", vendorId: "GenuineIntel", modelName: "Test CPU", physicalId: "0", coreId: "0" }]
      }
      const self = c.self
      const collector = inProcessCollector(meter, informer, config.monitor.parallelism)
      const monitor = yield* makePowerMonitorWith(meter, collector, monitorOptionsFrom(config), self)
      return Layer.mergeAll(
        Layer.succeed(SelfMetrics, self),
        Layer.succeed(PlatformPower, { readings: Ref.get(c.platform) }),
        Layer.succeed(PowerMonitor, monitor),
        Layer.succeed(CpuPowerMeter, meter),
        Layer.succeed(Collector, collector),
        Layer.succeed(BuildInfo, {
          version: "1.2.3",
          revision: "abcdef012345",
          branch: "main",
          arch: "x64",
          runtimeVersion: "v20"
        })
      )
    })
  )

export const webUnderTest = (config: JoulemonConfig, controls?: CoreControls) =>
  webLayer(config).pipe(Layer.provide(fakeCore(config, controls)), Layer.provide(Layer.succeed(AppConfig, config)))
