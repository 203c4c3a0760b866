/**
 * The command-line flags, with Kepler's names (kepler-behaviour.md §2.2), and their mapping
 * onto `FlagOverrides`. A flag counts only when it is given: every option here is optional
 * and yields `None` when absent, so the file's value (or the default) stays.
 *
 * Values are parsed here only as far as their type needs (a duration is a Go duration, a level
 * is a known level); the rest (ranges, files, cross-field rules) is left to config validation,
 * which sees the file and the flags together.
 */
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevelName, METRICS_LEVELS } from "../config/Config.js"
import { parseGoDuration } from "../config/duration.js"
import type { FlagOverrides } from "../config/load.js"
import { canonicalMetricsLevels, parseMetricsLevel } from "../config/metricsLevel.js"
import type { FlagNames } from "./argv.js"

const invalid = (flag: string, message: string) =>
  Effect.fail(ValidationError.invalidValue(HelpDoc.p(`--${flag}: ${message}`)))

/** A flag taking one value, parsed by `parse` (an error message names the flag). */
const valued = <A>(
  name: string,
  pseudoName: string,
  description: string,
  parse: (text: string) => Either.Either<A, string>
): Options.Options<Option.Option<A>> =>
  Options.text(name).pipe(
    Options.withPseudoName(pseudoName),
    Options.withDescription(description),
    Options.optional,
    Options.mapEffect((given) =>
      Option.match(given, {
        onNone: () => Effect.succeed(Option.none<A>()),
        onSome: (text) =>
          Either.match(parse(text), {
            onLeft: (message) => invalid(name, message),
            onRight: (value) => Effect.succeed(Option.some(value))
          })
      })
    )
  )

/**
 * A repeatable flag; an empty result means "not given". `Options.optional` on top of
 * `Options.repeated` only changes how the help shows it (`[--x V...]`, "optional"): zero
 * occurrences already parse.
 */
const repeated = <A>(
  name: string,
  pseudoName: string,
  description: string,
  parse: (text: string) => Either.Either<A, string>
): Options.Options<ReadonlyArray<A>> =>
  Options.text(name).pipe(
    Options.withPseudoName(pseudoName),
    Options.withDescription(description),
    Options.repeated,
    Options.optional,
    Options.map(Option.getOrElse((): ReadonlyArray<string> => [])),
    Options.mapEffect((texts) =>
      Either.match(Either.all(texts.map(parse)), {
        onLeft: (message) => invalid(name, message),
        onRight: (values) => Effect.succeed(values)
      })
    )
  )

const asText = (text: string): Either.Either<string, string> => Either.right(text)

const asInteger = (text: string): Either.Either<number, string> => {
  const trimmed = text.trim()
  const value = Number(trimmed)
  return /^[+-]?\d+$/.test(trimmed) && Number.isSafeInteger(value)
    ? Either.right(value)
    : Either.left(`expected an integer, got ${JSON.stringify(text)}`)
}

/**
 * Kepler's `Float64()` flag (Go's strconv.ParseFloat) for a decimal number, sign and exponent
 * allowed. NaN and infinities are refused: no setting here means anything with them.
 */
const asFloat = (text: string): Either.Either<number, string> => {
  const trimmed = text.trim()
  const value = Number(trimmed)
  return /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(trimmed) && Number.isFinite(value)
    ? Either.right(value)
    : Either.left(`expected a number, got ${JSON.stringify(text)}`)
}

const asEnum =
  <const T extends string>(what: string, allowed: ReadonlyArray<T>) => (text: string): Either.Either<T, string> => {
    const found = allowed.find((value) => value === text.trim())
    return found === undefined
      ? Either.left(`invalid ${what}: ${JSON.stringify(text)} (one of ${allowed.join(", ")})`)
      : Either.right(found)
  }

const asDuration = (text: string): Either.Either<bigint, string> =>
  Either.mapLeft(
    parseGoDuration(text.trim()),
    (error) => `expected a Go duration like "5s", got ${JSON.stringify(text)}: ${error}`
  )

/**
 * A boolean flag is two @effect/cli options, `--x` and `--no-x`; `argv.ts` folds every
 * spelling into exactly one of them, so at most one is true.
 */
const toggle = (name: string, description: string): Options.Options<Option.Option<boolean>> =>
  Options.all([
    Options.boolean(name).pipe(Options.withDescription(description)),
    Options.boolean(`no-${name}`).pipe(
      Options.withDescription(`Turns --${name} off. --${name}=false and --${name}=true work too.`)
    )
  ]).pipe(
    Options.map((
      [on, off]
    ): Option.Option<boolean> => (on ? Option.some(true) : off ? Option.some(false) : Option.none()))
  )

