/**
 * Every flag Kepler has ever shipped since its rewrite is accepted by joulemon with Kepler's
 * meaning: a Kepler DaemonSet's arguments must never make joulemon exit 1.
 *
 * The union below was collected from Kepler's config/config.go `RegisterFlags` (plus
 * cmd/kepler/main.go's `--config.file`) at every release tag from v0.10.0 to v0.11.4 and at
 * HEAD (13944a69). Three flag sets occur:
 * - v0.10.0–v0.10.2: the core flags (log, host, monitor, debug, web, exporter, metrics, kube);
 * - v0.11.0–v0.11.3: + experimental.platform.redfish.{enabled,node-name,config-file};
 * - v0.11.4: + experimental.hwmon.{enabled,zones}, experimental.gpu.{enabled,idle-power};
 * - HEAD (unreleased): experimental.hwmon.enabled renamed to experimental.hwmon.force-enabled
 *   (Kepler commit a77ec428; the key is deprecated in favour of cpu.preferredMeters since
 *   55f6f4d0), + experimental.gpu.dcgm-endpoint.
 * Kingpin's own hidden flags (--help-long, --completion-bash, …) are not Kepler's and are left out.
 *
 * Each flag goes through joulemon's real CLI path (`makeCli`: argv folding, @effect/cli
 * parsing, loadConfig) and its effect on the resolved config, and any warning, is asserted.
 * One test then starts the real binary with all of them at once.
 */
import { ValidationError } from "@effect/cli"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, Option } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterEach } from "vitest"
import { flagNames } from "../../src/cli/flags.js"
import type { JoulemonConfig } from "../../src/config/Config.js"
import { defaultConfig } from "../../src/config/defaults.js"
import { ROOT, type Running, startJoulemon, waitForOutput, withTimeout } from "../support/binary.js"
import { failureOf, runCli } from "../support/cli.js"
import { freePort } from "../support/ports.js"

const fixture = (name: string) => path.join(ROOT, "test", "fixtures", "config", name)
const SYS = fixture("host/sys")
const PROC = fixture("host/proc")
const HOST = [`--host.sysfs=${SYS}`, `--host.procfs=${PROC}`]

/** Kepler's wording for its legacy hwmon switch (kepler-behaviour.md §2.6), which its flag sets too. */
const HWMON_DEPRECATION = "experimental.hwmon.forceEnabled is deprecated; set cpu.preferredMeters: [\"hwmon\"] instead"
const HWMON_RENAMED =
  "--experimental.hwmon.enabled is Kepler 0.11's name for --experimental.hwmon.force-enabled (hwmon as the only CPU meter); it is read as that flag"
const gpuIgnored = (flag: string) =>
  `--${flag} is ignored: it applies only when GPU power is on (experimental.gpu.enabled or --experimental.gpu.enabled), as in Kepler`

/**
 * A successful run's LoadedConfig. The fixture host paths are added unless `args` set them
 * (a non-repeatable flag given twice is a usage error, in kingpin as in @effect/cli).
 */
const loadedBy = (args: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const host = HOST.filter((h) => !args.some((a) => a.startsWith(h.split("=")[0] ?? h)))
    const result = yield* runCli([...host, ...args])
    expect(result.stderr).toBe("")
    expect(Exit.isSuccess(result.exit)).toBe(true)
    return Option.getOrThrow(result.loaded)
  })

const withYaml = <A, E>(yaml: string, use: (file: string) => Effect.Effect<A, E>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "joulemon-kepler-flags-"))),
    (dir) =>
      Effect.suspend(() => {
        fs.writeFileSync(path.join(dir, "config.yaml"), yaml)
        return use(path.join(dir, "config.yaml"))
      }),
    (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
  )

interface KeplerFlag {
  /** Without the `--`. */
  readonly flag: string
  /** The Kepler releases that have it. */
  readonly kepler: string
  readonly kind: "bool" | "enum" | "string" | "dir" | "file" | "duration" | "int" | "float" | "repeatable"
  /** A Kepler-style use of it (with whatever it needs beside it to be valid). */
  readonly args: ReadonlyArray<string>
  readonly expect: (config: JoulemonConfig) => void
  /** The warnings it causes, in order; none unless listed. */
  readonly warnings?: ReadonlyArray<string>
  /** A bool flag's value in the resolved config, and the flags it needs beside it. */
  readonly bool?: { readonly read: (config: JoulemonConfig) => boolean; readonly needs: ReadonlyArray<string> }
}

