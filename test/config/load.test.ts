import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Either } from "effect"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { METRICS_LEVELS } from "../../src/config/Config.js"
import { defaultConfig } from "../../src/config/defaults.js"
import { type FlagOverrides, loadConfig } from "../../src/config/load.js"

const FIXTURES = fileURLToPath(new URL("../fixtures/config/", import.meta.url))
const fixture = (name: string) => path.join(FIXTURES, name)
const S = 1_000_000_000n

/** Host paths that are valid on any machine (the defaults /sys and /proc are tested separately). */
const hostFlags: FlagOverrides = { hostSysfs: fixture("host/sys"), hostProcfs: fixture("host/proc") }

/** Writes `yaml` to a temporary file, runs `use` with its path, removes it. */
const withYaml = <A, E>(yaml: string, use: (file: string) => Effect.Effect<A, E>) =>
  Effect.acquireUseRelease(
    Effect.promise(async () => {
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), "joulemon-load-"))
      await fs.writeFile(path.join(dir, "config.yaml"), yaml)
      return dir
    }),
    (dir) => use(path.join(dir, "config.yaml")),
    (dir) => Effect.promise(() => fs.rm(dir, { recursive: true, force: true }))
  )

const load = (yaml: string, flags: FlagOverrides = {}) =>
  withYaml(yaml, (file) => loadConfig(file, { ...hostFlags, ...flags }))

const loadErrors = (yaml: string, flags: FlagOverrides = {}) =>
  Effect.map(Effect.flip(load(yaml, flags)), (error) => error.errors)

