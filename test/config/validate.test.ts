import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Either } from "effect"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { ConfigError } from "../../src/config/ConfigError.js"
import { defaultConfig } from "../../src/config/defaults.js"
import { type ConfigPatch, overlay, type RawConfig, toRawConfig } from "../../src/config/RawConfig.js"
import { checkFiles, checkValues, validate } from "../../src/config/validate.js"

const FIXTURES = fileURLToPath(new URL("../fixtures/config/", import.meta.url))
const fixture = (name: string) => path.join(FIXTURES, name)
const S = 1_000_000_000n

/** The defaults, made valid on any machine: fixture host dirs and a node name. */
const baseRaw: RawConfig = overlay<RawConfig>(toRawConfig(defaultConfig), {
  host: { sysfs: fixture("host/sys"), procfs: fixture("host/proc") },
  kube: { nodeName: "test-node" }
})
const raw = (patch: ConfigPatch): RawConfig => overlay<RawConfig>(baseRaw, patch)

/** The violations of the pure rules (none → []). */
const violations = (patch: ConfigPatch): ReadonlyArray<string> =>
  Either.match(checkValues(raw(patch)), { onLeft: (errors) => errors, onRight: () => [] })

const fileViolations = (patch: ConfigPatch) => checkFiles(raw(patch))

const withTempDir = <A, E>(use: (dir: string) => Effect.Effect<A, E>) =>
  Effect.acquireUseRelease(
    Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "joulemon-validate-"))),
    use,
    (dir) => Effect.promise(() => fs.rm(dir, { recursive: true, force: true }))
  )

describe("checkValues: a valid configuration", () => {
  it("resolves the defaults to exactly the default config", () => {
    expect(checkValues(baseRaw)).toEqual(
      Either.right({
        ...defaultConfig,
        host: { sysfs: fixture("host/sys"), procfs: fixture("host/proc") },
        kube: { ...defaultConfig.kube, nodeName: "test-node" }
      })
    )
  })

  it("converts the signed durations to Effect Durations", () => {
    const result = checkValues(raw({ monitor: { interval: 90n * S, staleness: 0n } }))
    expect(Either.isRight(result)).toBe(true)
    if (Either.isRight(result)) {
      expect(Duration.toMillis(result.right.monitor.interval)).toBe(90_000)
      expect(Duration.toMillis(result.right.monitor.staleness)).toBe(0)
    }
  })
})