const CORE = "v0.10.0–HEAD"
const REDFISH = "v0.11.0–HEAD"
const V0_11_4_ON = "v0.11.4–HEAD"

const KEPLER_FLAGS: ReadonlyArray<KeplerFlag> = [
  {
    flag: "config.file",
    kepler: `${CORE} (cmd/kepler/main.go)`,
    kind: "string",
    args: [`--config.file=${fixture("kepler-configmap.yaml")}`],
    expect: (c) => expect(c.monitor.maxTerminated).toBe(100)
  },
  {
    flag: "log.level",
    kepler: CORE,
    kind: "enum",
    args: ["--log.level=warn"],
    expect: (c) => expect(c.log.level).toBe("warn")
  },
  {
    flag: "log.format",
    kepler: CORE,
    kind: "enum",
    args: ["--log.format=json"],
    expect: (c) => expect(c.log.format).toBe("json")
  },
  {
    flag: "host.sysfs",
    kepler: CORE,
    kind: "dir",
    args: [`--host.sysfs=${SYS}`],
    expect: (c) => expect(c.host.sysfs).toBe(SYS)
  },
  {
    flag: "host.procfs",
    kepler: CORE,
    kind: "dir",
    args: [`--host.procfs=${PROC}`],
    expect: (c) => expect(c.host.procfs).toBe(PROC)
  },
  {
    flag: "monitor.interval",
    kepler: CORE,
    kind: "duration",
    args: ["--monitor.interval=1m30s"],
    expect: (c) => expect(c.monitor.interval).toEqual(Duration.seconds(90))
  },
  {
    flag: "monitor.max-terminated",
    kepler: CORE,
    kind: "int",
    args: ["--monitor.max-terminated=-1"],
    expect: (c) => expect(c.monitor.maxTerminated).toBe(-1)
  },
  {
    flag: "debug.pprof",
    kepler: CORE,
    kind: "bool",
    args: ["--debug.pprof"],
    expect: (c) => expect(c.debug.pprof.enabled).toBe(true),
    bool: { read: (c) => c.debug.pprof.enabled, needs: [] }
  },
  {
    flag: "web.config-file",
    kepler: CORE,
    kind: "string",
    args: [`--web.config-file=${fixture("web-config.yaml")}`],
    expect: (c) => expect(c.web.configFile).toBe(fixture("web-config.yaml"))
  },
  {
    flag: "web.listen-address",
    kepler: CORE,
    kind: "repeatable",
    args: ["--web.listen-address=:9000", "--web.listen-address", "[::1]:9001"],
    expect: (c) => expect(c.web.listenAddresses).toEqual([":9000", "[::1]:9001"])
  },
  {
    flag: "exporter.stdout",
    kepler: CORE,
    kind: "bool",
    args: ["--exporter.stdout"],
    expect: (c) => expect(c.exporter.stdout.enabled).toBe(true),
    bool: { read: (c) => c.exporter.stdout.enabled, needs: [] }
  },
  {
    flag: "exporter.prometheus",
    kepler: CORE,
    kind: "bool",
    args: ["--no-exporter.prometheus"],
    expect: (c) => expect(c.exporter.prometheus.enabled).toBe(false),
    bool: { read: (c) => c.exporter.prometheus.enabled, needs: [] }
  },
  {
    flag: "metrics",
    kepler: CORE,
    kind: "repeatable",
    args: ["--metrics=pod", "--metrics", "node"],
    expect: (c) => expect(c.exporter.prometheus.metricsLevel).toEqual(["node", "pod"])
  },
  {
    flag: "kube.enable",
    kepler: CORE,
    kind: "bool",
    args: ["--kube.enable", "--kube.node-name=worker-1"],
    expect: (c) => expect(c.kube.enabled).toBe(true),
    bool: { read: (c) => c.kube.enabled, needs: ["--kube.node-name=worker-1"] }
  },
  {
    flag: "kube.config",
    kepler: CORE,
    kind: "file",
    args: [`--kube.config=${fixture("kubeconfig.yaml")}`],
    expect: (c) => expect(c.kube.config).toBe(fixture("kubeconfig.yaml"))
  },
  {
    flag: "kube.node-name",
    kepler: CORE,
    kind: "string",
    args: ["--kube.node-name=worker-2"],
    expect: (c) => expect(c.kube.nodeName).toBe("worker-2")
  },
  {
    flag: "experimental.platform.redfish.enabled",
    kepler: REDFISH,
    kind: "bool",
    args: [
      "--experimental.platform.redfish.enabled",
      `--experimental.platform.redfish.config-file=${fixture("redfish.yaml")}`
    ],
    expect: (c) => expect(c.experimental.platform.redfish.enabled).toBe(true),
    bool: {
      read: (c) => c.experimental.platform.redfish.enabled,
      needs: [`--experimental.platform.redfish.config-file=${fixture("redfish.yaml")}`]
    }
  },
  {
    flag: "experimental.platform.redfish.node-name",
    kepler: REDFISH,
    kind: "string",
    args: ["--experimental.platform.redfish.node-name=bmc-node-3"],
    expect: (c) => expect(c.experimental.platform.redfish.nodeName).toBe("bmc-node-3")
  },
  {
    flag: "experimental.platform.redfish.config-file",
    kepler: REDFISH,
    kind: "string",
    args: [`--experimental.platform.redfish.config-file=${fixture("redfish.yaml")}`],
    expect: (c) => expect(c.experimental.platform.redfish.configFile).toBe(fixture("redfish.yaml"))
  },
  {
    // v0.11.4's name for what HEAD calls force-enabled: hwmon as the only CPU meter. Not
    // deprecated in v0.11.4 (it was new there); renamed afterwards, and the new name deprecated.
    flag: "experimental.hwmon.enabled",
    kepler: "v0.11.4 only",
    kind: "bool",
    args: ["--experimental.hwmon.enabled"],
    expect: (c) => {
      expect(c.experimental.hwmon.forceEnabled).toBe(true)
      expect(c.cpu.preferredMeters).toEqual(["hwmon"])
    },
    warnings: [HWMON_RENAMED, HWMON_DEPRECATION],
    bool: { read: (c) => c.experimental.hwmon.forceEnabled, needs: [] }
  },
  {
    flag: "experimental.hwmon.zones",
    kepler: V0_11_4_ON,
    kind: "repeatable",
    args: ["--experimental.hwmon.zones=power1", "--experimental.hwmon.zones", "power2"],
    expect: (c) => expect(c.experimental.hwmon.zones).toEqual(["power1", "power2"])
  },
  {
    flag: "experimental.hwmon.force-enabled",
    kepler: "HEAD (unreleased; deprecated)",
    kind: "bool",
    args: ["--experimental.hwmon.force-enabled"],
    expect: (c) => {
      expect(c.experimental.hwmon.forceEnabled).toBe(true)
      expect(c.cpu.preferredMeters).toEqual(["hwmon"])
    },
    warnings: [HWMON_DEPRECATION],
    bool: { read: (c) => c.experimental.hwmon.forceEnabled, needs: [] }
  },
  {
    flag: "experimental.gpu.enabled",
    kepler: V0_11_4_ON,
    kind: "bool",
    args: ["--experimental.gpu.enabled"],
    expect: (c) => expect(c.experimental.gpu.enabled).toBe(true),
    bool: { read: (c) => c.experimental.gpu.enabled, needs: [] }
  },
  {
    flag: "experimental.gpu.idle-power",
    kepler: V0_11_4_ON,
    kind: "float",
    args: ["--experimental.gpu.enabled", "--experimental.gpu.idle-power=35.5"],
    expect: (c) => expect(c.experimental.gpu.idlePower).toBe(35.5)
  },
  {
    flag: "experimental.gpu.dcgm-endpoint",
    kepler: "HEAD (unreleased)",
    kind: "string",
    args: ["--experimental.gpu.enabled", "--experimental.gpu.dcgm-endpoint=http://dcgm-exporter.gpu:9400"],
    expect: (c) => expect(c.experimental.gpu.dcgmEndpoint).toBe("http://dcgm-exporter.gpu:9400")
  }
]

