/**
 * The pure part of loading: defaults ← file ← flags, then Kepler's clean-ups (kepler-behaviour.md
 * §2.1, §2.6) on the layered value. No I/O: the hostname is passed in.
 */
import { METER_NAMES } from "./Config.js"
import { defaultConfig } from "./defaults.js"
import { fromDuration } from "./duration.js"
import { type ConfigPatch, overlay, type RawConfig, toRawConfig } from "./RawConfig.js"

export interface Resolved {
  readonly raw: RawConfig
  readonly warnings: ReadonlyArray<string>
}

const trimAll = (values: ReadonlyArray<string>): ReadonlyArray<string> => values.map((v) => v.trim())

/** Kepler's `sanitize()`: trims exactly the fields it trims. */
export const sanitize = (raw: RawConfig): RawConfig => ({
  ...raw,
  log: { level: raw.log.level.trim(), format: raw.log.format.trim() },
  host: { sysfs: raw.host.sysfs.trim(), procfs: raw.host.procfs.trim() },
  monitor: { ...raw.monitor, stateDir: raw.monitor.stateDir.trim() },
  web: { configFile: raw.web.configFile.trim(), listenAddresses: trimAll(raw.web.listenAddresses) },
  cpu: { ...raw.cpu, preferredMeters: trimAll(raw.cpu.preferredMeters) },
  rapl: { zones: trimAll(raw.rapl.zones) },
  exporter: {
    ...raw.exporter,
    prometheus: {
      ...raw.exporter.prometheus,
      debugCollectors: trimAll(raw.exporter.prometheus.debugCollectors)
    }
  },
  kube: { ...raw.kube, config: raw.kube.config.trim() },
  experimental: {
    ...raw.experimental,
    platform: {
      redfish: {
        ...raw.experimental.platform.redfish,
        nodeName: raw.experimental.platform.redfish.nodeName.trim(),
        configFile: raw.experimental.platform.redfish.configFile.trim()
      }
    },
    hwmon: { ...raw.experimental.hwmon, zones: trimAll(raw.experimental.hwmon.zones) }
  }
})

/**
 * Node names: with Kubernetes off and no name given, the hostname (Kepler §2.1 step 5); Redfish,
 * when on, uses its own name, else the Kubernetes node name, else the hostname (Kepler's order).
 */
const resolveNodeNames = (raw: RawConfig, hostname: string): RawConfig => {
  const nodeName = !raw.kube.enabled && raw.kube.nodeName === "" ? hostname : raw.kube.nodeName
  const redfish = raw.experimental.platform.redfish
  const redfishNodeName = !redfish.enabled
    ? redfish.nodeName
    : [redfish.nodeName, nodeName.trim(), hostname].find((name) => name !== "") ?? ""
  return {
    ...raw,
    kube: { ...raw.kube, nodeName },
    experimental: {
      ...raw.experimental,
      platform: { redfish: { ...redfish, nodeName: redfishNodeName } }
    }
  }
}

/** Kepler's pod informer reads `pollInterval: 0` as its default; say so in the value itself. */
const resolvePollInterval = (raw: RawConfig): RawConfig =>
  raw.kube.podInformer.pollInterval !== 0n
    ? raw
    : {
      ...raw,
      kube: {
        ...raw.kube,
        podInformer: {
          ...raw.kube.podInformer,
          pollInterval: fromDuration(defaultConfig.kube.podInformer.pollInterval)
        }
      }
    }

const deprecation = (key: string, meter: (typeof METER_NAMES)[number]): string =>
  `${key} is deprecated; set cpu.preferredMeters: ["${meter}"] instead`

/** Kepler §2.6: the legacy switches win over an explicit `cpu.preferredMeters`, with a warning. */
const applyMeterDeprecations = (raw: RawConfig): Resolved => {
  const withMeters = (meters: ReadonlyArray<string>): RawConfig => ({
    ...raw,
    cpu: { ...raw.cpu, preferredMeters: meters }
  })
  if (raw.dev.fakeCpuMeter.enabled) {
    return { raw: withMeters(["fake"]), warnings: [deprecation("dev.fake-cpu-meter.enabled", "fake")] }
  }
  if (raw.experimental.hwmon.forceEnabled) {
    return {
      raw: withMeters(["hwmon"]),
      warnings: [deprecation("experimental.hwmon.forceEnabled", "hwmon")]
    }
  }
  return { raw, warnings: [] }
}

/** The GPU flags Kepler's `applyGPUConfig` applies only when GPU power is on, by their patch key. */
const GPU_ONLY_FLAGS = [
  ["idlePower", "experimental.gpu.idle-power"],
  ["dcgmEndpoint", "experimental.gpu.dcgm-endpoint"]
] as const

/**
 * Kepler applies `--experimental.gpu.idle-power` and `--experimental.gpu.dcgm-endpoint` only
 * when GPU power is on once the file and the `--experimental.gpu.enabled` flag are combined;
 * otherwise it drops them without a word. They are dropped here too (so the config is Kepler's),
 * with a warning, since whoever passed one evidently expected it to do something. Only the flag
 * layer is gated: the same keys in the file stay, as they do in Kepler.
 */
const gateGpuFlags = (file: ConfigPatch, flags: ConfigPatch):
  & { readonly flags: ConfigPatch }
  & Pick<
    Resolved,
    "warnings"
  > =>
{
  const gpu = flags.experimental?.gpu
  if (gpu === undefined) return { flags, warnings: [] }
  const enabled = gpu.enabled ?? file.experimental?.gpu?.enabled ?? defaultConfig.experimental.gpu.enabled
  const given = GPU_ONLY_FLAGS.filter(([key]) => gpu[key] !== undefined)
  if (enabled || given.length === 0) return { flags, warnings: [] }
  return {
    flags: {
      ...flags,
      experimental: { ...flags.experimental, gpu: { ...gpu, idlePower: undefined, dcgmEndpoint: undefined } }
    },
    warnings: given.map(([, flag]) =>
      `--${flag} is ignored: it applies only when GPU power is on (experimental.gpu.enabled or --experimental.gpu.enabled), as in Kepler`
    )
  }
}

/**
 * defaults ← file ← flags, trimmed, node names and legacy meter switches resolved; ready for
 * `validate`. Unlike Kepler, the `experimental` section is never dropped, so
 * `experimental.hwmon.zones` and `chipRules` work with `cpu.preferredMeters: [hwmon]`.
 */
export const resolveConfig = (file: ConfigPatch, flags: ConfigPatch, hostname: string): Resolved => {
  const gated = gateGpuFlags(file, flags)
  const layered = overlay<RawConfig>(overlay<RawConfig>(toRawConfig(defaultConfig), file), gated.flags)
  const resolved = applyMeterDeprecations(resolvePollInterval(resolveNodeNames(sanitize(layered), hostname)))
  return { raw: resolved.raw, warnings: [...gated.warnings, ...resolved.warnings] }
}