describe("loadConfig: layering (defaults ← file ← flags)", () => {
  it.effect("with no file and no flags, gives the defaults with the hostname as node name", () =>
    Effect.gen(function*() {
      const { config, warnings } = yield* loadConfig(undefined, {})
      expect(warnings).toEqual([])
      expect(config).toEqual({ ...defaultConfig, kube: { ...defaultConfig.kube, nodeName: os.hostname() } })
    }))

  it.effect("treats an empty --config.file as no file", () =>
    Effect.gen(function*() {
      const { config } = yield* loadConfig("", hostFlags)
      expect(config.log).toEqual(defaultConfig.log)
    }))

  it.effect("keeps the default for every key the file leaves out", () =>
    Effect.gen(function*() {
      const { config } = yield* load("log:\n  level: debug\n")
      expect(config.log).toEqual({ level: "debug", format: "text" })
      expect(config.monitor).toEqual(defaultConfig.monitor)
      expect(config.web).toEqual(defaultConfig.web)
    }))

  it.effect("lets a list in the file replace the default list", () =>
    Effect.gen(function*() {
      const { config } = yield* load("web:\n  listenAddresses: [\"127.0.0.1:9000\"]\nrapl:\n  zones: [package]\n")
      expect(config.web.listenAddresses).toEqual(["127.0.0.1:9000"])
      expect(config.rapl.zones).toEqual(["package"])
    }))

  it.effect("lets a repeated flag replace the file's list", () =>
    Effect.gen(function*() {
      const { config } = yield* load("web:\n  listenAddresses: [\":9000\", \":9001\"]\n", {
        webListenAddresses: [":9100"]
      })
      expect(config.web.listenAddresses).toEqual([":9100"])
    }))

  it.effect("lets a flag override the file, and only when given", () =>
    Effect.gen(function*() {
      const yaml = "log:\n  level: warn\n  format: json\nexporter:\n  prometheus:\n    enabled: false\n"
      const withFlag = yield* load(yaml, { logLevel: "error" })
      expect(withFlag.config.log).toEqual({ level: "error", format: "json" })
      // Absent or undefined flags leave the file's values, including a `false`.
      const without = yield* load(yaml, { logLevel: undefined, exporterPrometheus: undefined })
      expect(without.config.log).toEqual({ level: "warn", format: "json" })
      expect(without.config.exporter.prometheus.enabled).toBe(false)
    }))

  it.effect("applies every flag to its key", () =>
    Effect.gen(function*() {
      const { config } = yield* loadConfig(undefined, {
        ...hostFlags,
        logLevel: "debug",
        logFormat: "json",
        monitorInterval: 90n * S,
        monitorMaxTerminated: -1,
        monitorParallelism: 3,
        exporterStdout: true,
        exporterPrometheus: false,
        metrics: ["node", "pod"],
        debugPprof: true,
        webConfigFile: fixture("web-config.yaml"),
        webListenAddresses: [":9000", "[::1]:9001"],
        kubeEnable: true,
        kubeConfig: fixture("kubeconfig.yaml"),
        kubeNodeName: "worker-1",
        redfishEnabled: true,
        redfishNodeName: "bmc-node",
        redfishConfigFile: fixture("redfish.yaml"),
        hwmonZones: ["power1", "power2"]
      })
      expect(config.log).toEqual({ level: "debug", format: "json" })
      expect(config.host).toEqual({ sysfs: fixture("host/sys"), procfs: fixture("host/proc") })
      expect(Duration.toMillis(config.monitor.interval)).toBe(90_000)
      expect(config.monitor.maxTerminated).toBe(-1)
      expect(config.monitor.parallelism).toBe(3)
      expect(config.exporter.stdout.enabled).toBe(true)
      expect(config.exporter.prometheus.enabled).toBe(false)
      expect(config.exporter.prometheus.metricsLevel).toEqual(["node", "pod"])
      expect(config.debug.pprof.enabled).toBe(true)
      expect(config.web).toEqual({ configFile: fixture("web-config.yaml"), listenAddresses: [":9000", "[::1]:9001"] })
      expect(config.kube.enabled).toBe(true)
      expect(config.kube.config).toBe(fixture("kubeconfig.yaml"))
      expect(config.kube.nodeName).toBe("worker-1")
      expect(config.experimental.platform.redfish).toEqual({
        enabled: true,
        nodeName: "bmc-node",
        configFile: fixture("redfish.yaml"),
        httpTimeout: Duration.seconds(5)
      })
      expect(config.experimental.hwmon.zones).toEqual(["power1", "power2"])
    }))

  it.effect("reads every key of a file that sets them all", () =>
    Effect.gen(function*() {
      const text = yield* Effect.promise(() => fs.readFile(fixture("every-key.yaml"), "utf8"))
      // The fixture's paths are relative to the repository; make them absolute for any cwd.
      const yaml = text.replaceAll("test/fixtures/config/", FIXTURES)
      const { config, warnings } = yield* withYaml(yaml, (file) => loadConfig(file, {}))
      expect(warnings).toEqual([])
      expect(config).toEqual({
        log: { level: "warn", format: "json" },
        host: { sysfs: fixture("host/sys"), procfs: fixture("host/proc") },
        monitor: {
          interval: Duration.seconds(90),
          staleness: Duration.millis(250),
          maxTerminated: -1,
          minTerminatedEnergyThreshold: 25,
          parallelism: 2,
          maxPlausibleWatts: 900.5,
          collector: "inline",
          stateDir: "/var/lib/joulemon-test",
          idlePolicy: "equal",
          shortLived: "none"
        },
        cpu: { preferredMeters: ["hwmon", "model"], model: { idleWattsPerCpu: 1.25, busyWattsPerCpu: 4 } },
        rapl: { zones: ["package", "dram"] },
        exporter: {
          stdout: { enabled: true },
          prometheus: {
            enabled: false,
            debugCollectors: ["go", "process"],
            metricsLevel: ["node", "pod"],
            maxProcesses: 250
          }
        },
        debug: { pprof: { enabled: true } },
        web: { configFile: fixture("web-config.yaml"), listenAddresses: ["127.0.0.1:9100", "[::1]:9100"] },
        kube: {
          enabled: true,
          config: fixture("kubeconfig.yaml"),
          nodeName: "worker-7",
          podInformer: { mode: "apiserver", pollInterval: Duration.seconds(30) }
        },
        dev: { fakeCpuMeter: { enabled: false, zones: ["package", "core"] } },
        experimental: {
          platform: {
            redfish: {
              enabled: true,
              nodeName: "bmc-node-7",
              configFile: fixture("redfish.yaml"),
              httpTimeout: Duration.seconds(10)
            }
          },
          hwmon: {
            forceEnabled: false,
            zones: ["power1"],
            chipRules: [
              {
                name: "ina3221",
                pairings: { "1": 1, "2": 2 },
                skipVoltages: [4],
                skipCurrents: [3],
                useSameIndex: false
              }
            ]
          },
          gpu: { enabled: true, idlePower: 35.5, dcgmEndpoint: "http://10.0.0.5:9400/metrics", meter: "fake" }
        }
      })
    }))

  it.effect("loads Kepler's ConfigMap config.yaml as is (host paths from the DaemonSet's mounts)", () =>
    Effect.gen(function*() {
      const { config, warnings } = yield* loadConfig(fixture("kepler-configmap.yaml"), hostFlags)
      expect(warnings).toEqual([])
      expect(config.log.level).toBe("debug")
      expect(config.monitor.maxTerminated).toBe(100)
      expect(config.cpu.preferredMeters).toEqual(["rapl", "hwmon"])
      expect(config.exporter.prometheus.metricsLevel).toEqual(METRICS_LEVELS)
      // The file says 5s explicitly; Kepler's YAML default would have been 0 (no timeout).
      expect(config.experimental.platform.redfish.httpTimeout).toEqual(Duration.seconds(5))
    }))

  it.effect("trims what Kepler's sanitize trims", () =>
    Effect.gen(function*() {
      const { config } = yield* load(
        "log:\n  level: \" debug \"\n  format: \"json \"\nweb:\n  listenAddresses: [\" :9000 \"]\ncpu:\n  preferredMeters: [\" rapl \"]\nrapl:\n  zones: [\" package \"]\n"
      )
      expect(config.log).toEqual({ level: "debug", format: "json" })
      expect(config.web.listenAddresses).toEqual([":9000"])
      expect(config.cpu.preferredMeters).toEqual(["rapl"])
      expect(config.rapl.zones).toEqual(["package"])
    }))

  it.effect("reads an empty file, and an empty section, as the defaults", () =>
    Effect.gen(function*() {
      expect((yield* load("")).config.monitor).toEqual(defaultConfig.monitor)
      expect((yield* load("# nothing set\nmonitor:\n")).config.monitor).toEqual(defaultConfig.monitor)
    }))

  it.effect("understands YAML anchors and merge keys", () =>
    Effect.gen(function*() {
      const { config } = yield* load(
        "common: &addr\n  listenAddresses: [':9000']\nweb:\n  <<: *addr\n"
      )
      expect(config.web.listenAddresses).toEqual([":9000"])
    }))
})