describe("Kepler's flags: the table", () => {
  it("covers the union of Kepler's flags, and joulemon knows each one with the same kind", () => {
    const known = new Set([...flagNames.booleans, ...flagNames.valued])
    for (const { flag, kind } of KEPLER_FLAGS) {
      expect(known.has(flag), flag).toBe(true)
      expect(flagNames.booleans.includes(flag), flag).toBe(kind === "bool")
    }
    expect(new Set(KEPLER_FLAGS.map((f) => f.flag)).size).toBe(KEPLER_FLAGS.length)
    expect(KEPLER_FLAGS).toHaveLength(25)
  })
})

describe("Kepler's flags: each through joulemon's CLI", () => {
  for (const entry of KEPLER_FLAGS) {
    it.effect(`--${entry.flag} (Kepler ${entry.kepler}, ${entry.kind}): ${entry.args.join(" ")}`, () =>
      Effect.gen(function*() {
        const { config, warnings } = yield* loadedBy(entry.args)
        entry.expect(config)
        expect(warnings).toEqual(entry.warnings ?? [])
      }))
  }

  // Kingpin's bool flags take --x, --no-x and --x=true|false; not given, the config keeps its value.
  for (const entry of KEPLER_FLAGS) {
    const bool = entry.bool
    if (bool === undefined) continue
    const spellings: ReadonlyArray<readonly [string, boolean]> = [
      [`--${entry.flag}`, true],
      [`--${entry.flag}=true`, true],
      [`--${entry.flag}=false`, false],
      [`--no-${entry.flag}`, false]
    ]
    it.effect(`--${entry.flag}: every kingpin spelling`, () =>
      Effect.gen(function*() {
        for (const [arg, value] of spellings) {
          const { config } = yield* loadedBy([arg, ...bool.needs])
          expect(bool.read(config), arg).toBe(value)
        }
      }))
  }
})