const BOOLEAN_FLAGS = [
  "exporter.stdout",
  "exporter.prometheus",
  "debug.pprof",
  "kube.enable",
  "experimental.platform.redfish.enabled",
  "experimental.hwmon.force-enabled",
  "experimental.hwmon.enabled",
  "experimental.gpu.enabled"
] as const

const options = {
  configFile: valued(
    "config.file",
    "PATH",
    "YAML configuration file (Kepler's format: a Kepler ConfigMap's config.yaml key, mounted as a file, works as is; the ConfigMap object itself is rejected). Keys it leaves out keep their defaults; flags given on the command line override it. Default: none.",
    asText
  ),
  logLevel: valued(
    "log.level",
    LOG_LEVELS.join("|"),
    "Logging level: debug, info, warn or error. YAML: log.level. Default: info.",
    asEnum("log level", LOG_LEVELS)
  ),
  logFormat: valued(
    "log.format",
    LOG_FORMATS.join("|"),
    "Log line format: text or json. YAML: log.format. Default: text.",
    asEnum("log format", LOG_FORMATS)
  ),
  hostSysfs: valued(
    "host.sysfs",
    "DIR",
    "Where the host's /sys is mounted (RAPL and hwmon sensors are read below it); must be a readable, non-empty directory. YAML: host.sysfs. Default: /sys.",
    asText
  ),
  hostProcfs: valued(
    "host.procfs",
    "DIR",
    "Where the host's /proc is mounted (process CPU times are read below it); must be a readable, non-empty directory. YAML: host.procfs. Default: /proc.",
    asText
  ),
  monitorInterval: valued(
    "monitor.interval",
    "DURATION",
    "How often to take a reading, as a Go duration (500ms, 5s, 1m30s); 0 reads only when a scrape asks. Must not be negative. YAML: monitor.interval. Default: 5s.",
    asDuration
  ),
  monitorMaxTerminated: valued(
    "monitor.max-terminated",
    "N",
    "How many terminated workloads to keep exporting, the top N by energy; 0 keeps none, a negative number keeps all. YAML: monitor.maxTerminated. Default: 500.",
    asInteger
  ),
  monitorParallelism: valued(
    "monitor.parallelism",
    "N",
    "joulemon: at most this many reads (sensor zones, process files) run at once during a reading; 1 reads one at a time. Any setting gives the same numbers. Must be at least 1. YAML: monitor.parallelism. Default: 8.",
    asInteger
  ),
  monitorStateDir: valued(
    "monitor.state-dir",
    "DIR",
    "joulemon: a directory where the cumulative counters are checkpointed every reading and resumed at start (same boot and node only), so a restart resets no counter; empty is off. YAML: monitor.stateDir. Default: off.",
    asText
  ),
  monitorIdlePolicy: valued(
    "monitor.idle-policy",
    "POLICY",
    "joulemon: how the node's idle energy is charged to workloads, in separate joulemon_*_cpu_idle_joules_total families: none (Kepler: idle stays at node level), cpu-share (like active energy, by CPU time), equal (the same part per running container and VM), requests (Kubernetes pods by their CPU requests). YAML: monitor.idlePolicy. Default: none.",
    asText
  ),
  monitorShortLived: valued(
    "monitor.short-lived",
    "MODE",
    "joulemon: how CPU time of processes that started and exited between two readings is accounted: none (Kepler: active energy is split over the processes seen at both readings), cgroup (each container's cgroup CPU usage under host.sysfs/fs/cgroup, v1 or v2, is read; what its seen processes do not cover is booked to the container as short-lived work, in joulemon_container_short_lived_joules_total, and /proc/stat active time nobody accounts for stays at node level in joulemon_unattributed_joules_total). YAML: monitor.shortLived. Default: none.",
    asText
  ),
  exporterStdout: toggle(
    "exporter.stdout",
    "Print every reading to the terminal. YAML: exporter.stdout.enabled. Default: off."
  ),
  exporterPrometheus: toggle(
    "exporter.prometheus",
    "Serve Prometheus metrics at /metrics. YAML: exporter.prometheus.enabled. Default: on."
  ),
  metrics: repeated(
    "metrics",
    "LEVEL",
    `Metric level to export: ${
      METRICS_LEVELS.join(", ")
    }. Repeat the flag for several (--metrics node --metrics pod); the levels given replace the configured ones. YAML: exporter.prometheus.metricsLevel. Default: all five.`,
    (text) => parseMetricsLevel(text)
  ),
  debugPprof: toggle(
    "debug.pprof",
    "Serve profiling endpoints under /debug/pprof/. YAML: debug.pprof.enabled. Default: off."
  ),
  webConfigFile: valued(
    "web.config-file",
    "PATH",
    "TLS and basic-auth settings in the Prometheus exporter-toolkit format, applied to every listen address; must be readable when set. YAML: web.configFile. Default: none (plain HTTP).",
    asText
  ),
  webListenAddresses: repeated(
    "web.listen-address",
    "HOST:PORT",
    "Address to serve HTTP on, such as :28282, localhost:8080 or [::1]:8080 (port 1-65535). Repeat the flag for several; the addresses given replace the configured list. YAML: web.listenAddresses. Default: :28282.",
    asText
  ),
  kubeEnable: toggle(
    "kube.enable",
    "Attribute energy to Kubernetes pods; needs the node name (--kube.node-name or kube.nodeName). YAML: kube.enabled. Default: off."
  ),
  kubeConfig: valued(
    "kube.config",
    "PATH",
    "kubeconfig file, for running outside the cluster; empty uses the in-cluster service account. Must be readable when Kubernetes is on. YAML: kube.config. Default: none.",
    asText
  ),
  kubeNodeName: valued(
    "kube.node-name",
    "NAME",
    "Name of the Kubernetes node joulemon runs on (in a DaemonSet, the downward API's spec.nodeName); also the node_name label. YAML: kube.nodeName. Default: the hostname when Kubernetes is off, required when it is on.",
    asText
  ),
  redfishEnabled: toggle(
    "experimental.platform.redfish.enabled",
    "Experimental: read platform power from the BMC over Redfish; needs --experimental.platform.redfish.config-file. YAML: experimental.platform.redfish.enabled. Default: off."
  ),
  redfishNodeName: valued(
    "experimental.platform.redfish.node-name",
    "NAME",
    "Experimental: this node's name in the Redfish BMC file. YAML: experimental.platform.redfish.nodeName. Default: the Kubernetes node name, else the hostname.",
    asText
  ),
  redfishConfigFile: valued(
    "experimental.platform.redfish.config-file",
    "PATH",
    "Experimental: the Redfish BMC file (nodes, BMC endpoints and credentials); must be readable when Redfish is on. YAML: experimental.platform.redfish.configFile. Default: none.",
    asText
  ),
  hwmonZones: repeated(
    "experimental.hwmon.zones",
    "LABEL",
    "Experimental: hwmon power sensor label to read; repeat the flag for several; the labels given replace the configured ones. YAML: experimental.hwmon.zones. Default: none, meaning all.",
    asText
  ),
  hwmonForceEnabled: toggle(
    "experimental.hwmon.force-enabled",
    "Deprecated (as in Kepler): read CPU power from hwmon only, never RAPL. Read as cpu.preferredMeters: [hwmon], which it overrides, with a warning; set cpu.preferredMeters instead. YAML: experimental.hwmon.forceEnabled. Default: off."
  ),
  hwmonEnabled: toggle(
    "experimental.hwmon.enabled",
    "Kepler 0.11's name for --experimental.hwmon.force-enabled (Kepler then renamed it and deprecated the new name): read CPU power from hwmon only, never RAPL. Read as cpu.preferredMeters: [hwmon], which it overrides, with a warning; set cpu.preferredMeters instead. YAML: experimental.hwmon.forceEnabled. Default: off."
  ),
  gpuEnabled: toggle(
    "experimental.gpu.enabled",
    "Experimental: measure NVIDIA GPU power through the driver's NVML library and attribute it to the processes, containers and pods using each GPU; without a usable driver joulemon warns and runs on without GPU metrics. YAML: experimental.gpu.enabled. Default: off."
  ),
  gpuIdlePower: valued(
    "experimental.gpu.idle-power",
    "WATTS",
    "Experimental: each GPU's idle power in watts, the part of its power charged to no workload; 0 (or less) detects it as the lowest power seen while no process used the GPU. As in Kepler, it applies only when GPU power is on and is otherwise ignored (with a warning). YAML: experimental.gpu.idlePower. Default: 0 (detect).",
    asFloat
  ),
  gpuDcgmEndpoint: valued(
    "experimental.gpu.dcgm-endpoint",
    "URL",
    "Experimental: NVIDIA dcgm-exporter's address (http or https, a host, an optional port, no credentials, query or fragment; /metrics is added when missing), read for per-instance activity so a MIG GPU's energy splits by instance. As in Kepler, it applies (and is checked) only when GPU power is on and is otherwise ignored (with a warning). YAML: experimental.gpu.dcgmEndpoint. Default: none, meaning http://localhost:9400/metrics.",
    asText
  )
} as const

