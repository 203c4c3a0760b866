/**
 * The GPU families (issue 12): Kepler's exactly — names, labels, help and gating
 * (kepler-behaviour.md §1.3, §1.10; power_collector.go, gpuinfo.go) — plus joulemon's own
 * `joulemon_node_gpu_*` health and residual families. Workload GPU series appear only when the
 * value is > 0, as Kepler's.
 */
import type { MetricsLevel } from "../../config/Config.js"
import type { GpuDeviceStats, GpuSnapshot, GpuUsage } from "../../monitor/gpuAttribution.js"
import type { Snapshot, Workloads } from "../../monitor/snapshot.js"
import { joules } from "../../monitor/snapshot.js"
import type { MetricFamily, Sample } from "./families.js"

const deviceLabels = ["gpu", "gpu_uuid", "gpu_name", "vendor", "node_name"]

const perDevice = (
  gpu: GpuSnapshot,
  nodeName: string,
  name: string,
  help: string,
  type: MetricFamily["type"],
  value: (d: GpuDeviceStats) => number
): MetricFamily => ({
  name,
  help,
  type,
  labelNames: deviceLabels,
  samples: gpu.devices.map((d) => ({ labels: [String(d.index), d.uuid, d.name, d.vendor, nodeName], value: value(d) }))
})

/** `kepler_node_gpu_info`: not gated by metrics level, like Kepler's. */
export const gpuInfoFamilies = (s: Snapshot, nodeName: string): Array<MetricFamily> => {
  const gpu = s.gpu
  if (gpu === undefined || gpu.devices.length === 0) return []
  return [
    perDevice(
      gpu,
      nodeName,
      "kepler_node_gpu_info",
      "GPU device information for mapping index to UUID/name",
      "gauge",
      () => 1
    )
  ]
}

const nodeGpuFamilies = (gpu: GpuSnapshot, nodeName: string): Array<MetricFamily> => [
  perDevice(gpu, nodeName, "kepler_node_gpu_watts", "Total GPU power consumption in watts", "gauge", (d) => d.watts),
  perDevice(
    gpu,
    nodeName,
    "kepler_node_gpu_idle_watts",
    "GPU idle power (auto-detected minimum) in watts",
    "gauge",
    (d) => d.idleWatts
  ),
  perDevice(
    gpu,
    nodeName,
    "kepler_node_gpu_active_watts",
    "GPU active power (total - idle) in watts",
    "gauge",
    (d) => d.activeWatts
  ),
  perDevice(
    gpu,
    nodeName,
    "kepler_node_gpu_joules_total",
    "Energy consumption of gpu at node level in joules",
    "counter",
    (d) => joules(d.energyTotal)
  ),
  perDevice(
    gpu,
    nodeName,
    "kepler_node_gpu_active_joules_total",
    "Energy consumption of gpu in active state at node level in joules",
    "counter",
    (d) => joules(d.activeEnergyTotal)
  ),
  perDevice(
    gpu,
    nodeName,
    "kepler_node_gpu_idle_joules_total",
    "Energy consumption of gpu in idle state at node level in joules",
    "counter",
    (d) => joules(d.idleEnergyTotal)
  )
]

/** joulemon's additions: where GPU energy went that no process took, and how reads fared. */
const joulemonGpuFamilies = (gpu: GpuSnapshot, nodeName: string): Array<MetricFamily> => [
  perDevice(
    gpu,
    nodeName,
    "joulemon_node_gpu_unattributed_joules_total",
    "Active GPU energy no visible process took (its processes are in another PID namespace, or none ran), in joules",
    "counter",
    (d) => joules(d.unattributedEnergyTotal)
  ),
  perDevice(
    gpu,
    nodeName,
    "joulemon_node_gpu_measured",
    "1 when the GPU's energy comes from its hardware energy counter, 0 when it is power integrated over time",
    "gauge",
    (d) => (d.energyCounter ? 1 : 0)
  ),
  perDevice(
    gpu,
    nodeName,
    "joulemon_node_gpu_read_errors_total",
    "Failed GPU readings (NVML errors, timeouts); a counter's energy is booked at the next good read",
    "counter",
    (d) => d.readErrors
  ),
  perDevice(
    gpu,
    nodeName,
    "joulemon_node_gpu_lost_total",
    "Readings that found the GPU lost (NVML_ERROR_GPU_IS_LOST: fallen off the bus, driver reloading)",
    "counter",
    (d) => d.losses
  ),
  perDevice(
    gpu,
    nodeName,
    "joulemon_node_gpu_resets_total",
    "GPU energy counter resets (went backwards, e.g. after a driver reload); that interval is dropped",
    "counter",
    (d) => d.resets
  ),
  perDevice(
    gpu,
    nodeName,
    "joulemon_node_gpu_glitches_total",
    "GPU intervals dropped because the delta implied implausible power",
    "counter",
    (d) => d.glitches
  )
]

