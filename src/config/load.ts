/**
 * Loads the configuration: defaults ← YAML file ← flags, then one validation of the result.
 * Problems of every kind (unreadable file, YAML syntax, wrong shapes, bad values) end in a
 * single `ConfigError` listing all of them; nothing is started with a bad configuration.
 */
import * as Effect from "effect/Effect"
import * as os from "node:os"
import { LineCounter, parseDocument, type YAMLError } from "yaml"
import type { JoulemonConfig, LogFormat, LogLevelName, MetricsLevel } from "./Config.js"
import { ConfigError } from "./ConfigError.js"
import { describeConfigReadError, readConfigText } from "./configFileRead.js"
import { configMapObjectProblem } from "./configMapObject.js"
import type { GoDuration } from "./duration.js"
import type { ConfigPatch } from "./RawConfig.js"
import { resolveConfig } from "./resolve.js"
import { type DecodedFile, decodeFileConfig } from "./schema.js"
import { validate } from "./validate.js"

export interface LoadedConfig {
  readonly config: JoulemonConfig
  /** To be logged at WARN once the logger is configured (unknown keys, deprecated keys, …). */
  readonly warnings: ReadonlyArray<string>
}

/**
 * One field per command-line flag (Kepler's flag names, kepler-behaviour.md §2.2). A field that
 * is absent (or `undefined`) means the flag was not given, so the file's value, or the default,
 * stays. Lists are the whole list the flag was given (a repeated flag replaces the file's list).
 */
export interface FlagOverrides {
  /** --log.level */
  readonly logLevel?: LogLevelName | undefined
  /** --log.format */
  readonly logFormat?: LogFormat | undefined
  /** --host.sysfs */
  readonly hostSysfs?: string | undefined
  /** --host.procfs */
  readonly hostProcfs?: string | undefined
  /** --monitor.interval, signed nanoseconds (so `-1s` reaches validation and is reported). */
  readonly monitorInterval?: GoDuration | undefined
  /** --monitor.max-terminated */
  readonly monitorMaxTerminated?: number | undefined
  /** --monitor.parallelism (joulemon) */
  readonly monitorParallelism?: number | undefined
  /** --monitor.state-dir (joulemon) */
  readonly monitorStateDir?: string | undefined
  /** --monitor.idle-policy (joulemon) */
  readonly monitorIdlePolicy?: string | undefined
  /** --monitor.short-lived (joulemon) */
  readonly monitorShortLived?: string | undefined
  /** --exporter.stdout / --no-exporter.stdout */
  readonly exporterStdout?: boolean | undefined
  /** --exporter.prometheus / --no-exporter.prometheus */
  readonly exporterPrometheus?: boolean | undefined
  /** --metrics (repeatable): the levels given, which replace the file's. */
  readonly metrics?: ReadonlyArray<MetricsLevel> | undefined
  /** --debug.pprof / --no-debug.pprof */
  readonly debugPprof?: boolean | undefined
  /** --web.config-file */
  readonly webConfigFile?: string | undefined
  /** --web.listen-address (repeatable) */
  readonly webListenAddresses?: ReadonlyArray<string> | undefined
  /** --kube.enable / --no-kube.enable */
  readonly kubeEnable?: boolean | undefined
  /** --kube.config */
  readonly kubeConfig?: string | undefined
  /** --kube.node-name */
  readonly kubeNodeName?: string | undefined
  /** --experimental.platform.redfish.enabled */
  readonly redfishEnabled?: boolean | undefined
  /** --experimental.platform.redfish.node-name */
  readonly redfishNodeName?: string | undefined
  /** --experimental.platform.redfish.config-file */
  readonly redfishConfigFile?: string | undefined
  /** --experimental.hwmon.zones (repeatable) */
  readonly hwmonZones?: ReadonlyArray<string> | undefined
  /**
   * --experimental.hwmon.force-enabled, or Kepler 0.11's --experimental.hwmon.enabled (the same
   * switch before Kepler renamed it); deprecated, resolved to `cpu.preferredMeters: [hwmon]`.
   */
  readonly hwmonForceEnabled?: boolean | undefined
  /** --experimental.gpu.enabled / --no-experimental.gpu.enabled */
  readonly gpuEnabled?: boolean | undefined
  /** --experimental.gpu.idle-power, watts; as in Kepler, kept only when GPU power ends up on. */
  readonly gpuIdlePower?: number | undefined
  /** --experimental.gpu.dcgm-endpoint; as in Kepler, kept only when GPU power ends up on. */
  readonly gpuDcgmEndpoint?: string | undefined
  /**
   * What the command line itself calls for saying (a Kepler flag read under another name, …);
   * logged at WARN with the config's own warnings.
   */
  readonly warnings?: ReadonlyArray<string> | undefined
}

