import { describe, expect, it } from "@effect/vitest"
import { PLATFORM_LABEL_NAMES, platformFamilies } from "../../src/exporter/prometheus/platformFamilies.js"
import { renderFamilies } from "../../src/exporter/prometheus/render.js"
import type { PlatformReading } from "../../src/platform/PlatformPower.js"

const reading = (over: Partial<PlatformReading>): PlatformReading => ({
  source: "redfish",
  nodeName: "worker-1",
  bmcId: "bmc-1",
  chassisId: "1U",
  sourceId: "PS1",
  sourceName: "Power Supply 1",
  sourceType: "PowerSupply",
  watts: 268,
  microjoulesTotal: 2_680_000_000n,
  joulesTotal: 2680,
  ...over
})

describe("platformFamilies", () => {
  it("gives kepler_platform_watts and kepler_platform_joules_total with Kepler's labels in Kepler's order", () => {
    const families = platformFamilies([
      reading({}),
      reading({
        chassisId: "2U",
        sourceId: "0",
        sourceName: "Server Power Control",
        sourceType: "PowerControl",
        watts: 450,
        joulesTotal: 0.5
      })
    ])
    expect(PLATFORM_LABEL_NAMES).toEqual([
      "source",
      "node_name",
      "bmc_id",
      "chassis_id",
      "source_id",
      "source_name",
      "source_type"
    ])
    expect(families).toEqual([
      {
        name: "kepler_platform_watts",
        help: "Current platform power in watts from BMC (PowerSubsystem or deprecated Power API)",
        type: "gauge",
        labelNames: PLATFORM_LABEL_NAMES,
        samples: [
          { labels: ["redfish", "worker-1", "bmc-1", "1U", "PS1", "Power Supply 1", "PowerSupply"], value: 268 },
          { labels: ["redfish", "worker-1", "bmc-1", "2U", "0", "Server Power Control", "PowerControl"], value: 450 }
        ]
      },
      {
        name: "kepler_platform_joules_total",
        help: "Energy consumption of the platform in joules (integrated from BMC power readings)",
        type: "counter",
        labelNames: PLATFORM_LABEL_NAMES,
        samples: [
          { labels: ["redfish", "worker-1", "bmc-1", "1U", "PS1", "Power Supply 1", "PowerSupply"], value: 2680 },
          { labels: ["redfish", "worker-1", "bmc-1", "2U", "0", "Server Power Control", "PowerControl"], value: 0.5 }
        ]
      }
    ])
  })

  it("no readings, no families (Kepler emits nothing while the BMC is unavailable)", () => {
    expect(platformFamilies([])).toEqual([])
  })

  it("renders as Prometheus text", async () => {
    const text = await renderFamilies(platformFamilies([reading({})]), "prometheus")
    const labels =
      "source=\"redfish\",node_name=\"worker-1\",bmc_id=\"bmc-1\",chassis_id=\"1U\",source_id=\"PS1\",source_name=\"Power Supply 1\",source_type=\"PowerSupply\""
    expect(text).toContain("# TYPE kepler_platform_watts gauge\n")
    expect(text).toContain(`kepler_platform_watts{${labels}} 268\n`)
    expect(text).toContain("# TYPE kepler_platform_joules_total counter\n")
    expect(text).toContain(`kepler_platform_joules_total{${labels}} 2680\n`)
  })
})
