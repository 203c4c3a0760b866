/**
 * Chooses the GPU meter from the configuration: none unless `experimental.gpu.enabled`; then
 * NVIDIA's NVML (or the development fake). When GPU power is on but cannot be read — no library,
 * no driver, no device — joulemon says once what is missing and why and runs on without GPUs:
 * the CPU side is unchanged and /readyz is unaffected.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { AppConfig } from "../../config/Config.js"
import { GpuPowerMeter, type GpuPowerMeterShape, noGpuMeter } from "./GpuPowerMeter.js"

/** One device's reading may take this long: NVML answers in microseconds unless the driver hangs. */
const READ_TIMEOUT = Duration.seconds(2)

const describe = (meter: GpuPowerMeterShape) =>
  meter.devices
    .map((d) => `${d.index}:${d.uuid} ${d.name} [${d.mode}, ${d.energyCounter ? "energy counter" : "power × time"}]`)
    .join("; ")

export const GpuPowerMeterLive = Layer.scoped(
  GpuPowerMeter,
  Effect.gen(function*() {
    const config = yield* AppConfig
    const gpu = config.experimental.gpu
    if (!gpu.enabled) return noGpuMeter
    // The meters are loaded only when GPU power is on: without GPUs the daemon does not carry
    // the NVML bindings or the DCGM client (and the HTTP client modules under it).
    if (gpu.meter === "fake") {
      const { makeFakeGpuMeter } = yield* Effect.promise(() => import("./fakeGpuMeter.js"))
      const fake = yield* makeFakeGpuMeter(process.pid)
      yield* Effect.logWarning("using the fake GPU meter: these GPUs and their numbers are invented").pipe(
        Effect.annotateLogs({ devices: describe(fake) })
      )
      return fake
    }
    const [{ makeMigActivity }, { loadNvml }, { makeNvmlMeter }] = yield* Effect.promise(() =>
      Promise.all([import("./dcgmActivity.js"), import("./nvml.js"), import("./nvmlMeter.js")])
    )
    const migActivity = yield* makeMigActivity(gpu.dcgmEndpoint)
    const meter = yield* loadNvml().pipe(
      Effect.flatMap((lib) => makeNvmlMeter(lib, { readTimeout: READ_TIMEOUT, migActivity })),
      Effect.catchAll((e) =>
        Effect.logWarning(
          "GPU power is on (experimental.gpu.enabled) but NVIDIA's NVML cannot be used; running without GPU metrics"
        ).pipe(
          Effect.annotateLogs({
            error: e.message,
            fix: e.call === "import koffi"
              ? "koffi (the FFI package) has no prebuilt binary for this platform; GPU power needs one"
              : e.code === -1
              ? "install the NVIDIA driver, or make libnvidia-ml.so.1 findable by the dynamic loader (LD_LIBRARY_PATH, or mount the driver's library into the container)"
              : "check that the NVIDIA driver is loaded (nvidia-smi) and that joulemon may open /dev/nvidia*"
          }),
          Effect.as(noGpuMeter)
        )
      )
    )
    if (meter === noGpuMeter) return meter
    if (meter.devices.length === 0) {
      yield* Effect.logWarning("GPU power is on but NVML reports no usable GPU; running without GPU metrics")
    } else {
      yield* Effect.logInfo("GPU meter ready").pipe(
        Effect.annotateLogs({ meter: meter.name, devices: describe(meter) })
      )
    }
    return meter
  })
)
