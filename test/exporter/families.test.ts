import { describe, expect, it } from "@effect/vitest"
import { METRICS_LEVELS, type MetricsLevel } from "../../src/config/Config.js"
import { type MetricFamily, snapshotFamilies } from "../../src/exporter/prometheus/families.js"
import { renderFamilies } from "../../src/exporter/prometheus/render.js"
import { attribute, initialMonitorState } from "../../src/monitor/attribute.js"
import type { Snapshot } from "../../src/monitor/snapshot.js"
import { energy, J, node, proc, reading, SECOND, zoneMeta } from "../support/readings.js"

const cid = "a".repeat(64)
const zones = [zoneMeta("package", J(1000)), zoneMeta("dram", J(1000))]
const config = { maxPlausibleWatts: 5000, maxTerminated: -1, minTerminatedEnergy: 0n, primaryZone: 0 }

/** Two refreshes: pid 7 runs, then exits and a new process reuses pid 7 with the same comm/exe. */
const snapshotWithReusedPid = (): Snapshot => {
  const first = attribute(
    initialMonitorState(2),
    {
      nowNanos: 0n,
      timestamp: 0,
      zones,
      samples: [energy(0n), energy(0n)],
      resources: reading(node(0, 0, true), [proc(7, 10)]),
      clearTerminated: false
    },
    config
  )
  const second = attribute(
    first.state,
    {
      nowNanos: SECOND,
      timestamp: 1000,
      zones,
      samples: [energy(J(30)), energy(J(5))],
      resources: reading(node(50, 100), [proc(7, 10)], {}),
      clearTerminated: false
    },
    config
  )
  return attribute(
    second.state,
    {
      nowNanos: 2n * SECOND,
      timestamp: 2000,
      zones,
      samples: [energy(J(60)), energy(J(10))],
      resources: reading(
        node(50, 100),
        [
          proc(7, 10, { key: "7:99", startTime: 99, firstSeen: true }),
          proc(8, 10, { containerId: cid }),
          proc(9, 10, { vmId: "vm-1" })
        ],
        {
          containers: [{ id: cid, name: "web", runtime: "containerd", podId: "uid-1" }],
          vms: [{ id: "vm-1", name: "guest", hypervisor: "kvm" }],
          pods: [{ id: "uid-1", name: "web-0", namespace: "shop" }],
          terminated: { processes: ["7:1"] }
        }
      ),
      clearTerminated: false
    },
    config
  ).snapshot
}

/** The families with their (lazy) samples materialised, for array assertions. */
const materialised = (families: ReadonlyArray<MetricFamily>) =>
  families.map((f) => ({ ...f, samples: Array.from(f.samples) }))

const familiesAt = (levels: ReadonlyArray<MetricsLevel>) =>
  materialised(snapshotFamilies(snapshotWithReusedPid(), { levels: new Set(levels), nodeName: "node-a" }))

