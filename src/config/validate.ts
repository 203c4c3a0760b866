/**
 * Validation of the final, layered configuration (kepler-behaviour.md §2.3 plus joulemon's
 * own rules). It runs once, after the flags, so a value given only on the command line counts
 * (Kepler validates the file alone first and rejects `kube.enabled: true` even when
 * `--kube.node-name` is passed).
 *
 * Every violation is collected, each as `<key>: <Kepler's message>` naming the bad value.
 * The value-only rules are pure (`checkValues`); the ones that look at the filesystem
 * (`checkFiles`) are effects. `validate` runs both and fails once with all of them.
 */
import * as Arr from "effect/Array"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as fs from "node:fs/promises"
import {
  COLLECTOR_MODES,
  GPU_METER_NAMES,
  IDLE_POLICIES,
  type JoulemonConfig,
  LOG_FORMATS,
  LOG_LEVELS,
  METER_NAMES,
  METRICS_LEVELS,
  POD_INFORMER_MODES,
  SHORT_LIVED_MODES
} from "./Config.js"
import { ConfigError } from "./ConfigError.js"
import { dcgmEndpointProblems } from "./dcgmEndpoint.js"
import { formatGoDuration, type GoDuration, toDuration } from "./duration.js"
import { listenAddressProblem } from "./listenAddress.js"
import type { RawConfig } from "./RawConfig.js"

const oneOf = <const T extends string>(allowed: ReadonlyArray<T>, value: string): value is T =>
  (allowed as ReadonlyArray<string>).includes(value)

const quoted = (values: ReadonlyArray<string>): string => values.map((v) => JSON.stringify(v)).join(", ")

/**
 * The pure rules. Returns the resolved configuration, or every violation found. A field that
 * fails keeps a placeholder so the remaining rules still run; the placeholders are never seen
 * because any violation makes the result a `Left`.
 */
/** Kepler's debug collectors; joulemon maps them onto Node's runtime and process metrics. */
const DEBUG_COLLECTORS = ["go", "process"] as const

