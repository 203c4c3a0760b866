import { describe, expect, it } from "@effect/vitest"
import { METRICS_LEVELS } from "../../src/config/Config.js"
import { decodeFileConfig, formatPath } from "../../src/config/schema.js"

const S = 1_000_000_000n

describe("decodeFileConfig: values", () => {
  it("decodes an empty document to an empty patch", () => {
    expect(decodeFileConfig(null)).toEqual({ patch: {}, errors: [], unknownFields: [] })
    expect(decodeFileConfig({})).toEqual({ patch: {}, errors: [], unknownFields: [] })
  })

  it("reads durations in Go syntax, and a bare 0", () => {
    const { patch, errors } = decodeFileConfig({ monitor: { interval: "1m30s", staleness: 0 } })
    expect(errors).toEqual([])
    expect(patch).toEqual({ monitor: { interval: 90n * S, staleness: 0n } })
  })

  it("keeps a negative duration signed, for validation to report", () => {
    expect(decodeFileConfig({ monitor: { interval: "-1s" } }).patch).toEqual({ monitor: { interval: -S } })
  })

  it("maps dev.fake-cpu-meter to dev.fakeCpuMeter", () => {
    expect(decodeFileConfig({ dev: { "fake-cpu-meter": { enabled: true, zones: ["package"] } } }).patch).toEqual({
      dev: { fakeCpuMeter: { enabled: true, zones: ["package"] } }
    })
  })

  it("takes YAML 1.1 booleans for boolean keys, as yaml.v3 does", () => {
    const { patch, errors } = decodeFileConfig({
      exporter: { stdout: { enabled: "yes" }, prometheus: { enabled: "off" } },
      debug: { pprof: { enabled: "On" } }
    })
    expect(errors).toEqual([])
    expect(patch).toEqual({
      exporter: { stdout: { enabled: true }, prometheus: { enabled: false } },
      debug: { pprof: { enabled: true } }
    })
  })

  it("takes a YAML number where a string is expected, as yaml.v3 does", () => {
    expect(decodeFileConfig({ kube: { nodeName: 12345 } }).patch).toEqual({ kube: { nodeName: "12345" } })
  })

  it("treats a key with no value (null) as absent", () => {
    const { patch, errors } = decodeFileConfig({ monitor: null, web: { listenAddresses: null, configFile: "x" } })
    expect(errors).toEqual([])
    expect(patch).toEqual({ web: { configFile: "x" } })
  })

  it("fills a chip rule's missing fields with Kepler's zero values", () => {
    const { patch, errors } = decodeFileConfig({
      experimental: { hwmon: { chipRules: [{ name: "ina3221", pairings: { 1: 1, "2": 2 } }] } }
    })
    expect(errors).toEqual([])
    expect(patch).toEqual({
      experimental: {
        hwmon: {
          chipRules: [
            { name: "ina3221", pairings: { "1": 1, "2": 2 }, skipVoltages: [], skipCurrents: [], useSameIndex: false }
          ]
        }
      }
    })
  })

  it("accepts joulemon's keys", () => {
    const { patch, errors, unknownFields } = decodeFileConfig({
      monitor: { parallelism: 4, maxPlausibleWatts: 1200.5 },
      cpu: { model: { idleWattsPerCpu: 1, busyWattsPerCpu: 2.5 } }
    })
    expect(errors).toEqual([])
    expect(unknownFields).toEqual([])
    expect(patch).toEqual({
      monitor: { parallelism: 4, maxPlausibleWatts: 1200.5 },
      cpu: { model: { idleWattsPerCpu: 1, busyWattsPerCpu: 2.5 } }
    })
  })
})

describe("decodeFileConfig: metricsLevel forms", () => {
  const level = (value: unknown) => decodeFileConfig({ exporter: { prometheus: { metricsLevel: value } } })

  it("accepts a single string, case-insensitive and trimmed", () => {
    expect(level(" Node ").patch).toEqual({ exporter: { prometheus: { metricsLevel: ["node"] } } })
  })

  it("accepts a list, deduplicated into canonical order", () => {
    expect(level(["pod", "NODE", "pod"]).patch).toEqual({
      exporter: { prometheus: { metricsLevel: ["node", "pod"] } }
    })
  })

  it("reads an empty list as every level", () => {
    expect(level([]).patch).toEqual({ exporter: { prometheus: { metricsLevel: METRICS_LEVELS } } })
  })

  it("rejects a comma-joined string with Kepler's message", () => {
    expect(level("node,pod").errors).toEqual([
      "exporter.prometheus.metricsLevel: unknown metrics level: node,pod (one of node, process, container, vm, pod)"
    ])
  })

  it("rejects an unknown level in a list", () => {
    expect(level(["node", "cluster"]).errors).toEqual([
      "exporter.prometheus.metricsLevel: unknown metrics level: cluster (one of node, process, container, vm, pod)"
    ])
  })

  it("rejects a value that is neither a string nor a list of strings", () => {
    expect(level(5).errors).toEqual([
      "exporter.prometheus.metricsLevel: expected a metrics level or a list of them (node, process, container, vm, pod), got 5"
    ])
  })
})