describe("checkValues: every message", () => {
  const cases: ReadonlyArray<readonly [string, ConfigPatch, string]> = [
    [
      "log level",
      { log: { level: "loud" } },
      "log.level: invalid log level: \"loud\" (one of debug, info, warn, error)"
    ],
    ["log format", { log: { format: "xml" } }, "log.format: invalid log format: \"xml\" (one of text, json)"],
    [
      "negative monitor interval",
      { monitor: { interval: -S } },
      "monitor.interval: invalid monitor interval: -1s can't be negative"
    ],
    [
      "negative monitor staleness",
      { monitor: { staleness: -500_000_000n } },
      "monitor.staleness: invalid monitor staleness: -500ms can't be negative"
    ],
    [
      "negative terminated-energy threshold",
      { monitor: { minTerminatedEnergyThreshold: -1 } },
      "monitor.minTerminatedEnergyThreshold: invalid monitor min terminated energy threshold: -1 can't be negative"
    ],
    [
      "parallelism below 1",
      { monitor: { parallelism: 0 } },
      "monitor.parallelism: invalid monitor parallelism: 0, must be an integer of at least 1"
    ],
    [
      "fractional parallelism",
      { monitor: { parallelism: 1.5 } },
      "monitor.parallelism: invalid monitor parallelism: 1.5, must be an integer of at least 1"
    ],
    [
      "zero max plausible watts",
      { monitor: { maxPlausibleWatts: 0 } },
      "monitor.maxPlausibleWatts: invalid monitor max plausible watts: 0, must be a finite number greater than 0"
    ],
    [
      "infinite max plausible watts",
      { monitor: { maxPlausibleWatts: Number.POSITIVE_INFINITY } },
      "monitor.maxPlausibleWatts: invalid monitor max plausible watts: Infinity, must be a finite number greater than 0"
    ],
    [
      "unknown collector",
      { monitor: { collector: "thread" } },
      "monitor.collector: invalid monitor collector: \"thread\" (one of worker, inline)"
    ],
    [
      "unknown meter",
      { cpu: { preferredMeters: ["rapl", "rappl"] } },
      "cpu.preferredMeters[1]: invalid cpu.preferredMeters entry \"rappl\", must be one of \"rapl\", \"hwmon\", \"model\", \"fake\""
    ],
    [
      "negative maxProcesses",
      { exporter: { prometheus: { maxProcesses: -1 } } },
      "exporter.prometheus.maxProcesses: invalid exporter.prometheus.maxProcesses: -1, must be an integer of at least 0 (0 exports every process)"
    ],
    [
      "unknown debug collector",
      { exporter: { prometheus: { debugCollectors: ["go", "jvm"] } } },
      "exporter.prometheus.debugCollectors[1]: unknown collector: \"jvm\" (one of \"go\", \"process\")"
    ],
    [
      "empty meter list",
      { cpu: { preferredMeters: [] } },
      "cpu.preferredMeters: cpu.preferredMeters is empty (list one or more of \"rapl\", \"hwmon\", \"model\", \"fake\")"
    ],
    [
      "negative idle watts",
      { cpu: { model: { idleWattsPerCpu: -1 } } },
      "cpu.model.idleWattsPerCpu: invalid cpu.model.idleWattsPerCpu: -1, must be a finite number of at least 0"
    ],
    [
      "NaN busy watts",
      { cpu: { model: { busyWattsPerCpu: Number.NaN } } },
      "cpu.model.busyWattsPerCpu: invalid cpu.model.busyWattsPerCpu: NaN, must be a finite number of at least 0"
    ],
    [
      "busy watts below idle watts",
      { cpu: { model: { idleWattsPerCpu: 2, busyWattsPerCpu: 1.5 } } },
      "cpu.model.busyWattsPerCpu: invalid cpu.model.busyWattsPerCpu: 1.5, must be at least cpu.model.idleWattsPerCpu (2)"
    ],
    [
      "unknown metrics level",
      { exporter: { prometheus: { metricsLevel: ["node", "cluster"] } } },
      "exporter.prometheus.metricsLevel[1]: unknown metrics level: cluster"
    ],
    [
      "no listen address",
      { web: { listenAddresses: [] } },
      "web.listenAddresses: at least one web listen address must be specified"
    ],
    [
      "empty listen address",
      { web: { listenAddresses: [""] } },
      "web.listenAddresses[0]: web listen address cannot be empty"
    ],
    [
      "listen address without a port",
      { web: { listenAddresses: [":8080", "localhost"] } },
      "web.listenAddresses[1]: invalid web listen address \"localhost\": invalid address format: address localhost: missing port in address"
    ],
    [
      "listen address with a non-numeric port",
      { web: { listenAddresses: ["localhost:"] } },
      "web.listenAddresses[0]: invalid web listen address \"localhost:\": port must be numeric, got "
    ],
    [
      "listen address port out of range",
      { web: { listenAddresses: [":99999"] } },
      "web.listenAddresses[0]: invalid web listen address \":99999\": port must be between 1 and 65535, got 99999"
    ],
    [
      "Kubernetes without a node name",
      { kube: { enabled: true, nodeName: "" } },
      "kube.nodeName: kube.node-name not supplied but kube.enable set to true (set kube.nodeName or pass --kube.node-name)"
    ],
    [
      "unknown pod informer mode",
      { kube: { podInformer: { mode: "watch" } } },
      "kube.podInformer.mode: invalid kube.podInformer.mode: \"watch\", must be \"kubelet\" or \"apiserver\""
    ],
    [
      "negative pod poll interval",
      { kube: { podInformer: { pollInterval: -15n * S } } },
      "kube.podInformer.pollInterval: invalid kube.podInformer.pollInterval: -15s can't be negative"
    ],
    [
      "Redfish without its file",
      { experimental: { platform: { redfish: { enabled: true, configFile: "" } } } },
      "experimental.platform.redfish.configFile: experimental.platform.redfish.config-file not supplied but experimental.platform.redfish.enabled set to true"
    ],
    [
      "negative Redfish timeout",
      { experimental: { platform: { redfish: { httpTimeout: -S } } } },
      "experimental.platform.redfish.httpTimeout: invalid experimental.platform.redfish.httpTimeout: -1s can't be negative"
    ],
    [
      "bad DCGM endpoint with the GPU on",
      { experimental: { gpu: { enabled: true, dcgmEndpoint: "ftp://dcgm/metrics" } } },
      "experimental.gpu.dcgmEndpoint: dcgmEndpoint scheme must be http or https, got \"ftp\""
    ]
  ]
  for (const [name, patch, message] of cases) {
    it(`reports ${name}`, () => {
      expect(violations(patch)).toEqual([message])
    })
  }

  it("does not ask for a node name when Kubernetes is off", () => {
    expect(violations({ kube: { enabled: false, nodeName: "" } })).toEqual([])
  })

  it("leaves the DCGM endpoint alone while the GPU is off (as Kepler, a stale value still loads)", () => {
    expect(violations({ experimental: { gpu: { enabled: false, dcgmEndpoint: "ftp://x" } } })).toEqual([])
  })

  it("accepts busy watts equal to idle watts", () => {
    expect(violations({ cpu: { model: { idleWattsPerCpu: 2, busyWattsPerCpu: 2 } } })).toEqual([])
  })

  it("reports several violations together, each naming its key and value", () => {
    expect(
      violations({
        log: { level: "loud" },
        monitor: { interval: -S },
        cpu: { preferredMeters: ["rappl"] },
        web: { listenAddresses: [":99999"] },
        kube: { enabled: true, nodeName: "" }
      })
    ).toEqual([
      "log.level: invalid log level: \"loud\" (one of debug, info, warn, error)",
      "monitor.interval: invalid monitor interval: -1s can't be negative",
      "cpu.preferredMeters[0]: invalid cpu.preferredMeters entry \"rappl\", must be one of \"rapl\", \"hwmon\", \"model\", \"fake\"",
      "web.listenAddresses[0]: invalid web listen address \":99999\": port must be between 1 and 65535, got 99999",
      "kube.nodeName: kube.node-name not supplied but kube.enable set to true (set kube.nodeName or pass --kube.node-name)"
    ])
  })
})