/** What `argv.ts` needs to know about the flags above. */
export const flagNames: FlagNames = {
  booleans: BOOLEAN_FLAGS,
  valued: [
    "config.file",
    "log.level",
    "log.format",
    "host.sysfs",
    "host.procfs",
    "monitor.interval",
    "monitor.max-terminated",
    "monitor.parallelism",
    "monitor.state-dir",
    "monitor.idle-policy",
    "monitor.short-lived",
    "metrics",
    "web.config-file",
    "web.listen-address",
    "kube.config",
    "kube.node-name",
    "experimental.platform.redfish.node-name",
    "experimental.platform.redfish.config-file",
    "experimental.hwmon.zones",
    "experimental.gpu.idle-power",
    "experimental.gpu.dcgm-endpoint"
  ]
}

export interface CommandLine {
  /** --config.file; `undefined` when not given. */
  readonly configFile: string | undefined
  readonly flags: FlagOverrides
}

const given = <A>(values: ReadonlyArray<A>): ReadonlyArray<A> | undefined => values.length === 0 ? undefined : values

/**
 * Kepler 0.11.4's --experimental.hwmon.enabled is the switch Kepler later renamed to
 * --experimental.hwmon.force-enabled (same meaning: hwmon only, no RAPL), so it sets the same
 * key; the deprecation of that key is then reported with the config's own warnings. If both are
 * given (never the case with one Kepler release), the current name wins.
 */
