/**
 * `scripts/gpu-check`: on a machine with an NVIDIA GPU and driver, checks joulemon's GPU numbers
 * against NVML read directly. joulemon's own code (the NVML meter, the monitor, the GPU
 * attribution) measures one interval; around each of its two readings the check reads every
 * device's energy counter and power itself, so joulemon's energy for the interval must lie
 * between the counter deltas of the inner and the outer pair of direct readings, and its watts
 * between the direct readings' powers. Prints each device, joulemon's watts and energy next to
 * NVML's (and `nvidia-smi --query-gpu=power.draw` where installed), and the processes found.
 *
 *   scripts/gpu-check [--interval 5s] [--procfs /proc]
 *
 * Exit status: 0 joulemon and NVML agree; 1 they disagree, or joulemon could not read a device;
 * 2 NVML cannot be used here (no library, no driver, no GPU).
 */
import { Duration, Effect, Either, Exit, Option, Scope } from "effect"
import { spawnSync } from "node:child_process"
import { parseArgs } from "node:util"
import { parseGoDuration } from "../src/config/duration.js"
import { makeFakeMeter } from "../src/device/fakeMeter.js"
import type { GpuDeviceInfo } from "../src/device/gpu/GpuPowerMeter.js"
import { loadNvml } from "../src/device/gpu/nvml.js"
import type { NvmlDevice, NvmlLibrary } from "../src/device/gpu/nvmlApi.js"
import { makeNvmlMeter } from "../src/device/gpu/nvmlMeter.js"
import type { GpuDeviceStats } from "../src/monitor/gpuAttribution.js"
import { makePowerMonitor } from "../src/monitor/PowerMonitor.js"
import type { Snapshot } from "../src/monitor/snapshot.js"
import { makeProcfsInformer } from "../src/resource/procfsInformer.js"
import { noCheckpoint } from "../src/state/Checkpoint.js"
import { noTelemetry } from "../src/telemetry/SelfMetrics.js"

const USAGE = "usage: scripts/gpu-check [--interval 5s] [--procfs /proc]"

/** One direct reading of a device: its energy counter (mJ; undefined when unsupported) and power (mW). */
interface Direct {
  readonly energyMj: bigint | undefined
  readonly powerMw: number
}

interface Verdict {
  readonly lines: ReadonlyArray<string>
  readonly problems: ReadonlyArray<string>
}

const joules = (microjoules: bigint): string => (Number(microjoules) / 1e6).toFixed(3)

/**
 * joulemon's reading B happened between the direct readings `before` and `after` of the same
 * refresh, and its baseline A between those of the first refresh; so the counter's advance A→B
 * is at least inner = before₂ − after₁ and at most outer = after₂ − before₁ (all in mJ; joulemon
 * books µJ = mJ × 1000 exactly).
 */
const compareDevice = (
  device: GpuDeviceStats,
  first: { readonly before: Direct; readonly after: Direct },
  second: { readonly before: Direct; readonly after: Direct },
  smiWatts: number | undefined
): Verdict => {
  const problems: Array<string> = []
  const lines: Array<string> = [
    `GPU ${device.index} ${device.uuid} ${device.name} [${device.mode}, ${
      device.energyCounter ? "energy counter" : "power × time"
    }]`
  ]
  if (device.status !== "ok") {
    problems.push(
      `GPU ${device.index}: joulemon's reading is ${device.status}${device.error ? `: ${device.error}` : ""}`
    )
  }
  const powers = [second.before.powerMw, second.after.powerMw].map((mw) => mw / 1000)
  const low = Math.min(...powers) - 1
  const high = Math.max(...powers) + 1
  lines.push(
    `  power   joulemon ${device.watts.toFixed(1)} W   NVML ${powers.map((w) => w.toFixed(1)).join("–")} W` +
      (smiWatts === undefined ? "" : `   nvidia-smi ${smiWatts.toFixed(1)} W`)
  )
  if (device.status === "ok" && (device.watts < low || device.watts > high)) {
    problems.push(`GPU ${device.index}: joulemon reads ${device.watts} W, NVML ${powers.join(" and ")} W around it`)
  }
  const e = [first.before, first.after, second.before, second.after].map((d) => d.energyMj)
  const [b1, a1, b2, a2] = e
  if (device.energyCounter && b1 !== undefined && a1 !== undefined && b2 !== undefined && a2 !== undefined) {
    const inner = (b2 - a1) * 1000n
    const outer = (a2 - b1) * 1000n
    lines.push(
      `  energy  joulemon ${joules(device.intervalEnergy)} J over ${device.intervalSeconds.toFixed(2)} s   ` +
        `NVML counter ${joules(inner)}–${joules(outer)} J`
    )
    if (device.status === "ok" && (device.intervalEnergy < inner || device.intervalEnergy > outer)) {
      problems.push(
        `GPU ${device.index}: joulemon booked ${joules(device.intervalEnergy)} J, the counter advanced ` +
          `${joules(inner)}–${joules(outer)} J over the same readings`
      )
    }
  } else {
    lines.push(
      `  energy  joulemon ${joules(device.intervalEnergy)} J over ${device.intervalSeconds.toFixed(2)} s ` +
        `(power × time: this device has no energy counter)`
    )
  }
  lines.push(
    `  split   active ${joules(device.activeEnergyTotal)} J, idle ${joules(device.idleEnergyTotal)} J ` +
      `(idle ${device.idleWatts.toFixed(1)} W), unattributed ${joules(device.unattributedEnergyTotal)} J`
  )
  return { lines, problems }
}