describe("checkFiles: every message", () => {
  it.effect("passes readable host directories and files", () =>
    Effect.gen(function*() {
      expect(
        yield* fileViolations({
          web: { configFile: fixture("web-config.yaml") },
          kube: { enabled: true, config: fixture("kubeconfig.yaml") },
          experimental: { platform: { redfish: { enabled: true, configFile: fixture("redfish.yaml") } } }
        })
      ).toEqual([])
    }))

  it.effect("reports a missing sysfs directory", () =>
    Effect.gen(function*() {
      const missing = fixture("no-such-dir")
      expect(yield* fileViolations({ host: { sysfs: missing } })).toEqual([
        `host.sysfs: invalid sysfs path: ${missing}: ENOENT: no such file or directory, opendir '${missing}'`
      ])
    }))

  it.effect("reports a procfs path that is a file", () =>
    Effect.gen(function*() {
      const file = fixture("kubeconfig.yaml")
      expect(yield* fileViolations({ host: { procfs: file } })).toEqual([
        `host.procfs: invalid procfs path: ${file}: ENOTDIR: not a directory, opendir '${file}'`
      ])
    }))

  it.effect("reports an empty host directory (an unmounted hostPath), like Kepler's EOF", () =>
    withTempDir((dir) =>
      Effect.gen(function*() {
        expect(yield* fileViolations({ host: { sysfs: dir } })).toEqual([
          `host.sysfs: invalid sysfs path: ${dir}: directory is empty`
        ])
      })
    ))

  it.effect("reports an unreadable web config file", () =>
    Effect.gen(function*() {
      const missing = fixture("missing-web.yaml")
      expect(yield* fileViolations({ web: { configFile: missing } })).toEqual([
        `web.configFile: invalid web config file. path: ${
          JSON.stringify(missing)
        }: ENOENT: no such file or directory, open '${missing}'`
      ])
    }))

  it.effect("reports an empty web config file", () =>
    withTempDir((dir) =>
      Effect.gen(function*() {
        const empty = path.join(dir, "web.yaml")
        yield* Effect.promise(() => fs.writeFile(empty, ""))
        expect(yield* fileViolations({ web: { configFile: empty } })).toEqual([
          `web.configFile: invalid web config file. path: ${JSON.stringify(empty)}: file is empty`
        ])
      })
    ))

  it.effect("reports an unreadable kubeconfig only when Kubernetes is on", () =>
    Effect.gen(function*() {
      const missing = fixture("missing-kubeconfig")
      expect(yield* fileViolations({ kube: { enabled: false, config: missing } })).toEqual([])
      expect(yield* fileViolations({ kube: { enabled: true, config: missing } })).toEqual([
        `kube.config: unreadable kubeconfig: ${missing}: ENOENT: no such file or directory, open '${missing}'`
      ])
    }))

  it.effect("reports an unreadable Redfish file only when Redfish is on", () =>
    Effect.gen(function*() {
      const dir = fixture("host")
      expect(yield* fileViolations({ experimental: { platform: { redfish: { enabled: false, configFile: dir } } } }))
        .toEqual(
          []
        )
      expect(yield* fileViolations({ experimental: { platform: { redfish: { enabled: true, configFile: dir } } } }))
        .toEqual([
          `experimental.platform.redfish.configFile: unreadable Redfish config file: ${dir}: EISDIR: illegal operation on a directory, read`
        ])
    }))
})

describe("validate", () => {
  it.effect("returns the resolved config when all is well", () =>
    Effect.gen(function*() {
      const config = yield* validate(baseRaw)
      expect(config.kube.nodeName).toBe("test-node")
      expect(config.cpu.preferredMeters).toEqual(defaultConfig.cpu.preferredMeters)
    }))

  it.effect("fails once with earlier, value and file problems together, in Kepler's message form", () =>
    Effect.gen(function*() {
      const missing = fixture("no-such-dir")
      const error = yield* Effect.flip(
        validate(raw({ log: { level: "loud" }, host: { sysfs: missing } }), [
          "monitor.interval: expected a Go duration like \"5s\", got true"
        ])
      )
      expect(error).toBeInstanceOf(ConfigError)
      expect(error.errors).toEqual([
        "monitor.interval: expected a Go duration like \"5s\", got true",
        "log.level: invalid log level: \"loud\" (one of debug, info, warn, error)",
        `host.sysfs: invalid sysfs path: ${missing}: ENOENT: no such file or directory, opendir '${missing}'`
      ])
      expect(error.message).toBe(`invalid configuration: ${error.errors.join(", ")}`)
    }))

  it.effect("fails on earlier problems even when the value itself is fine", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(validate(baseRaw, ["x: broken"]))
      expect(error.errors).toEqual(["x: broken"])
    }))
})
