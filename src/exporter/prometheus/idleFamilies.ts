/**
 * joulemon's idle-allocation families (`monitor.idlePolicy`, issue 13): the node idle energy
 * charged to each container, VM and pod, and the part that stayed at node level, per zone, with
 * the policy as a label. Kepler's families are untouched; nothing is exported under `none`.
 */
import type { MetricsLevel } from "../../config/Config.js"
import type { Snapshot } from "../../monitor/snapshot.js"
import { joules } from "../../monitor/snapshot.js"
import type { MetricFamily, Sample } from "./families.js"
import { workloadZoneRows } from "./workloadRows.js"

type Level = "container" | "vm" | "pod"

const family = (level: Level, identityNames: ReadonlyArray<string>, samples: Iterable<Sample>): MetricFamily => ({
  name: `joulemon_${level}_cpu_idle_joules_total`,
  help:
    `Node idle energy charged to the ${level} under monitor.idlePolicy (Kepler keeps idle at node level), in joules`,
  type: "counter",
  labelNames: [...identityNames, "state", "zone", "policy", "node_name"],
  samples
})

export const idleFamilies = (
  s: Snapshot,
  levels: ReadonlySet<MetricsLevel>,
  nodeName: string
): Array<MetricFamily> => {
  const idle = s.idle
  if (idle === undefined || idle.policy === "none") return []
  const policy = idle.policy
  const out: Array<MetricFamily> = []
  if (levels.has("node")) {
    out.push({
      name: "joulemon_node_cpu_idle_unallocated_joules_total",
      help:
        "Node idle energy that monitor.idlePolicy left at node level (processes outside containers and VMs, or no workload to charge), in joules",
      type: "counter",
      labelNames: ["zone", "policy", "node_name"],
      samples: s.zones.map((zone, z) => ({
        labels: [zone.name, policy, nodeName],
        value: joules(idle.nodeLevel[z] ?? 0n)
      }))
    })
  }
  if (levels.has("container")) {
    out.push(family(
      "container",
      ["container_id", "container_name", "runtime", "pod_id"],
      workloadZoneRows(s, s.containers, idle.containers, (c) => [c.id, c.name, c.runtime, c.podId], [policy, nodeName])
    ))
  }
  if (levels.has("vm")) {
    out.push(family(
      "vm",
      ["vm_id", "vm_name", "hypervisor"],
      workloadZoneRows(s, s.vms, idle.vms, (v) => [v.id, v.name, v.hypervisor], [policy, nodeName])
    ))
  }
  if (levels.has("pod")) {
    out.push(family(
      "pod",
      ["pod_id", "pod_name", "pod_namespace"],
      workloadZoneRows(s, s.pods, idle.pods, (p) => [p.id, p.name, p.namespace], [policy, nodeName])
    ))
  }
  return out
}