describe("Kepler's flags: help", () => {
  const NEW_FLAGS: ReadonlyArray<readonly [string, string]> = [
    ["experimental.hwmon.force-enabled", "experimental.hwmon.forceEnabled"],
    ["experimental.hwmon.enabled", "experimental.hwmon.forceEnabled"],
    ["experimental.gpu.enabled", "experimental.gpu.enabled"],
    ["experimental.gpu.idle-power", "experimental.gpu.idlePower"],
    ["experimental.gpu.dcgm-endpoint", "experimental.gpu.dcgmEndpoint"]
  ]
  for (const [flag, key] of NEW_FLAGS) {
    it.effect(`help ${flag}: a description naming its YAML key and default`, () =>
      Effect.gen(function*() {
        const result = yield* runCli(["help", flag])
        expect(Exit.isSuccess(result.exit)).toBe(true)
        const text = result.stdout.replace(/\s+/g, " ")
        expect(text).toContain(`--${flag}`)
        expect(text).toContain(`YAML: ${key}.`)
        expect(text).toMatch(/Default: \S/)
      }))
  }
})

describe("Kepler's flags: GPU", () => {
  it.effect("--no-experimental.gpu.enabled turns off GPU power the file turned on", () =>
    withYaml("experimental:\n  gpu:\n    enabled: true\n    idlePower: 12\n", (file) =>
      Effect.gen(function*() {
        const { config, warnings } = yield* loadedBy([`--config.file=${file}`, "--no-experimental.gpu.enabled"])
        expect(config.experimental.gpu.enabled).toBe(false)
        expect(config.experimental.gpu.idlePower).toBe(12)
        expect(warnings).toEqual([])
      })))

  it.effect("--experimental.gpu.idle-power applies when the file turns GPU power on", () =>
    withYaml("experimental:\n  gpu:\n    enabled: true\n", (file) =>
      Effect.gen(function*() {
        const { config, warnings } = yield* loadedBy([`--config.file=${file}`, "--experimental.gpu.idle-power=35.5"])
        expect(config.experimental.gpu.idlePower).toBe(35.5)
        expect(warnings).toEqual([])
      })))

  it.effect("without GPU power, --experimental.gpu.idle-power and --experimental.gpu.dcgm-endpoint are ignored (Kepler), with a warning", () =>
    Effect.gen(function*() {
      const { config, warnings } = yield* loadedBy([
        "--experimental.gpu.idle-power=35.5",
        // Not a valid endpoint: with GPU power off it is neither used nor checked, as in Kepler.
        "--experimental.gpu.dcgm-endpoint=ftp://user@dcgm?x=1"
      ])
      expect(config.experimental.gpu).toEqual(defaultConfig.experimental.gpu)
      expect(warnings).toEqual([
        gpuIgnored("experimental.gpu.idle-power"),
        gpuIgnored("experimental.gpu.dcgm-endpoint")
      ])
    }))

  it.effect("--no-experimental.gpu.enabled over a file's GPU setting ignores the GPU-only flags too", () =>
    withYaml("experimental:\n  gpu:\n    enabled: true\n    idlePower: 12\n", (file) =>
      Effect.gen(function*() {
        const { config, warnings } = yield* loadedBy([
          `--config.file=${file}`,
          "--no-experimental.gpu.enabled",
          "--experimental.gpu.idle-power=35.5"
        ])
        expect(config.experimental.gpu.idlePower).toBe(12)
        expect(warnings).toEqual([gpuIgnored("experimental.gpu.idle-power")])
      })))

  it.effect("with GPU power on, the dcgm-exporter endpoint is checked by the dcgmEndpoint rules", () =>
    Effect.gen(function*() {
      const result = yield* runCli([
        ...HOST,
        "--experimental.gpu.enabled",
        "--experimental.gpu.dcgm-endpoint=http://dcgm.gpu:9400/metrics?x=1"
      ])
      expect(Option.isNone(result.loaded)).toBe(true)
      expect(failureOf(result)).toMatchObject({ _tag: "ConfigError" })
      expect(result.stderr).toContain("experimental.gpu.dcgmEndpoint: ")
    }))

  it.effect("--experimental.gpu.idle-power takes Kepler's float forms; a negative one is kept (it means detect, as 0)", () =>
    Effect.gen(function*() {
      for (const [text, value] of [["40", 40], ["+1.5e1", 15], [".5", 0.5], ["-5", -5]] as const) {
        const { config } = yield* loadedBy(["--experimental.gpu.enabled", "--experimental.gpu.idle-power", text])
        expect(config.experimental.gpu.idlePower, text).toBe(value)
      }
    }))

  it.effect("--experimental.gpu.idle-power that is not a number is a usage error naming the flag", () =>
    Effect.gen(function*() {
      for (const text of ["35W", "NaN", ""]) {
        const result = yield* runCli([...HOST, "--experimental.gpu.enabled", `--experimental.gpu.idle-power=${text}`])
        expect(Option.isNone(result.loaded)).toBe(true)
        expect(ValidationError.isValidationError(failureOf(result))).toBe(true)
        expect(result.stderr).toContain(
          `--experimental.gpu.idle-power: expected a number, got ${JSON.stringify(text)}`
        )
      }
    }))
})

