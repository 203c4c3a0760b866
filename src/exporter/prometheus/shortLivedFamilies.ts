/**
 * joulemon's short-lived families (`monitor.shortLived: cgroup`, issue 13): the part of each
 * container's and pod's energy that comes from CPU time its cgroup used beyond the processes
 * joulemon saw at two scans. It is already inside Kepler's `kepler_container_cpu_joules_total`
 * and `kepler_pod_cpu_joules_total` (a container is Σ its seen and unseen work); these families
 * say how much of it was unseen. Nothing is exported under `none`.
 */
import type { MetricsLevel } from "../../config/Config.js"
import type { Snapshot } from "../../monitor/snapshot.js"
import type { MetricFamily } from "./families.js"
import { workloadZoneRows } from "./workloadRows.js"

export const shortLivedFamilies = (
  s: Snapshot,
  levels: ReadonlySet<MetricsLevel>,
  nodeName: string
): Array<MetricFamily> => {
  const totals = s.shortLived
  if (totals === undefined) return []
  const out: Array<MetricFamily> = []
  if (levels.has("container")) {
    out.push({
      name: "joulemon_container_short_lived_joules_total",
      help:
        "Energy of CPU time the container's cgroup used beyond the processes seen at two readings (processes that started and exited in between), in joules; included in kepler_container_cpu_joules_total",
      type: "counter",
      labelNames: ["container_id", "container_name", "runtime", "pod_id", "state", "zone", "node_name"],
      samples: workloadZoneRows(
        s,
        s.containers,
        totals.containers,
        (c) => [c.id, c.name, c.runtime, c.podId],
        [nodeName]
      )
    })
  }
  if (levels.has("pod")) {
    out.push({
      name: "joulemon_pod_short_lived_joules_total",
      help:
        "Σ of the pod's containers' short-lived energy (joulemon_container_short_lived_joules_total), in joules; included in kepler_pod_cpu_joules_total",
      type: "counter",
      labelNames: ["pod_id", "pod_name", "pod_namespace", "state", "zone", "node_name"],
      samples: workloadZoneRows(s, s.pods, totals.pods, (p) => [p.id, p.name, p.namespace], [nodeName])
    })
  }
  return out
}