describe("loadConfig: Kepler conformance check 14", () => {
  it.effect("file exporter.prometheus.enabled: false + --exporter.stdout → stdout on, Prometheus off", () =>
    Effect.gen(function*() {
      const { config } = yield* load("exporter:\n  prometheus:\n    enabled: false\n", { exporterStdout: true })
      expect(config.exporter.stdout.enabled).toBe(true)
      expect(config.exporter.prometheus.enabled).toBe(false)
    }))

  it.effect("--web.listen-address=:99999 → port must be between 1 and 65535", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(loadConfig(undefined, { ...hostFlags, webListenAddresses: [":99999"] }))
      expect(error.errors).toEqual([
        "web.listenAddresses[0]: invalid web listen address \":99999\": port must be between 1 and 65535, got 99999"
      ])
    }))

  it.effect("--metrics node --metrics process → exactly those two levels", () =>
    Effect.gen(function*() {
      const { config } = yield* loadConfig(undefined, { ...hostFlags, metrics: ["node", "process"] })
      expect(config.exporter.prometheus.metricsLevel).toEqual(["node", "process"])
    }))

  it.effect("notASetting: 42 loads and warns fields=[notASetting]", () =>
    Effect.gen(function*() {
      const { warnings } = yield* load("notASetting: 42\n")
      expect(warnings).toEqual([
        "ignoring unknown config fields; check for typos or options from another release fields=[notASetting]"
      ])
    }))

  it.effect("kube.enabled: true without nodeName → kube.node-name not supplied but kube.enable set to true", () =>
    Effect.gen(function*() {
      expect(yield* loadErrors("kube:\n  enabled: true\n")).toEqual([
        "kube.nodeName: kube.node-name not supplied but kube.enable set to true (set kube.nodeName or pass --kube.node-name)"
      ])
    }))

  it.effect("cpu.preferredMeters: [rappl] → an error", () =>
    Effect.gen(function*() {
      expect(yield* loadErrors("cpu:\n  preferredMeters: [rappl]\n")).toEqual([
        "cpu.preferredMeters[0]: invalid cpu.preferredMeters entry \"rappl\", must be one of \"rapl\", \"hwmon\", \"model\", \"fake\""
      ])
    }))

  it.effect("dev.fake-cpu-meter.enabled: true → [fake]", () =>
    Effect.gen(function*() {
      const { config } = yield* load("dev:\n  fake-cpu-meter:\n    enabled: true\n")
      expect(config.cpu.preferredMeters).toEqual(["fake"])
    }))
})