describe("Kepler's flags: hwmon", () => {
  it.effect("--no-experimental.hwmon.force-enabled over the file's forceEnabled: true keeps the preferred meters", () =>
    withYaml("experimental:\n  hwmon:\n    forceEnabled: true\n", (file) =>
      Effect.gen(function*() {
        const { config, warnings } = yield* loadedBy([`--config.file=${file}`, "--no-experimental.hwmon.force-enabled"])
        expect(config.experimental.hwmon.forceEnabled).toBe(false)
        expect(config.cpu.preferredMeters).toEqual(defaultConfig.cpu.preferredMeters)
        expect(warnings).toEqual([])
      })))

  it.effect("--experimental.hwmon.force-enabled wins over the file's cpu.preferredMeters (Kepler §2.6)", () =>
    withYaml("cpu:\n  preferredMeters: [rapl]\n", (file) =>
      Effect.gen(function*() {
        const { config, warnings } = yield* loadedBy([`--config.file=${file}`, "--experimental.hwmon.force-enabled"])
        expect(config.cpu.preferredMeters).toEqual(["hwmon"])
        expect(warnings).toEqual([HWMON_DEPRECATION])
      })))

  it.effect("--experimental.hwmon.enabled=false: no hwmon override, only the note about the name", () =>
    Effect.gen(function*() {
      const { config, warnings } = yield* loadedBy(["--experimental.hwmon.enabled=false"])
      expect(config.experimental.hwmon.forceEnabled).toBe(false)
      expect(config.cpu.preferredMeters).toEqual(defaultConfig.cpu.preferredMeters)
      expect(warnings).toEqual([HWMON_RENAMED])
    }))

  it.effect("both hwmon names given: the current one, --experimental.hwmon.force-enabled, wins", () =>
    Effect.gen(function*() {
      const { config } = yield* loadedBy(["--experimental.hwmon.enabled", "--no-experimental.hwmon.force-enabled"])
      expect(config.experimental.hwmon.forceEnabled).toBe(false)
      expect(config.cpu.preferredMeters).toEqual(defaultConfig.cpu.preferredMeters)
    }))
})

