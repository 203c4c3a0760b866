/**
 * One short line per flag for `joulemon --help`, which has to fit a screen; the full
 * descriptions (flags.ts) are in `joulemon help flags` and `joulemon help <flag>`. A test checks
 * that every option of every command has a line here.
 */
export const FLAG_SUMMARIES: Readonly<Record<string, string>> = {
  "config.file": "YAML configuration file, Kepler's format",
  "log.level": "logging level (default info)",
  "log.format": "log line format (default text)",
  "host.sysfs": "where the host's /sys is (default /sys)",
  "host.procfs": "where the host's /proc is (default /proc)",
  "monitor.interval": "time between readings; 0 reads on scrape (default 5s)",
  "monitor.max-terminated": "terminated workloads kept, top N by energy (default 500)",
  "monitor.parallelism": "reads run at once during a reading (default 8)",
  "monitor.state-dir": "checkpoint counters here across restarts (default off)",
  "monitor.idle-policy": "charge idle energy to workloads: none, cpu-share, equal, requests (default none)",
  "monitor.short-lived": "book work of processes that lived between readings: none, cgroup (default none)",
  "exporter.stdout": "print every reading to the terminal (default off)",
  "exporter.prometheus": "serve Prometheus metrics at /metrics (default on)",
  metrics: "metric levels: node, process, container, vm, pod (default all)",
  "debug.pprof": "serve profiling endpoints under /debug/pprof/ (default off)",
  "web.config-file": "TLS and basic auth, exporter-toolkit format",
  "web.listen-address": "address to serve HTTP on (default :28282)",
  "kube.enable": "attribute energy to Kubernetes pods (default off)",
  "kube.config": "kubeconfig file (default: the pod's service account)",
  "kube.node-name": "this node's Kubernetes name (required with --kube.enable)",
  "experimental.platform.redfish.enabled": "platform power from the BMC over Redfish (default off)",
  "experimental.platform.redfish.node-name": "this node's name in the BMC file",
  "experimental.platform.redfish.config-file": "the BMC file: endpoints and credentials",
  "experimental.hwmon.zones": "hwmon power sensor labels to read (default all)",
  "experimental.hwmon.force-enabled": "deprecated: hwmon only; use cpu.preferredMeters (default off)",
  "experimental.hwmon.enabled": "Kepler 0.11's name for --experimental.hwmon.force-enabled",
  "experimental.gpu.enabled": "NVIDIA GPU power through NVML (default off)",
  "experimental.gpu.idle-power": "GPU idle watts, with GPU power on (default 0: detect)",
  "experimental.gpu.dcgm-endpoint": "dcgm-exporter URL for MIG splits, with GPU power on",
  output: "report format: human or json (default human)",
  out: "record: the recording file to write",
  count: "record: stop after N refreshes",
  duration: "record: stop after this long",
  listen: "replay: where to serve /metrics (default 127.0.0.1:28282)",
  pace: "replay: scrape (one refresh per scrape) or recorded (one per recorded interval) (default scrape)",
  interval: "measure: time between readings while the command runs (default 500ms)"
}

/**
 * Deprecated Kepler flags, kept working for Kepler's manifests: out of `joulemon --help` so it
 * fits a screen, listed in `joulemon help flags`.
 */
export const DEPRECATED_FLAGS: ReadonlySet<string> = new Set([
  "experimental.hwmon.force-enabled",
  "experimental.hwmon.enabled"
])