export const checkValues = (raw: RawConfig): Either.Either<JoulemonConfig, ReadonlyArray<string>> => {
  const errors: Array<string> = []
  const report = (key: string, message: string): void => {
    errors.push(`${key}: ${message}`)
  }
  const nonNegative = (key: string, what: string, value: GoDuration): GoDuration => {
    if (value >= 0n) return value
    report(key, `invalid ${what}: ${formatGoDuration(value)} can't be negative`)
    return 0n
  }
  const enumeration = <const T extends string>(
    key: string,
    allowed: ReadonlyArray<T>,
    placeholder: T,
    value: string,
    message: string
  ): T => {
    if (oneOf(allowed, value)) return value
    report(key, message)
    return placeholder
  }

  const level = enumeration(
    "log.level",
    LOG_LEVELS,
    "info",
    raw.log.level,
    `invalid log level: ${JSON.stringify(raw.log.level)} (one of ${LOG_LEVELS.join(", ")})`
  )
  const format = enumeration(
    "log.format",
    LOG_FORMATS,
    "text",
    raw.log.format,
    `invalid log format: ${JSON.stringify(raw.log.format)} (one of ${LOG_FORMATS.join(", ")})`
  )

  const interval = nonNegative("monitor.interval", "monitor interval", raw.monitor.interval)
  const staleness = nonNegative("monitor.staleness", "monitor staleness", raw.monitor.staleness)
  const threshold = raw.monitor.minTerminatedEnergyThreshold
  if (threshold < 0) {
    report(
      "monitor.minTerminatedEnergyThreshold",
      `invalid monitor min terminated energy threshold: ${threshold} can't be negative`
    )
  }
  const parallelism = raw.monitor.parallelism
  if (!Number.isInteger(parallelism) || parallelism < 1) {
    report("monitor.parallelism", `invalid monitor parallelism: ${parallelism}, must be an integer of at least 1`)
  }
  const maxPlausibleWatts = raw.monitor.maxPlausibleWatts
  if (!Number.isFinite(maxPlausibleWatts) || maxPlausibleWatts <= 0) {
    report(
      "monitor.maxPlausibleWatts",
      `invalid monitor max plausible watts: ${maxPlausibleWatts}, must be a finite number greater than 0`
    )
  }

  const collector = enumeration(
    "monitor.collector",
    COLLECTOR_MODES,
    "worker",
    raw.monitor.collector,
    `invalid monitor collector: ${JSON.stringify(raw.monitor.collector)} (one of ${COLLECTOR_MODES.join(", ")})`
  )

  const idlePolicy = enumeration(
    "monitor.idlePolicy",
    IDLE_POLICIES,
    "none",
    raw.monitor.idlePolicy,
    `invalid monitor idle policy: ${JSON.stringify(raw.monitor.idlePolicy)} (one of ${IDLE_POLICIES.join(", ")})`
  )

  const shortLived = enumeration(
    "monitor.shortLived",
    SHORT_LIVED_MODES,
    "none",
    raw.monitor.shortLived,
    `invalid monitor short-lived accounting: ${JSON.stringify(raw.monitor.shortLived)} (one of ${
      SHORT_LIVED_MODES.join(", ")
    })`
  )

  const preferredMeters = raw.cpu.preferredMeters.flatMap((meter, i) => {
    if (oneOf(METER_NAMES, meter)) return [meter]
    report(
      `cpu.preferredMeters[${i}]`,
      `invalid cpu.preferredMeters entry ${JSON.stringify(meter)}, must be one of ${quoted(METER_NAMES)}`
    )
    return []
  })
  if (raw.cpu.preferredMeters.length === 0) {
    report("cpu.preferredMeters", `cpu.preferredMeters is empty (list one or more of ${quoted(METER_NAMES)})`)
  }
  raw.exporter.prometheus.debugCollectors.forEach((name, i) => {
    if (!oneOf(DEBUG_COLLECTORS, name)) {
      report(
        `exporter.prometheus.debugCollectors[${i}]`,
        `unknown collector: ${JSON.stringify(name)} (one of ${quoted(DEBUG_COLLECTORS)})`
      )
    }
  })
  const { idleWattsPerCpu, busyWattsPerCpu } = raw.cpu.model
  const wattsOk = (key: string, value: number): boolean => {
    if (Number.isFinite(value) && value >= 0) return true
    report(key, `invalid ${key}: ${value}, must be a finite number of at least 0`)
    return false
  }
  const idleOk = wattsOk("cpu.model.idleWattsPerCpu", idleWattsPerCpu)
  const busyOk = wattsOk("cpu.model.busyWattsPerCpu", busyWattsPerCpu)
  if (idleOk && busyOk && busyWattsPerCpu < idleWattsPerCpu) {
    report(
      "cpu.model.busyWattsPerCpu",
      `invalid cpu.model.busyWattsPerCpu: ${busyWattsPerCpu}, must be at least cpu.model.idleWattsPerCpu (${idleWattsPerCpu})`
    )
  }

  const metricsLevel = raw.exporter.prometheus.metricsLevel.flatMap((token, i) => {
    if (oneOf(METRICS_LEVELS, token)) return [token]
    report(`exporter.prometheus.metricsLevel[${i}]`, `unknown metrics level: ${token}`)
    return []
  })

  const maxProcesses = raw.exporter.prometheus.maxProcesses
  if (maxProcesses < 0) {
    report(
      "exporter.prometheus.maxProcesses",
      `invalid exporter.prometheus.maxProcesses: ${maxProcesses}, must be an integer of at least 0 (0 exports every process)`
    )
  }

  const addresses = raw.web.listenAddresses
  if (addresses.length === 0) {
    report("web.listenAddresses", "at least one web listen address must be specified")
  }
  addresses.forEach((address, i) => {
    const problem = listenAddressProblem(address)
    if (problem !== undefined) report(`web.listenAddresses[${i}]`, problem)
  })

  if (raw.kube.enabled && raw.kube.nodeName === "") {
    report(
      "kube.nodeName",
      "kube.node-name not supplied but kube.enable set to true (set kube.nodeName or pass --kube.node-name)"
    )
  }
  // Checked even with Kubernetes off (Kepler checks it only when on): a typo is a typo.
  const mode = enumeration(
    "kube.podInformer.mode",
    POD_INFORMER_MODES,
    "kubelet",
    raw.kube.podInformer.mode,
    `invalid kube.podInformer.mode: ${JSON.stringify(raw.kube.podInformer.mode)}, must be "kubelet" or "apiserver"`
  )
  const pollInterval = nonNegative(
    "kube.podInformer.pollInterval",
    "kube.podInformer.pollInterval",
    raw.kube.podInformer.pollInterval
  )

  const redfish = raw.experimental.platform.redfish
  if (redfish.enabled && redfish.configFile === "") {
    report(
      "experimental.platform.redfish.configFile",
      "experimental.platform.redfish.config-file not supplied but experimental.platform.redfish.enabled set to true"
    )
  }
  const httpTimeout = nonNegative(
    "experimental.platform.redfish.httpTimeout",
    "experimental.platform.redfish.httpTimeout",
    redfish.httpTimeout
  )
  const gpu = raw.experimental.gpu
  // Only when the GPU feature is on, where the endpoint is used (Kepler: when any experimental
  // feature is on), so a Kepler file with a stale endpoint and GPU off still loads.
  if (gpu.enabled) {
    for (const problem of dcgmEndpointProblems(gpu.dcgmEndpoint)) {
      report("experimental.gpu.dcgmEndpoint", problem)
    }
  }
  const gpuMeter = enumeration(
    "experimental.gpu.meter",
    GPU_METER_NAMES,
    "nvml",
    gpu.meter,
    `invalid experimental.gpu.meter: ${JSON.stringify(gpu.meter)}, must be one of ${GPU_METER_NAMES.join(", ")}`
  )

  if (errors.length > 0) return Either.left(errors)
  return Either.right({
    ...raw,
    log: { level, format },
    monitor: {
      ...raw.monitor,
      interval: toDuration(interval),
      staleness: toDuration(staleness),
      collector,
      idlePolicy,
      shortLived
    },
    cpu: { ...raw.cpu, preferredMeters },
    exporter: { ...raw.exporter, prometheus: { ...raw.exporter.prometheus, metricsLevel } },
    kube: { ...raw.kube, podInformer: { mode, pollInterval: toDuration(pollInterval) } },
    experimental: {
      ...raw.experimental,
      platform: { redfish: { ...redfish, httpTimeout: toDuration(httpTimeout) } },
      gpu: { ...gpu, meter: gpuMeter }
    }
  })
}