type State = "running" | "terminated"

/**
 * Joules and watts of one workload level: running entries, then terminated ones whose label set
 * is not already out (a reused PID must not duplicate a series), each only when > 0.
 */
const workloadGpuFamilies = <W>(
  level: "process" | "container" | "pod",
  workloads: Workloads<W>,
  usage: ReadonlyMap<string, GpuUsage>,
  key: (w: W) => string,
  labelNames: ReadonlyArray<string>,
  labels: (w: W, state: State) => ReadonlyArray<string>
): Array<MetricFamily> => {
  const rows = function*(): Generator<{ readonly labels: ReadonlyArray<string>; readonly usage: GpuUsage }> {
    const seen = new Set<string>()
    for (const [list, state] of [[workloads.running, "running"], [workloads.terminated, "terminated"]] as const) {
      for (const w of list) {
        const u = usage.get(key(w))
        if (u === undefined) continue
        const l = labels(w, state)
        const id = l.join("\u0000")
        if (seen.has(id)) continue
        seen.add(id)
        yield { labels: l, usage: u }
      }
    }
  }
  const samples = (value: (u: GpuUsage) => number): Iterable<Sample> => ({
    *[Symbol.iterator]() {
      for (const r of rows()) {
        const v = value(r.usage)
        if (v > 0) yield { labels: r.labels, value: v }
      }
    }
  })
  return [
    {
      name: `kepler_${level}_gpu_joules_total`,
      help: `Energy consumption of gpu at ${level} level in joules`,
      type: "counter",
      labelNames,
      samples: samples((u) => joules(u.energy))
    },
    {
      name: `kepler_${level}_gpu_watts`,
      help: `Power consumption of gpu at ${level} level in watts`,
      type: "gauge",
      labelNames,
      samples: samples((u) => u.watts)
    }
  ]
}

/** Every gated GPU family at the configured levels; none without GPUs. */
export const gpuFamilies = (
  s: Snapshot,
  levels: ReadonlySet<MetricsLevel>,
  nodeName: string
): Array<MetricFamily> => {
  const gpu = s.gpu
  if (gpu === undefined || gpu.devices.length === 0) return []
  const out: Array<MetricFamily> = []
  if (levels.has("node")) out.push(...nodeGpuFamilies(gpu, nodeName), ...joulemonGpuFamilies(gpu, nodeName))
  if (levels.has("process")) {
    out.push(
      ...workloadGpuFamilies(
        "process",
        s.processes,
        gpu.processes,
        (p) => p.key,
        ["pid", "comm", "exe", "type", "state", "container_id", "vm_id", "node_name"],
        (p, state) => [String(p.pid), p.comm, p.exe, p.type, state, p.containerId, p.vmId, nodeName]
      )
    )
  }
  if (levels.has("container")) {
    out.push(
      ...workloadGpuFamilies(
        "container",
        s.containers,
        gpu.containers,
        (c) => c.id,
        ["container_id", "container_name", "runtime", "state", "pod_id", "node_name"],
        (c, state) => [c.id, c.name, c.runtime, state, c.podId, nodeName]
      )
    )
  }
  if (levels.has("pod")) {
    out.push(
      ...workloadGpuFamilies(
        "pod",
        s.pods,
        gpu.pods,
        (p) => p.id,
        ["pod_id", "pod_name", "pod_namespace", "state", "node_name"],
        (p, state) => [p.id, p.name, p.namespace, state, nodeName]
      )
    )
  }
  return out
}