describe("loadConfig: Kubernetes node name", () => {
  it.effect("fixes Kepler's bug: kube.enabled in the file + --kube.node-name on the command line is valid", () =>
    Effect.gen(function*() {
      const { config } = yield* load("kube:\n  enabled: true\n", { kubeNodeName: "worker-1" })
      expect(config.kube).toMatchObject({ enabled: true, nodeName: "worker-1" })
    }))

  it.effect("uses the hostname when Kubernetes is off and no name is set", () =>
    Effect.gen(function*() {
      expect((yield* load("kube:\n  enabled: false\n")).config.kube.nodeName).toBe(os.hostname())
    }))

  it.effect("keeps a configured name when Kubernetes is off", () =>
    Effect.gen(function*() {
      expect((yield* load("kube:\n  nodeName: lab-3\n")).config.kube.nodeName).toBe("lab-3")
    }))

  it.effect("turns pollInterval: 0 into the 15s it means", () =>
    Effect.gen(function*() {
      const { config } = yield* load("kube:\n  podInformer:\n    pollInterval: 0\n")
      expect(config.kube.podInformer.pollInterval).toEqual(Duration.seconds(15))
    }))
})

describe("loadConfig: Redfish", () => {
  const redfishYaml = (extra: string) =>
    `experimental:\n  platform:\n    redfish:\n      enabled: true\n      configFile: ${
      fixture("redfish.yaml")
    }\n${extra}`

  it.effect("times out after 5s when the file enables Redfish without httpTimeout (Kepler: never)", () =>
    Effect.gen(function*() {
      const { config } = yield* load(redfishYaml(""))
      expect(config.experimental.platform.redfish.httpTimeout).toEqual(Duration.seconds(5))
    }))

  it.effect("takes the file's httpTimeout", () =>
    Effect.gen(function*() {
      const { config } = yield* load(redfishYaml("      httpTimeout: 30s\n"))
      expect(config.experimental.platform.redfish.httpTimeout).toEqual(Duration.seconds(30))
    }))

  it.effect("names the node after Kubernetes' node, else the hostname, unless set", () =>
    Effect.gen(function*() {
      expect((yield* load(redfishYaml(""))).config.experimental.platform.redfish.nodeName).toBe(os.hostname())
      expect(
        (yield* load(redfishYaml(""), { kubeEnable: true, kubeNodeName: "worker-2" })).config.experimental.platform
          .redfish
          .nodeName
      ).toBe("worker-2")
      expect(
        (yield* load(redfishYaml(""), { redfishNodeName: "bmc-name" })).config.experimental.platform.redfish.nodeName
      ).toBe("bmc-name")
    }))

  it.effect("keeps experimental.hwmon.zones even with every experimental feature off (Kepler drops them)", () =>
    Effect.gen(function*() {
      const { config } = yield* load("cpu:\n  preferredMeters: [hwmon]\nexperimental:\n  hwmon:\n    zones: [power1]\n")
      expect(config.experimental.hwmon.zones).toEqual(["power1"])
    }))
})