const describeError = (error: unknown): string => (error instanceof Error ? error.message : String(error))

/** Kepler's `canReadDir`: open the directory and read one entry (an empty one fails, like Go's EOF). */
const readableDirectoryProblem = (path: string): Effect.Effect<Option.Option<string>> =>
  Effect.tryPromise(async () => {
    const dir = await fs.opendir(path)
    try {
      const entry = await dir.read()
      return entry === null ? Option.some("directory is empty") : Option.none()
    } finally {
      await dir.close()
    }
  }).pipe(Effect.catchAll((error) => Effect.succeed(Option.some(describeError(error.error)))))

/** Kepler's `canReadFile`: open the file and read up to 8 bytes (an empty one fails, like Go's EOF). */
const readableFileProblem = (path: string): Effect.Effect<Option.Option<string>> =>
  Effect.tryPromise(async () => {
    const file = await fs.open(path, "r")
    try {
      const { bytesRead } = await file.read(Buffer.alloc(8), 0, 8, 0)
      return bytesRead === 0 ? Option.some("file is empty") : Option.none()
    } finally {
      await file.close()
    }
  }).pipe(Effect.catchAll((error) => Effect.succeed(Option.some(describeError(error.error)))))

/** The rules that need the filesystem; all checks run concurrently. */
export const checkFiles = (raw: RawConfig): Effect.Effect<ReadonlyArray<string>> => {
  const checks: Array<Effect.Effect<Option.Option<string>>> = [
    readableDirectoryProblem(raw.host.sysfs).pipe(
      Effect.map(Option.map((e) => `host.sysfs: invalid sysfs path: ${raw.host.sysfs}: ${e}`))
    ),
    readableDirectoryProblem(raw.host.procfs).pipe(
      Effect.map(Option.map((e) => `host.procfs: invalid procfs path: ${raw.host.procfs}: ${e}`))
    )
  ]
  if (raw.web.configFile !== "") {
    checks.push(
      readableFileProblem(raw.web.configFile).pipe(
        Effect.map(
          Option.map((e) =>
            `web.configFile: invalid web config file. path: ${JSON.stringify(raw.web.configFile)}: ${e}`
          )
        )
      )
    )
  }
  if (raw.kube.enabled && raw.kube.config !== "") {
    checks.push(
      readableFileProblem(raw.kube.config).pipe(
        Effect.map(Option.map((e) => `kube.config: unreadable kubeconfig: ${raw.kube.config}: ${e}`))
      )
    )
  }
  const redfish = raw.experimental.platform.redfish
  if (redfish.enabled && redfish.configFile !== "") {
    checks.push(
      readableFileProblem(redfish.configFile).pipe(
        Effect.map(
          Option.map(
            (e) =>
              `experimental.platform.redfish.configFile: unreadable Redfish config file: ${redfish.configFile}: ${e}`
          )
        )
      )
    )
  }
  return Effect.all(checks, { concurrency: "unbounded" }).pipe(Effect.map(Arr.getSomes))
}

/**
 * Validates the final value. `earlier` carries problems found before (YAML shape errors), so
 * the operator sees one list with everything.
 */
export const validate = Effect.fn("Config.validate")(function*(
  raw: RawConfig,
  earlier: ReadonlyArray<string> = []
) {
  const fileProblems = yield* checkFiles(raw)
  const checked = checkValues(raw)
  const valueProblems = Either.isLeft(checked) ? checked.left : []
  const errors = [...earlier, ...valueProblems, ...fileProblems]
  if (errors.length > 0 || Either.isLeft(checked)) {
    return yield* Effect.fail(new ConfigError({ errors }))
  }
  return checked.right
})
