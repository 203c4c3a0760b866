/**
 * Child process for stdoutExporter.test.ts: the stdout exporter on the real file descriptor 1
 * (StdoutWriterLive), fake device/resources refreshing every 20 ms, Fatal awaited like main does.
 * Exits non-zero with the fatal error on stderr when its stdout reader goes away.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Duration, Effect, Layer } from "effect"
import { StdoutExporterLive } from "../../src/exporter/stdout/StdoutExporter.js"
import { Fatal, FatalLive } from "../../src/Fatal.js"
import { loggerLayer } from "../../src/logging.js"
import { makePowerMonitor, PowerMonitor } from "../../src/monitor/PowerMonitor.js"
import { testConfig } from "../support/config.js"
import { constantPowerZone, controlledInformer, meterOf } from "../support/fakes.js"

const config = testConfig({ exporter: { stdout: { enabled: true } } })

const monitorLayer = Layer.scoped(
  PowerMonitor,
  Effect.gen(function*() {
    const ctl = yield* controlledInformer
    return yield* makePowerMonitor(meterOf([constantPowerZone("package", 40)]), ctl.informer, {
      interval: Duration.millis(20),
      staleness: Duration.millis(10),
      parallelism: 1,
      maxPlausibleWatts: 5000,
      maxTerminated: 500,
      minTerminatedEnergyThreshold: 10
    })
  })
)

const program = Effect.flatMap(Fatal, (fatal) => fatal.await).pipe(
  Effect.provide(StdoutExporterLive.pipe(Layer.provideMerge(Layer.merge(monitorLayer, FatalLive)))),
  Effect.tapErrorCause((cause) => Effect.logError("joulemon stopped", cause)),
  Effect.provide(loggerLayer(config))
)

NodeRuntime.runMain(program, { disableErrorReporting: true, disablePrettyLogger: true })