describe("loadConfig: deprecated meter switches", () => {
  it.effect("dev.fake-cpu-meter.enabled wins over an explicit preferredMeters, with Kepler's warning", () =>
    Effect.gen(function*() {
      const { config, warnings } = yield* load(
        "cpu:\n  preferredMeters: [rapl]\ndev:\n  fake-cpu-meter:\n    enabled: true\n"
      )
      expect(config.cpu.preferredMeters).toEqual(["fake"])
      expect(warnings).toEqual([
        "dev.fake-cpu-meter.enabled is deprecated; set cpu.preferredMeters: [\"fake\"] instead"
      ])
    }))

  it.effect("experimental.hwmon.forceEnabled gives [hwmon], with a warning", () =>
    Effect.gen(function*() {
      const { config, warnings } = yield* load("experimental:\n  hwmon:\n    forceEnabled: true\n")
      expect(config.cpu.preferredMeters).toEqual(["hwmon"])
      expect(warnings).toEqual([
        "experimental.hwmon.forceEnabled is deprecated; set cpu.preferredMeters: [\"hwmon\"] instead"
      ])
    }))

  it.effect("fake wins over forceEnabled, as in Kepler", () =>
    Effect.gen(function*() {
      const { config, warnings } = yield* load(
        "dev:\n  fake-cpu-meter:\n    enabled: true\nexperimental:\n  hwmon:\n    forceEnabled: true\n"
      )
      expect(config.cpu.preferredMeters).toEqual(["fake"])
      expect(warnings).toHaveLength(1)
    }))

  it.effect("puts the unknown-key warning and the deprecation warnings in one list", () =>
    Effect.gen(function*() {
      const { warnings } = yield* load("typo: 1\ndev:\n  fake-cpu-meter:\n    enabled: true\n    colour: red\n")
      expect(warnings).toEqual([
        "ignoring unknown config fields; check for typos or options from another release fields=[colour,typo]",
        "dev.fake-cpu-meter.enabled is deprecated; set cpu.preferredMeters: [\"fake\"] instead"
      ])
    }))
})