describe("Kepler's flags: the binary", () => {
  const running: Array<Running> = []
  const dirs: Array<string> = []
  afterEach(() => {
    for (const r of running.splice(0)) if (r.child.exitCode === null) r.child.kill("SIGKILL")
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true })
  })

  // Starting takes a few seconds on a busy 2-core machine (tsx compiles src/ first).
  it("starts with every Kepler flag at once and serves /metrics", { timeout: 90_000 }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "joulemon-kepler-flags-"))
    dirs.push(dir)
    const port = await freePort()
    // Ports nothing listens on: the Kubernetes API and the BMC are unreachable, which joulemon
    // reports and retries without failing to start (as Kepler does).
    const apiPort = await freePort()
    const bmcPort = await freePort()
    const dcgmPort = await freePort()
    const write = (name: string, text: string) => {
      fs.writeFileSync(path.join(dir, name), text)
      return path.join(dir, name)
    }
    const config = write("config.yaml", "monitor:\n  staleness: 1ms\n")
    const webConfig = write("web.yaml", "http_server_config:\n  headers:\n    X-Content-Type-Options: nosniff\n")
    const kubeconfig = write(
      "kubeconfig.yaml",
      [
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        "  - name: c",
        `    cluster: { server: "https://127.0.0.1:${apiPort}", insecure-skip-tls-verify: true }`,
        "contexts:",
        "  - name: c",
        "    context: { cluster: c, user: u }",
        "current-context: c",
        "users:",
        "  - name: u",
        "    user: { token: not-a-real-token }",
        ""
      ].join("\n")
    )
    const bmc = write(
      "bmc.yaml",
      `nodes:\n  worker-7: bmc-1\nbmcs:\n  bmc-1:\n    endpoint: https://127.0.0.1:${bmcPort}\n    username: admin\n    password: example\n    insecure: true\n`
    )
    const args = [
      `--config.file=${config}`,
      "--log.level=info",
      "--log.format=text",
      `--host.sysfs=${path.join(ROOT, "test", "fixtures", "device", "sys")}`,
      `--host.procfs=${path.join(ROOT, "test", "fixtures", "resource", "procfs")}`,
      "--monitor.interval=1s",
      "--monitor.max-terminated=100",
      "--debug.pprof",
      `--web.config-file=${webConfig}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--exporter.stdout=false",
      "--exporter.prometheus",
      "--metrics=node",
      "--metrics=process",
      "--kube.enable",
      `--kube.config=${kubeconfig}`,
      "--kube.node-name=worker-7",
      "--experimental.platform.redfish.enabled",
      "--experimental.platform.redfish.node-name=worker-7",
      `--experimental.platform.redfish.config-file=${bmc}`,
      "--experimental.hwmon.enabled",
      "--experimental.hwmon.force-enabled",
      "--experimental.hwmon.zones=package",
      "--experimental.gpu.enabled",
      "--experimental.gpu.idle-power=35.5",
      `--experimental.gpu.dcgm-endpoint=http://127.0.0.1:${dcgmPort}`
    ]
    // Every flag of the table is in the list.
    for (const { flag } of KEPLER_FLAGS) expect(args.some((a) => a.startsWith(`--${flag}`)), flag).toBe(true)

    const r = startJoulemon(args)
    running.push(r)
    const exitedEarly = r.exited.then(({ code }) => {
      throw new Error(`joulemon exited with ${code}:\n${r.output()}`)
    })
    // Once it listens, the later exit (SIGTERM below, or afterEach) is expected, not a failure.
    exitedEarly.catch(() => undefined)
    await Promise.race([waitForOutput(r, (o) => o.includes("message=listening"), 60_000), exitedEarly])
    const response = await fetch(`http://127.0.0.1:${port}/metrics`)
    expect(response.status).toBe(200)
    // --web.config-file was read.
    expect(response.headers.get("x-content-type-options")).toBe("nosniff")
    const body = await response.text()
    // --experimental.hwmon.force-enabled: the hwmon meter, its zones filtered to "package".
    expect(body).toMatch(/^kepler_node_cpu_joules_total\{zone="package",[^}]*node_name="worker-7"\} /m)
    // (The log line escapes the quotes inside the message.)
    expect(r.output()).toContain("message=\"experimental.hwmon.forceEnabled is deprecated")
    expect(r.output()).not.toContain("unknown argument")
    r.child.kill("SIGTERM")
    expect((await withTimeout(r.exited, 10_000, "process exit")).code).toBe(0)
  })
})