/** The flags as a layer over the file; `undefined` leaves the value below untouched. */
export const flagsToPatch = (flags: FlagOverrides): ConfigPatch => ({
  log: { level: flags.logLevel, format: flags.logFormat },
  host: { sysfs: flags.hostSysfs, procfs: flags.hostProcfs },
  monitor: {
    interval: flags.monitorInterval,
    maxTerminated: flags.monitorMaxTerminated,
    parallelism: flags.monitorParallelism,
    stateDir: flags.monitorStateDir,
    idlePolicy: flags.monitorIdlePolicy,
    shortLived: flags.monitorShortLived
  },
  exporter: {
    stdout: { enabled: flags.exporterStdout },
    prometheus: { enabled: flags.exporterPrometheus, metricsLevel: flags.metrics }
  },
  debug: { pprof: { enabled: flags.debugPprof } },
  web: { configFile: flags.webConfigFile, listenAddresses: flags.webListenAddresses },
  kube: { enabled: flags.kubeEnable, config: flags.kubeConfig, nodeName: flags.kubeNodeName },
  experimental: {
    platform: {
      redfish: {
        enabled: flags.redfishEnabled,
        nodeName: flags.redfishNodeName,
        configFile: flags.redfishConfigFile
      }
    },
    hwmon: { zones: flags.hwmonZones, forceEnabled: flags.hwmonForceEnabled },
    gpu: { enabled: flags.gpuEnabled, idlePower: flags.gpuIdlePower, dcgmEndpoint: flags.gpuDcgmEndpoint }
  }
})

const describeError = (error: unknown): string => (error instanceof Error ? error.message : String(error))

const fail = (message: string) => Effect.fail(new ConfigError({ errors: [message] }))

/** `line 3, column 5: <what yaml says>` */
const describeYamlError = (error: YAMLError, lines: LineCounter): string => {
  const { line, col } = lines.linePos(error.pos[0])
  return `line ${line}, column ${col}: ${error.message}`
}

interface ParsedFile extends DecodedFile {
  readonly yamlWarnings: ReadonlyArray<string>
}

/** Reads and decodes the YAML file; a missing file or a syntax error names the path (and line). */
export const readConfigFile = Effect.fn("Config.readFile")(function*(path: string) {
  yield* Effect.annotateCurrentSpan("config.file", path)
  const text = yield* Effect.tryPromise(() => readConfigText(path)).pipe(
    Effect.catchAll((error) =>
      fail(`failed to open config file ${JSON.stringify(path)}: ${describeConfigReadError(error.error)}`)
    )
  )
  const lines = new LineCounter()
  // `merge` enables YAML merge keys (`<<: *anchor`), which yaml.v3 (Kepler) supports.
  const document = parseDocument(text, { lineCounter: lines, prettyErrors: false, merge: true })
  if (document.errors.length > 0) {
    return yield* Effect.fail(
      new ConfigError({
        errors: document.errors.map(
          (error) => `failed to parse config ${JSON.stringify(path)}: ${describeYamlError(error, lines)}`
        )
      })
    )
  }
  const value = yield* Effect.try(() => document.toJS({ maxAliasCount: 100 })).pipe(
    Effect.catchAll((error) => fail(`failed to parse config ${JSON.stringify(path)}: ${describeError(error.error)}`))
  )
  const configMap = configMapObjectProblem(path, value)
  if (configMap !== undefined) return yield* fail(configMap)
  const decoded = decodeFileConfig(value)
  const parsed: ParsedFile = {
    ...decoded,
    yamlWarnings: document.warnings.map(
      (warning) => `config file ${JSON.stringify(path)}: ${describeYamlError(warning, lines)}`
    )
  }
  return parsed
})

const noFile: ParsedFile = { patch: {}, errors: [], unknownFields: [], yamlWarnings: [] }

/** Kepler's wording and form (`fields=[a,b]`), so existing log alerts keep matching. */
export const unknownFieldsWarning = (fields: ReadonlyArray<string>): string =>
  `ignoring unknown config fields; check for typos or options from another release fields=[${fields.join(",")}]`

/**
 * defaults ← `configFile` (when given and non-empty) ← `flags`, validated once.
 * Fails with one `ConfigError` carrying every problem.
 */
export const loadConfig: (
  configFile: string | undefined,
  flags: FlagOverrides
) => Effect.Effect<LoadedConfig, ConfigError> = Effect.fn("Config.load")(function*(
  configFile: string | undefined,
  flags: FlagOverrides
) {
  const file = configFile === undefined || configFile.trim() === "" ? noFile : yield* readConfigFile(configFile)
  const hostname = yield* Effect.sync(() => os.hostname())
  const { raw, warnings } = resolveConfig(file.patch, flagsToPatch(flags), hostname)
  const config = yield* validate(raw, file.errors)
  const unknown = file.unknownFields.length > 0 ? [unknownFieldsWarning(file.unknownFields)] : []
  return { config, warnings: [...file.yamlWarnings, ...unknown, ...(flags.warnings ?? []), ...warnings] }
})