describe("snapshotFamilies", () => {
  it("emits exactly Kepler's family names at all levels", () => {
    expect(familiesAt(METRICS_LEVELS).map((f) => f.name).sort()).toEqual(
      [
        "kepler_node_cpu_joules_total",
        "kepler_node_cpu_active_joules_total",
        "kepler_node_cpu_idle_joules_total",
        "kepler_node_cpu_watts",
        "kepler_node_cpu_active_watts",
        "kepler_node_cpu_idle_watts",
        "kepler_node_cpu_usage_ratio",
        "kepler_process_cpu_joules_total",
        "kepler_process_cpu_watts",
        "kepler_process_cpu_seconds_total",
        "kepler_container_cpu_joules_total",
        "kepler_container_cpu_watts",
        "kepler_container_cpu_seconds_total",
        "kepler_vm_cpu_joules_total",
        "kepler_vm_cpu_watts",
        "kepler_pod_cpu_joules_total",
        "kepler_pod_cpu_watts"
      ].sort()
    )
  })

  it("declares Kepler's label sets plus the constant node_name", () => {
    const labels = Object.fromEntries(familiesAt(METRICS_LEVELS).map((f) => [f.name, [...f.labelNames].sort()]))
    expect(labels["kepler_node_cpu_watts"]).toEqual(["node_name", "path", "zone"])
    expect(labels["kepler_node_cpu_usage_ratio"]).toEqual(["node_name"])
    expect(labels["kepler_process_cpu_joules_total"]).toEqual(
      ["comm", "container_id", "exe", "node_name", "pid", "state", "type", "vm_id", "zone"].sort()
    )
    expect(labels["kepler_process_cpu_seconds_total"]).toEqual(
      ["comm", "container_id", "exe", "node_name", "pid", "type", "vm_id"].sort()
    )
    expect(labels["kepler_container_cpu_watts"]).toEqual(
      ["container_id", "container_name", "node_name", "pod_id", "runtime", "state", "zone"].sort()
    )
    expect(labels["kepler_container_cpu_seconds_total"]).toEqual(
      ["container_id", "container_name", "node_name", "pod_id", "runtime", "state"].sort()
    )
    expect(labels["kepler_vm_cpu_watts"]).toEqual(
      ["hypervisor", "node_name", "state", "vm_id", "vm_name", "zone"].sort()
    )
    expect(labels["kepler_pod_cpu_watts"]).toEqual(
      ["node_name", "pod_id", "pod_name", "pod_namespace", "state", "zone"].sort()
    )
    for (const f of familiesAt(METRICS_LEVELS)) {
      for (const s of f.samples) expect(s.labels[f.labelNames.indexOf("node_name")]).toBe("node-a")
    }
  })

  it("uses Kepler's help texts", () => {
    const help = Object.fromEntries(familiesAt(METRICS_LEVELS).map((f) => [f.name, f.help]))
    expect(help["kepler_node_cpu_joules_total"]).toBe("Energy consumption of cpu at node level in joules")
    expect(help["kepler_node_cpu_active_watts"]).toBe("Power consumption of cpu in active state at node level in watts")
    expect(help["kepler_node_cpu_idle_joules_total"]).toBe(
      "Energy consumption of cpu in idle state at node level in joules"
    )
    expect(help["kepler_process_cpu_seconds_total"]).toBe(
      "Total user and system time of cpu at process level in seconds"
    )
    expect(help["kepler_pod_cpu_watts"]).toBe("Power consumption of cpu at pod level in watts")
    expect(help["kepler_node_cpu_usage_ratio"]).toBe("CPU usage ratio of a node (value between 0.0 and 1.0)")
  })

  it("gates families by level: node only removes every workload family", () => {
    expect(familiesAt(["node"]).every((f) => f.name.startsWith("kepler_node_"))).toBe(true)
    expect(familiesAt(["process"]).every((f) => f.name.startsWith("kepler_process_"))).toBe(true)
    expect(familiesAt([])).toEqual([])
  })

  it("never emits a duplicate series, even when a reused pid has a terminated twin", () => {
    const families = familiesAt(METRICS_LEVELS)
    for (const f of families) {
      const keys = f.samples.map((s) => s.labels.join("\u0000"))
      expect(new Set(keys).size).toBe(keys.length)
    }
    const seconds = families.find((f) => f.name === "kepler_process_cpu_seconds_total")
    // The running pid 7 and the terminated pid 7 share labels: only the running one remains.
    expect(seconds?.samples.filter((s) => s.labels[0] === "7")).toHaveLength(1)
    const joules = families.find((f) => f.name === "kepler_process_cpu_joules_total")
    const at = (name: string) => joules?.labelNames.indexOf(name) ?? -1
    const states = joules?.samples
      .filter((s) => s.labels[at("pid")] === "7" && s.labels[at("zone")] === "package")
      .map((s) => s.labels[at("state")])
    expect(states?.sort()).toEqual(["running", "terminated"])
  })

  it("exports joules from µJ and keeps Σ process watts = node active watts", () => {
    const s = snapshotWithReusedPid()
    const families = materialised(snapshotFamilies(s, { levels: new Set(METRICS_LEVELS), nodeName: "n" }))
    const watts = families.find((f) => f.name === "kepler_process_cpu_watts")
    const active = families.find((f) => f.name === "kepler_node_cpu_active_watts")
    const at = (name: string) => watts?.labelNames.indexOf(name) ?? -1
    for (const zone of ["package", "dram"]) {
      const sum = (watts?.samples ?? [])
        .filter((x) => x.labels[at("state")] === "running" && x.labels[at("zone")] === zone)
        .reduce((a, x) => a + x.value, 0)
      expect(sum).toBeCloseTo(active?.samples.find((x) => x.labels[0] === zone)?.value ?? NaN, 9)
    }
  })

  it("renders both text formats, and OpenMetrics ends with # EOF", async () => {
    const families = familiesAt(METRICS_LEVELS)
    const text = await renderFamilies(families, "prometheus")
    expect(text).toContain("# TYPE kepler_node_cpu_joules_total counter")
    expect(text).toMatch(/kepler_node_cpu_watts\{zone="package",path="[^"]+",node_name="node-a"\} 30\n/)
    const om = await renderFamilies(families, "openmetrics")
    expect(om).toContain("# TYPE kepler_node_cpu_joules counter")
    expect(om.trimEnd().endsWith("# EOF")).toBe(true)
  })
})
