/** Runs the real web layer (servers + endpoints) over fake device/resource services. */
import { Effect, Layer } from "effect"
import { webLayer } from "../../src/app.js"
import { BuildInfo } from "../../src/buildInfo.js"
import { AppConfig, type JoulemonConfig } from "../../src/config/Config.js"
import { CpuPowerMeter } from "../../src/device/CpuPowerMeter.js"
import { makePowerMonitor, monitorOptionsFrom, PowerMonitor } from "../../src/monitor/PowerMonitor.js"
import { ResourceInformer } from "../../src/resource/ResourceInformer.js"
import { constantPowerZone, controlledInformer, meterOf } from "./fakes.js"

export const fakeCore = (config: JoulemonConfig) =>
  Layer.unwrapScoped(
    Effect.gen(function* () {
      const ctl = yield* controlledInformer
      const meter = meterOf([constantPowerZone("package", 40), constantPowerZone("dram", 8)])
      const informer = {
        ...ctl.informer,
        cpuInfo: [{ processor: "0", vendorId: "GenuineIntel", modelName: "Test CPU", physicalId: "0", coreId: "0" }]
      }
      const monitor = yield* makePowerMonitor(meter, informer, monitorOptionsFrom(config))
      return Layer.mergeAll(
        Layer.succeed(PowerMonitor, monitor),
        Layer.succeed(CpuPowerMeter, meter),
        Layer.succeed(ResourceInformer, informer),
        Layer.succeed(BuildInfo, { version: "1.2.3", revision: "abcdef012345", branch: "main", arch: "x64", runtimeVersion: "v20" })
      )
    })
  )

export const webUnderTest = (config: JoulemonConfig) =>
  webLayer(config).pipe(Layer.provide(fakeCore(config)), Layer.provide(Layer.succeed(AppConfig, config)))