describe("decodeFileConfig: shape errors", () => {
  const errorsOf = (input: unknown) => decodeFileConfig(input).errors

  it("names the key and the value for a wrong duration", () => {
    expect(errorsOf({ monitor: { interval: true } })).toEqual([
      "monitor.interval: expected a Go duration like \"5s\", got true"
    ])
  })

  it("rejects a bare integer duration and suggests a unit", () => {
    expect(errorsOf({ monitor: { staleness: 5 } })).toEqual([
      "monitor.staleness: expected a Go duration like \"5s\", got 5: a bare number has no unit; write it with one, e.g. \"5s\" or \"5ms\""
    ])
  })

  it("passes Go's parse error through for a bad duration string", () => {
    expect(errorsOf({ kube: { podInformer: { pollInterval: "15x" } } })).toEqual([
      "kube.podInformer.pollInterval: expected a Go duration like \"5s\", got \"15x\": time: unknown unit \"x\" in duration \"15x\""
    ])
  })

  it("rejects a fraction where an integer is expected", () => {
    expect(errorsOf({ monitor: { maxTerminated: 1.5 } })).toEqual([
      "monitor.maxTerminated: expected an integer, got 1.5"
    ])
  })

  it("rejects a string where a number is expected", () => {
    expect(errorsOf({ cpu: { model: { idleWattsPerCpu: "1W" } } })).toEqual([
      "cpu.model.idleWattsPerCpu: expected a number, got \"1W\""
    ])
  })

  it("rejects a non-boolean", () => {
    expect(errorsOf({ kube: { enabled: "maybe" } })).toEqual(["kube.enabled: expected true or false, got \"maybe\""])
  })

  it("rejects a scalar where a section is expected", () => {
    expect(errorsOf({ monitor: 5 })).toEqual(["monitor: expected a mapping, got 5"])
  })

  it("rejects a scalar where a list is expected", () => {
    expect(errorsOf({ cpu: { preferredMeters: "rapl" } })).toEqual([
      "cpu.preferredMeters: expected a list of strings, got \"rapl\""
    ])
  })

  it("names the index of a bad list item", () => {
    expect(errorsOf({ web: { listenAddresses: [":1", null] } })).toEqual([
      "web.listenAddresses[1]: expected a string, got null"
    ])
    expect(errorsOf({ web: { listenAddresses: [{ a: 1 }] } })).toEqual([
      "web.listenAddresses[0]: expected a string, got a mapping"
    ])
  })

  it("rejects a non-integer pairing index", () => {
    expect(errorsOf({ experimental: { hwmon: { chipRules: [{ pairings: { x: 1 } }] } } })).toEqual([
      "experimental.hwmon.chipRules[0].pairings.x: expected an integer voltage index as key, got \"x\""
    ])
  })

  it("rejects a top level that is not a mapping", () => {
    expect(errorsOf(["a"])).toEqual(["expected a mapping of configuration keys at the top level, got a list"])
  })

  it("reports every shape error and keeps the valid values beside them", () => {
    const decoded = decodeFileConfig({
      monitor: { interval: true, staleness: "250ms", maxTerminated: "ten" },
      web: { listenAddresses: [":1", 2, null] },
      log: { level: "debug" }
    })
    expect(decoded.errors).toEqual([
      "monitor.interval: expected a Go duration like \"5s\", got true",
      "monitor.maxTerminated: expected an integer, got \"ten\"",
      "web.listenAddresses[2]: expected a string, got null"
    ])
    // The bad list is dropped whole (a list replaces the default as a whole); the rest stays.
    expect(decoded.patch).toEqual({ monitor: { staleness: 250_000_000n }, web: {}, log: { level: "debug" } })
  })
})

describe("decodeFileConfig: unknown keys", () => {
  it("collects leaf names, sorted and deduplicated, and still decodes the rest", () => {
    const decoded = decodeFileConfig({
      notASetting: 42,
      log: { level: "info", colour: true },
      cpu: { meters: ["rapl"] },
      experimental: {
        gpu: { dcgmEndpoints: ["x"] },
        hwmon: { chipRules: [{ name: "a", colour: 1 }] }
      }
    })
    expect(decoded.errors).toEqual([])
    expect(decoded.unknownFields).toEqual(["colour", "dcgmEndpoints", "meters", "notASetting"])
    expect(decoded.patch).toEqual({
      log: { level: "info" },
      cpu: {},
      experimental: {
        gpu: {},
        hwmon: { chipRules: [{ name: "a", pairings: {}, skipVoltages: [], skipCurrents: [], useSameIndex: false }] }
      }
    })
  })

  it("reports an unknown key once, not its nested keys", () => {
    expect(decodeFileConfig({ future: { a: 1, b: { c: 2 } } }).unknownFields).toEqual(["future"])
  })

  it("reports unknown keys and shape errors together", () => {
    const decoded = decodeFileConfig({ typo: 1, monitor: { interval: false } })
    expect(decoded.unknownFields).toEqual(["typo"])
    expect(decoded.errors).toEqual(["monitor.interval: expected a Go duration like \"5s\", got false"])
  })
})

describe("formatPath", () => {
  it("joins keys with dots and indexes with brackets", () => {
    expect(formatPath(["web", "listenAddresses", 0])).toBe("web.listenAddresses[0]")
    expect(formatPath(["experimental", "hwmon", "chipRules", 2, "pairings", "1"])).toBe(
      "experimental.hwmon.chipRules[2].pairings.1"
    )
    expect(formatPath([])).toBe("")
  })
})