/** `nvidia-smi`'s power.draw per index, when it is installed and answers. */
const nvidiaSmi = (): ReadonlyMap<number, number> => {
  const r = spawnSync("nvidia-smi", ["--query-gpu=index,power.draw", "--format=csv,noheader,nounits"], {
    encoding: "utf8",
    timeout: 10_000
  })
  const out = new Map<number, number>()
  if (r.status !== 0) return out
  for (const line of r.stdout.split("\n")) {
    const [index, watts] = line.split(",").map((f) => Number(f.trim()))
    if (index !== undefined && watts !== undefined && Number.isFinite(index) && Number.isFinite(watts)) {
      out.set(index, watts)
    }
  }
  return out
}

const direct = (lib: NvmlLibrary, handles: ReadonlyArray<NvmlDevice>, devices: ReadonlyArray<GpuDeviceInfo>) =>
  Effect.promise(() =>
    Promise.all(
      handles.map(async (h, i): Promise<Direct> => ({
        energyMj: devices[i]?.energyCounter === true
          ? await lib.totalEnergyConsumption(h).catch(() => undefined)
          : undefined,
        powerMw: await lib.powerUsage(h).catch(() => Number.NaN)
      }))
    )
  )

const processLines = (
  lib: NvmlLibrary,
  handle: NvmlDevice,
  snapshot: Snapshot
) =>
  Effect.promise(async () => {
    const found = await lib.computeRunningProcesses(handle).catch(() => [])
    if (found.length === 0) return ["  processes: none running"]
    const byPid = new Map(snapshot.processes.running.map((p) => [p.pid, p]))
    return found.map((p) => {
      const seen = byPid.get(p.pid)
      if (seen === undefined) {
        return `  process ${p.pid}: not in this /proc (another PID namespace?): its energy is unattributed`
      }
      const energy = snapshot.gpu?.processes.get(seen.key)?.energy ?? 0n
      return `  process ${p.pid} ${seen.comm}: ${joules(energy)} J of GPU energy in joulemon`
    })
  })