const hwmonForceEnabled = (
  forceEnabled: Option.Option<boolean>,
  enabled: Option.Option<boolean>
): Pick<FlagOverrides, "hwmonForceEnabled" | "warnings"> => {
  const value = Option.getOrUndefined(Option.orElse(forceEnabled, () => enabled))
  return Option.isSome(enabled)
    ? {
      hwmonForceEnabled: value,
      warnings: [
        "--experimental.hwmon.enabled is Kepler 0.11's name for --experimental.hwmon.force-enabled (hwmon as the only CPU meter); it is read as that flag"
      ]
    }
    : { hwmonForceEnabled: value }
}

/** Every flag, parsed into the config file path and the `FlagOverrides`. */
export const commandLine: Options.Options<CommandLine> = Options.all(options).pipe(
  Options.map(
    (o): CommandLine => ({
      configFile: Option.getOrUndefined(o.configFile),
      flags: {
        logLevel: Option.getOrUndefined<LogLevelName>(o.logLevel),
        logFormat: Option.getOrUndefined<LogFormat>(o.logFormat),
        hostSysfs: Option.getOrUndefined(o.hostSysfs),
        hostProcfs: Option.getOrUndefined(o.hostProcfs),
        monitorInterval: Option.getOrUndefined(o.monitorInterval),
        monitorMaxTerminated: Option.getOrUndefined(o.monitorMaxTerminated),
        monitorParallelism: Option.getOrUndefined(o.monitorParallelism),
        monitorStateDir: Option.getOrUndefined(o.monitorStateDir),
        monitorIdlePolicy: Option.getOrUndefined(o.monitorIdlePolicy),
        monitorShortLived: Option.getOrUndefined(o.monitorShortLived),
        exporterStdout: Option.getOrUndefined(o.exporterStdout),
        exporterPrometheus: Option.getOrUndefined(o.exporterPrometheus),
        // Kepler ORs repeated --metrics together; the canonical list is that union.
        metrics: o.metrics.length === 0 ? undefined : canonicalMetricsLevels(o.metrics),
        debugPprof: Option.getOrUndefined(o.debugPprof),
        webConfigFile: Option.getOrUndefined(o.webConfigFile),
        webListenAddresses: given(o.webListenAddresses),
        kubeEnable: Option.getOrUndefined(o.kubeEnable),
        kubeConfig: Option.getOrUndefined(o.kubeConfig),
        kubeNodeName: Option.getOrUndefined(o.kubeNodeName),
        redfishEnabled: Option.getOrUndefined(o.redfishEnabled),
        redfishNodeName: Option.getOrUndefined(o.redfishNodeName),
        redfishConfigFile: Option.getOrUndefined(o.redfishConfigFile),
        hwmonZones: given(o.hwmonZones),
        ...hwmonForceEnabled(o.hwmonForceEnabled, o.hwmonEnabled),
        gpuEnabled: Option.getOrUndefined(o.gpuEnabled),
        gpuIdlePower: Option.getOrUndefined(o.gpuIdlePower),
        gpuDcgmEndpoint: Option.getOrUndefined(o.gpuDcgmEndpoint)
      }
    })
  )
)