describe("loadConfig: errors", () => {
  it.effect("names the path of a missing config file", () =>
    Effect.gen(function*() {
      const missing = fixture("missing.yaml")
      const error = yield* Effect.flip(loadConfig(missing, hostFlags))
      expect(error.errors).toEqual([
        `failed to open config file ${JSON.stringify(missing)}: ENOENT: no such file or directory, open '${missing}'`
      ])
    }))

  it.effect("refuses a config file over 1 MiB from its size, naming the file and the size", () =>
    withYaml("", (file) =>
      Effect.gen(function*() {
        // 50 MB of holes: fstat says 50 MB, and the file is never read
        yield* Effect.promise(() => fs.truncate(file, 50_000_000))
        const error = yield* Effect.flip(loadConfig(file, hostFlags))
        expect(error.errors).toEqual([
          `failed to open config file ${
            JSON.stringify(file)
          }: the file is 50000000 bytes, over the 1 MiB (1048576 bytes) limit for config files; refused without reading it`
        ])
      })))

  it.effect("reads a config file of exactly 1 MiB, and refuses anything but a regular file", () =>
    withYaml("log:\n  level: debug\n", (file) =>
      Effect.gen(function*() {
        yield* Effect.promise(() => fs.appendFile(file, `#${"x".repeat(1024 * 1024 - 22)}\n`))
        expect((yield* Effect.promise(() => fs.stat(file))).size).toBe(1024 * 1024)
        expect((yield* loadConfig(file, hostFlags)).config.log.level).toBe("debug")
        const error = yield* Effect.flip(loadConfig("/dev/zero", hostFlags))
        expect(error.errors).toEqual([
          `failed to open config file "/dev/zero": not a regular file (a character device)`
        ])
      })))

  it.effect("names the file and line of a YAML syntax error", () =>
    withYaml("log:\n  level: info\nweb: [\nkube: x\n", (file) =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(loadConfig(file, hostFlags))
        expect(error.errors).toHaveLength(1)
        expect(error.errors[0]).toMatch(
          new RegExp(`^failed to parse config ${JSON.stringify(file)}: line 4, column 1: `)
        )
      })))

  it.effect("reports a duplicate key as a syntax error", () =>
    withYaml("log:\n  level: info\n  level: debug\n", (file) =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(loadConfig(file, hostFlags))
        expect(error.errors).toEqual([
          `failed to parse config ${JSON.stringify(file)}: line 3, column 3: Map keys must be unique`
        ])
      })))

  it.effect("rejects a whole ConfigMap object, saying to mount its config.yaml key as the file", () =>
    Effect.gen(function*() {
      const manifest = path.join(FIXTURES, "..", "..", "..", "deploy", "kubernetes", "configmap.yaml")
      // Either, not flip: were it to load, the failure would carry the whole config to the reporter.
      const result = yield* Effect.either(loadConfig(manifest, hostFlags))
      expect(Either.isLeft(result)).toBe(true)
      expect(Either.isLeft(result) ? result.left.errors : []).toEqual([
        `config file ${
          JSON.stringify(manifest)
        } is a ConfigMap object (top-level keys apiVersion, kind, data), not a joulemon/Kepler configuration file: ` +
        `mount its "config.yaml" data key as the file, as Kepler's manifests do (a configMap volume at /etc/kepler, then --config.file=/etc/kepler/config.yaml), ` +
        "or pass a file holding only the text under data.config.yaml; its data keys are [config.yaml]"
      ])
    }))

  it.effect("names the data key of a ConfigMap object that has no config.yaml", () =>
    Effect.gen(function*() {
      const result = yield* Effect.either(
        load("apiVersion: v1\nkind: ConfigMap\ndata:\n  kepler.yaml: |\n    log:\n      level: debug\n")
      )
      expect(Either.isLeft(result)).toBe(true)
      const errors = Either.isLeft(result) ? result.left.errors : []
      expect(errors).toHaveLength(1)
      expect(errors[0]).toContain("mount its \"kepler.yaml\" data key as the file")
      expect(errors[0]).toContain("--config.file=/etc/kepler/kepler.yaml")
    }))

  it.effect("still loads a configuration that merely has a data key", () =>
    Effect.gen(function*() {
      const { config, warnings } = yield* load("log:\n  level: debug\ndata: 1\n")
      expect(config.log.level).toBe("debug")
      expect(warnings).toEqual([expect.stringContaining("fields=[data]")])
    }))

  it.effect("reports shape errors and value errors of file and flags in one list", () =>
    Effect.gen(function*() {
      const errors = yield* loadErrors("monitor:\n  interval: true\nlog:\n  level: loud\nnotASetting: 1\n", {
        webListenAddresses: ["localhost"]
      })
      expect(errors).toEqual([
        "monitor.interval: expected a Go duration like \"5s\", got true",
        "log.level: invalid log level: \"loud\" (one of debug, info, warn, error)",
        "web.listenAddresses[0]: invalid web listen address \"localhost\": invalid address format: address localhost: missing port in address"
      ])
    }))

  it.effect("reports a negative duration given on the command line", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(loadConfig(undefined, { ...hostFlags, monitorInterval: -S }))
      expect(error.errors).toEqual(["monitor.interval: invalid monitor interval: -1s can't be negative"])
    }))

  it.effect("rejects a top-level list", () =>
    Effect.gen(function*() {
      expect(yield* loadErrors("- a\n- b\n")).toEqual([
        "expected a mapping of configuration keys at the top level, got a list"
      ])
    }))
})