const program = (interval: Duration.Duration, procfs: string) =>
  Effect.gen(function*() {
    const lib = yield* loadNvml()
    const gpu = yield* makeNvmlMeter(lib, { readTimeout: Duration.seconds(2) })
    const counted = yield* Effect.promise(() => lib.deviceCount().catch(() => gpu.devices.length))
    if (gpu.devices.length === 0) {
      return { code: 2, text: `NVML at ${lib.path} counts ${counted} GPU(s), none of which can be read` }
    }
    const handles = yield* Effect.promise(() => Promise.all(gpu.devices.map((d) => lib.deviceByIndex(d.index))))
    const informer = yield* makeProcfsInformer({ procfs, parallelism: 8 })
    // The CPU side is not under test: the fake CPU meter keeps this check independent of RAPL.
    const cpu = yield* makeFakeMeter(["package"])
    const monitor = yield* makePowerMonitor(
      cpu,
      informer,
      {
        interval: Duration.zero,
        staleness: Duration.zero,
        parallelism: 8,
        maxPlausibleWatts: 100_000,
        maxTerminated: 500,
        minTerminatedEnergyThreshold: 10
      },
      noTelemetry,
      noCheckpoint,
      gpu
    )
    const measured = Effect.gen(function*() {
      const before = yield* direct(lib, handles, gpu.devices)
      yield* monitor.refresh
      const after = yield* direct(lib, handles, gpu.devices)
      return { before, after }
    })
    const first = yield* measured
    yield* Effect.sleep(interval)
    const second = yield* measured
    const snapshot = Option.getOrUndefined(yield* monitor.latest)
    const stats = snapshot?.gpu?.devices ?? []
    if (snapshot === undefined || stats.length !== gpu.devices.length) {
      return { code: 1, text: "joulemon produced no GPU snapshot" }
    }
    const smi = nvidiaSmi()
    const out: Array<string> = [
      `NVML: ${lib.path}; ${gpu.devices.length} GPU(s); interval ${Duration.format(interval)}`
    ]
    const problems: Array<string> = []
    if (counted !== gpu.devices.length) {
      const read = new Set(gpu.devices.map((d) => d.index))
      const skipped = Array.from({ length: counted }, (_, i) => i).filter((i) => !read.has(i))
      problems.push(
        `NVML counts ${counted} GPUs, joulemon reads ${gpu.devices.length}: GPU ${skipped.join(", ")} could not be ` +
          "read at startup (the warning above says why)"
      )
    }
    for (const [i, device] of stats.entries()) {
      const pick = (xs: ReadonlyArray<Direct>): Direct => xs[i] ?? { energyMj: undefined, powerMw: Number.NaN }
      const verdict = compareDevice(
        device,
        { before: pick(first.before), after: pick(first.after) },
        { before: pick(second.before), after: pick(second.after) },
        smi.get(device.index)
      )
      out.push(...verdict.lines)
      const handle = handles[i]
      if (handle !== undefined) out.push(...(yield* processLines(lib, handle, snapshot)))
      problems.push(...verdict.problems)
    }
    if (smi.size === 0) out.push("(nvidia-smi not installed or not answering: its column is left out)")
    out.push(problems.length === 0 ? "result: joulemon and NVML agree" : "result: DISAGREE")
    out.push(...problems.map((p) => `  ${p}`))
    return { code: problems.length === 0 ? 0 : 1, text: out.join("\n") }
  }).pipe(
    Effect.catchTag("NvmlError", (e) =>
      Effect.succeed({
        code: 2,
        text: `NVML cannot be used here: ${e.message}\n` +
          (e.code === -1
            ? "fix: install the NVIDIA driver, or make libnvidia-ml.so.1 findable by the dynamic loader (LD_LIBRARY_PATH)"
            : "fix: check that the NVIDIA driver is loaded (nvidia-smi) and that /dev/nvidia* may be opened")
      }))
  )

const main = (): void => {
  const parsed = (() => {
    try {
      return parseArgs({
        options: {
          interval: { type: "string", default: "5s" },
          procfs: { type: "string", default: "/proc" },
          help: { type: "boolean", default: false }
        }
      }).values
    } catch (e) {
      process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n${USAGE}\n`)
      process.exit(2)
    }
  })()
  if (parsed.help) {
    process.stdout.write(`${USAGE}\n`)
    return
  }
  // Go's duration syntax, as joulemon's config and flags take it.
  const nanos = parseGoDuration(parsed.interval)
  if (Either.isLeft(nanos) || nanos.right < 100_000_000n) {
    const why = Either.isLeft(nanos) ? nanos.left : "shorter than 100ms"
    process.stderr.write(`--interval ${parsed.interval}: ${why}; give a duration such as 5s\n${USAGE}\n`)
    process.exit(2)
  }
  const interval = Duration.nanos(nanos.right)
  const scope = Effect.runSync(Scope.make())
  void Effect.runPromise(Scope.extend(program(interval, parsed.procfs), scope)).then(
    async ({ code, text }) => {
      process.stdout.write(`${text}\n`)
      await Effect.runPromise(Scope.close(scope, Exit.void))
      process.exit(code)
    },
    (e: unknown) => {
      process.stderr.write(`gpu-check failed: ${e instanceof Error ? e.message : String(e)}\n`)
      process.exit(1)
    }
  )
}

main()
