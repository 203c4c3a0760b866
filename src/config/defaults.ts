import * as Duration from "effect/Duration"
import type { JoulemonConfig } from "./Config.js"
import { METRICS_LEVELS } from "./Config.js"

/**
 * Kepler's defaults (kepler-behaviour.md §2.2) with joulemon's deliberate changes:
 * - `cpu.preferredMeters` falls back to the `model` estimator so a machine without sensors
 *   still runs (marked as estimated everywhere);
 * - `kube.nodeName` stays "" here; the loader fills in the hostname when Kubernetes is off;
 * - the Redfish HTTP timeout is 5 s whatever the config source.
 */
export const defaultConfig: JoulemonConfig = {
  log: { level: "info", format: "text" },
  host: { sysfs: "/sys", procfs: "/proc" },
  monitor: {
    interval: Duration.seconds(5),
    staleness: Duration.millis(500),
    maxTerminated: 500,
    minTerminatedEnergyThreshold: 10,
    parallelism: 8,
    maxPlausibleWatts: 5000,
    collector: "worker",
    stateDir: "",
    idlePolicy: "none",
    shortLived: "none"
  },
  cpu: {
    preferredMeters: ["rapl", "hwmon", "model"],
    model: { idleWattsPerCpu: 0.8, busyWattsPerCpu: 3.0 }
  },
  rapl: { zones: [] },
  exporter: {
    stdout: { enabled: false },
    prometheus: { enabled: true, debugCollectors: ["go"], metricsLevel: METRICS_LEVELS, maxProcesses: 0 }
  },
  debug: { pprof: { enabled: false } },
  web: { configFile: "", listenAddresses: [":28282"] },
  kube: {
    enabled: false,
    config: "",
    nodeName: "",
    podInformer: { mode: "kubelet", pollInterval: Duration.seconds(15) }
  },
  dev: { fakeCpuMeter: { enabled: false, zones: [] } },
  experimental: {
    platform: {
      redfish: { enabled: false, nodeName: "", configFile: "", httpTimeout: Duration.seconds(5) }
    },
    hwmon: { forceEnabled: false, zones: [], chipRules: [] },
    gpu: { enabled: false, idlePower: 0, dcgmEndpoint: "", meter: "nvml" }
  }
}
