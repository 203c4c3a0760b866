/**
 * The one configuration value every service reads. It is produced by `config/load.ts`
 * (defaults ← YAML file ← flags) and provided to the Layer graph through the `AppConfig` tag.
 *
 * Field names follow Kepler's YAML keys (kepler-behaviour.md §2.2) so a Kepler config file
 * decodes unchanged; joulemon's own additions are marked below and documented in the README.
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"

export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const
export type LogLevelName = (typeof LOG_LEVELS)[number]

export const LOG_FORMATS = ["text", "json"] as const
export type LogFormat = (typeof LOG_FORMATS)[number]

/**
 * How node idle energy is charged to workloads (monitor.idlePolicy): `none` keeps it at node
 * level (Kepler), `cpu-share` splits it like active energy, `equal` per running container and
 * VM, `requests` over Kubernetes pods by their CPU requests.
 */
export const IDLE_POLICIES = ["none", "cpu-share", "equal", "requests"] as const
export type IdlePolicy = (typeof IDLE_POLICIES)[number]

/**
 * How CPU time that no scanned process shows is accounted (monitor.shortLived): `none` splits
 * active energy over the processes seen at two scans (Kepler); `cgroup` also reads each
 * container's cgroup CPU usage, books what its seen processes do not cover to that container as
 * short-lived work, and leaves the rest of /proc/stat's active time as an explicit node residual.
 */
export const SHORT_LIVED_MODES = ["none", "cgroup"] as const
export type ShortLivedMode = (typeof SHORT_LIVED_MODES)[number]

/** Where a refresh reads its files: a worker process (default), or joulemon's own thread. */
export const COLLECTOR_MODES = ["worker", "inline"] as const
export type CollectorMode = (typeof COLLECTOR_MODES)[number]

/** Canonical order, as Kepler serialises them. */
export const METRICS_LEVELS = ["node", "process", "container", "vm", "pod"] as const
export type MetricsLevel = (typeof METRICS_LEVELS)[number]

/** `model` is joulemon's estimator for machines without sensors (Kepler has none). */
export const METER_NAMES = ["rapl", "hwmon", "model", "fake"] as const
export type MeterName = (typeof METER_NAMES)[number]

/** `nvml` reads NVIDIA GPUs through the driver's library; `fake` invents two GPUs for development. */
export const GPU_METER_NAMES = ["nvml", "fake"] as const
export type GpuMeterName = (typeof GPU_METER_NAMES)[number]

export const POD_INFORMER_MODES = ["kubelet", "apiserver"] as const
export type PodInformerMode = (typeof POD_INFORMER_MODES)[number]

export interface HwmonChipRule {
  readonly name: string
  /** voltage index → current index */
  readonly pairings: Readonly<Record<string, number>>
  readonly skipVoltages: ReadonlyArray<number>
  readonly skipCurrents: ReadonlyArray<number>
  readonly useSameIndex: boolean
}

export interface JoulemonConfig {
  readonly log: {
    readonly level: LogLevelName
    readonly format: LogFormat
  }
  readonly host: {
    readonly sysfs: string
    readonly procfs: string
  }
  readonly monitor: {
    /** 0 disables the periodic loop (on-demand refresh). */
    readonly interval: Duration.Duration
    readonly staleness: Duration.Duration
    /** <0 unlimited, 0 disabled, N top-N by primary-zone energy. */
    readonly maxTerminated: number
    /** joules; terminated workloads below this in the primary zone are dropped. */
    readonly minTerminatedEnergyThreshold: number
    /** joulemon: bound on the I/O fan-out of one refresh (1 = sequential). */
    readonly parallelism: number
    /** joulemon: a zone delta implying more than this many watts is a glitch and is dropped. */
    readonly maxPlausibleWatts: number
    /** joulemon: `worker` reads files in a child process a stuck read cannot freeze. */
    readonly collector: CollectorMode
    /** joulemon: where cumulative counters are checkpointed to survive a restart; "" = off. */
    readonly stateDir: string
    /** joulemon: how node idle energy is charged to containers, VMs and pods (none = Kepler). */
    readonly idlePolicy: IdlePolicy
    /** joulemon: `cgroup` books work of processes that lived between two scans (none = Kepler). */
    readonly shortLived: ShortLivedMode
  }
  readonly cpu: {
    readonly preferredMeters: ReadonlyArray<MeterName>
    /** joulemon: the linear estimator used by the `model` meter. */
    readonly model: {
      readonly idleWattsPerCpu: number
      readonly busyWattsPerCpu: number
    }
  }
  readonly rapl: {
    readonly zones: ReadonlyArray<string>
  }
  readonly exporter: {
    readonly stdout: { readonly enabled: boolean }
    readonly prometheus: {
      readonly enabled: boolean
      readonly debugCollectors: ReadonlyArray<string>
      /** Deduplicated, in canonical METRICS_LEVELS order. Empty list in YAML means all. */
      readonly metricsLevel: ReadonlyArray<MetricsLevel>
      /**
       * joulemon: export at most this many processes (the top ones by energy) and fold the rest
       * into one `comm="other"` series per state and zone; 0 exports every process (Kepler).
       */
      readonly maxProcesses: number
    }
  }
  readonly debug: {
    readonly pprof: { readonly enabled: boolean }
  }
  readonly web: {
    readonly configFile: string
    readonly listenAddresses: ReadonlyArray<string>
  }
  readonly kube: {
    readonly enabled: boolean
    readonly config: string
    /** Hostname when Kubernetes is off and no name was configured. */
    readonly nodeName: string
    readonly podInformer: {
      readonly mode: PodInformerMode
      readonly pollInterval: Duration.Duration
    }
  }
  readonly dev: {
    /** YAML key `dev.fake-cpu-meter` */
    readonly fakeCpuMeter: {
      readonly enabled: boolean
      readonly zones: ReadonlyArray<string>
    }
  }
  readonly experimental: {
    readonly platform: {
      readonly redfish: {
        readonly enabled: boolean
        readonly nodeName: string
        readonly configFile: string
        /** joulemon: 5 s whatever the source (Kepler's is 0 = none from YAML). */
        readonly httpTimeout: Duration.Duration
      }
    }
    readonly hwmon: {
      readonly forceEnabled: boolean
      readonly zones: ReadonlyArray<string>
      readonly chipRules: ReadonlyArray<HwmonChipRule>
    }
    readonly gpu: {
      readonly enabled: boolean
      readonly idlePower: number
      readonly dcgmEndpoint: string
      /** joulemon: which GPU backend to use. */
      readonly meter: GpuMeterName
    }
  }
}

/** The resolved configuration, provided once at the root of the Layer graph. */
export class AppConfig extends Context.Tag("joulemon/AppConfig")<AppConfig, JoulemonConfig>() {}
