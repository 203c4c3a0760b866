import { ValidationError } from "@effect/cli"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, Option, Schema } from "effect"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { flagNames } from "../../src/cli/flags.js"
import { defaultConfig } from "../../src/config/defaults.js"
import { failureOf, runCli } from "../support/cli.js"

const FIXTURES = fileURLToPath(new URL("../fixtures/config/", import.meta.url))
const fixture = (name: string) => path.join(FIXTURES, name)
const HOST = [`--host.sysfs=${fixture("host/sys")}`, `--host.procfs=${fixture("host/proc")}`]

/** The LoadedConfig a successful run handed to `run`. */
const loadedBy = (args: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const result = yield* runCli(args)
    expect(result.stderr).toBe("")
    expect(Exit.isSuccess(result.exit)).toBe(true)
    return Option.getOrThrow(result.loaded)
  })

describe("makeCli: running", () => {
  it.effect("with no arguments runs with the defaults", () =>
    Effect.gen(function*() {
      const { config, warnings } = yield* loadedBy([])
      expect(warnings).toEqual([])
      expect(config).toEqual({ ...defaultConfig, kube: { ...defaultConfig.kube, nodeName: os.hostname() } })
    }))

  it.effect("accepts Kepler's DaemonSet arguments (file + --kube.enable + --kube.node-name)", () =>
    Effect.gen(function*() {
      const { config } = yield* loadedBy([
        `--config.file=${fixture("kepler-configmap.yaml")}`,
        "--kube.enable",
        "--kube.node-name=worker-1",
        ...HOST
      ])
      expect(config.log.level).toBe("debug")
      expect(config.kube).toMatchObject({ enabled: true, nodeName: "worker-1" })
      expect(config.monitor.maxTerminated).toBe(100)
    }))

  it.effect("maps every flag onto its key", () =>
    Effect.gen(function*() {
      const { config } = yield* loadedBy([
        "--log.level=debug",
        "--log.format",
        "json",
        ...HOST,
        "--monitor.interval=1m30s",
        "--monitor.max-terminated=-1",
        "--monitor.parallelism",
        "2",
        "--monitor.state-dir=/var/lib/joulemon",
        "--exporter.stdout",
        "--no-exporter.prometheus",
        "--metrics=pod",
        "--metrics",
        "node",
        "--debug.pprof=true",
        `--web.config-file=${fixture("web-config.yaml")}`,
        "--web.listen-address=:9000",
        "--web.listen-address",
        "[::1]:9001",
        "--kube.enable",
        `--kube.config=${fixture("kubeconfig.yaml")}`,
        "--kube.node-name",
        "worker-3",
        "--experimental.platform.redfish.enabled",
        "--experimental.platform.redfish.node-name=bmc-3",
        `--experimental.platform.redfish.config-file=${fixture("redfish.yaml")}`,
        "--experimental.hwmon.zones=power1",
        "--experimental.hwmon.zones=power2"
      ])
      expect(config.log).toEqual({ level: "debug", format: "json" })
      expect(config.host).toEqual({ sysfs: fixture("host/sys"), procfs: fixture("host/proc") })
      expect(config.monitor.interval).toEqual(Duration.seconds(90))
      expect(config.monitor.maxTerminated).toBe(-1)
      expect(config.monitor.parallelism).toBe(2)
      expect(config.monitor.stateDir).toBe("/var/lib/joulemon")
      expect(config.exporter.stdout.enabled).toBe(true)
      expect(config.exporter.prometheus.enabled).toBe(false)
      expect(config.exporter.prometheus.metricsLevel).toEqual(["node", "pod"])
      expect(config.debug.pprof.enabled).toBe(true)
      expect(config.web).toEqual({ configFile: fixture("web-config.yaml"), listenAddresses: [":9000", "[::1]:9001"] })
      expect(config.kube).toMatchObject({ enabled: true, config: fixture("kubeconfig.yaml"), nodeName: "worker-3" })
      expect(config.experimental.platform.redfish).toMatchObject({
        enabled: true,
        nodeName: "bmc-3",
        configFile: fixture("redfish.yaml")
      })
      expect(config.experimental.hwmon.zones).toEqual(["power1", "power2"])
    }))

  it.effect("--metrics node --metrics process gives exactly those levels (check 14)", () =>
    Effect.gen(function*() {
      const { config } = yield* loadedBy([...HOST, "--metrics", "node", "--metrics", "process"])
      expect(config.exporter.prometheus.metricsLevel).toEqual(["node", "process"])
    }))

  it.effect("file exporter.prometheus.enabled: false + --exporter.stdout (check 14)", () =>
    withYaml("exporter:\n  prometheus:\n    enabled: false\n", (file) =>
      Effect.gen(function*() {
        const { config } = yield* loadedBy([`--config.file=${file}`, "--exporter.stdout", ...HOST])
        expect(config.exporter.stdout.enabled).toBe(true)
        expect(config.exporter.prometheus.enabled).toBe(false)
      })))
})

const withYaml = <A, E>(yaml: string, use: (file: string) => Effect.Effect<A, E>) =>
  Effect.acquireUseRelease(
    Effect.promise(async () => {
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), "joulemon-cli-"))
      await fs.writeFile(path.join(dir, "config.yaml"), yaml)
      return dir
    }),
    (dir) => use(path.join(dir, "config.yaml")),
    (dir) => Effect.promise(() => fs.rm(dir, { recursive: true, force: true }))
  )

describe("makeCli: boolean flags", () => {
  const prometheusWith = (fileValue: boolean, args: ReadonlyArray<string>) =>
    withYaml(
      `exporter:\n  prometheus:\n    enabled: ${fileValue}\n`,
      (file) =>
        Effect.map(loadedBy([`--config.file=${file}`, ...HOST, ...args]), ({ config }) =>
          config.exporter.prometheus.enabled)
    )

  const cases: ReadonlyArray<readonly [boolean, ReadonlyArray<string>, boolean]> = [
    [false, [], false], // not given: the file's value stays
    [true, [], true],
    [false, ["--exporter.prometheus"], true],
    [true, ["--no-exporter.prometheus"], false],
    [false, ["--exporter.prometheus=true"], true],
    [true, ["--exporter.prometheus=false"], false],
    [true, ["--exporter.prometheus", "false"], false],
    [false, ["--no-exporter.prometheus", "--exporter.prometheus"], true], // the last one wins
    [true, ["--exporter.prometheus", "--no-exporter.prometheus"], false]
  ]
  for (const [fileValue, args, expected] of cases) {
    it.effect(`file ${fileValue} + [${args.join(" ")}] → ${expected}`, () =>
      Effect.gen(function*() {
        expect(yield* prometheusWith(fileValue, args)).toBe(expected)
      }))
  }
})

describe("makeCli: errors", () => {
  it.effect("prints a ConfigError to stderr, one violation a line, and fails without running", () =>
    Effect.gen(function*() {
      const result = yield* runCli([...HOST, "--web.listen-address=:99999", "--kube.enable"])
      expect(Option.isNone(result.loaded)).toBe(true)
      expect(failureOf(result)).toMatchObject({ _tag: "ConfigError" })
      expect(result.stderr).toBe(
        [
          "invalid configuration:",
          "  web.listenAddresses[0]: invalid web listen address \":99999\": port must be between 1 and 65535, got 99999",
          "  kube.nodeName: kube.node-name not supplied but kube.enable set to true (set kube.nodeName or pass --kube.node-name)"
        ].join("\n")
      )
    }))

  it.effect("names the config file it cannot open", () =>
    Effect.gen(function*() {
      const missing = fixture("missing.yaml")
      const result = yield* runCli([`--config.file=${missing}`])
      expect(failureOf(result)).toMatchObject({ _tag: "ConfigError" })
      expect(result.stderr).toContain(`failed to open config file ${JSON.stringify(missing)}`)
    }))

  const badValues: ReadonlyArray<readonly [ReadonlyArray<string>, string]> = [
    [["--log.level", "loud"], "--log.level: invalid log level: \"loud\" (one of debug, info, warn, error)"],
    [["--log.format=xml"], "--log.format: invalid log format: \"xml\" (one of text, json)"],
    [
      ["--monitor.interval", "5"],
      "--monitor.interval: expected a Go duration like \"5s\", got \"5\": time: missing unit in duration \"5\""
    ],
    [["--monitor.max-terminated=ten"], "--monitor.max-terminated: expected an integer, got \"ten\""],
    [["--monitor.parallelism=1.5"], "--monitor.parallelism: expected an integer, got \"1.5\""],
    [["--metrics", "node,pod"], "--metrics: unknown metrics level: node,pod"],
    [["--kube.enable=maybe"], "--kube.enable: expected true or false, got \"maybe\""]
  ]
  for (const [args, message] of badValues) {
    it.effect(`rejects ${args.join(" ")} naming the flag`, () =>
      Effect.gen(function*() {
        const result = yield* runCli([...HOST, ...args])
        expect(Option.isNone(result.loaded)).toBe(true)
        expect(ValidationError.isValidationError(failureOf(result))).toBe(true)
        expect(result.stderr).toContain(message)
      }))
  }

  it.effect("rejects an unknown flag", () =>
    Effect.gen(function*() {
      const result = yield* runCli(["--kube.enabled"])
      expect(Option.isNone(result.loaded)).toBe(true)
      expect(ValidationError.isValidationError(failureOf(result))).toBe(true)
      expect(result.stderr).toContain("--kube.enabled")
    }))
})

describe("makeCli: --help and --version", () => {
  const YAML_KEYS = [
    "log.level",
    "log.format",
    "host.sysfs",
    "host.procfs",
    "monitor.interval",
    "monitor.maxTerminated",
    "monitor.parallelism",
    "monitor.stateDir",
    "exporter.stdout.enabled",
    "exporter.prometheus.enabled",
    "exporter.prometheus.metricsLevel",
    "debug.pprof.enabled",
    "web.configFile",
    "web.listenAddresses",
    "kube.enabled",
    "kube.config",
    "kube.nodeName",
    "experimental.platform.redfish.enabled",
    "experimental.platform.redfish.nodeName",
    "experimental.platform.redfish.configFile",
    "experimental.hwmon.zones"
  ]

  it.effect("help flags lists every flag, its negation, its YAML key and its default, and runs nothing", () =>
    Effect.gen(function*() {
      const short = yield* runCli(["--help"])
      expect(Exit.isSuccess(short.exit)).toBe(true)
      expect(Option.isNone(short.loaded)).toBe(true)
      // The one-screen --help has a line per flag; the full texts moved to `joulemon help flags`.
      const result = yield* runCli(["help", "flags"])
      expect(Exit.isSuccess(result.exit)).toBe(true)
      expect(Option.isNone(result.loaded)).toBe(true)
      const help = result.stdout.replace(/\s+/g, " ")
      for (const flag of flagNames.valued) expect(help).toContain(`--${flag} `)
      for (const flag of flagNames.booleans) {
        expect(help).toContain(`--${flag} `)
        expect(help).toContain(`--no-${flag} `)
      }
      for (const key of YAML_KEYS) expect(help).toContain(`YAML: ${key}.`)
      // Every flag states its default (--config.file too: "Default: none").
      expect(help.match(/Default: /g)?.length).toBe(flagNames.valued.length + flagNames.booleans.length)
    }))

  it.effect("--version prints package.json's version", () =>
    Effect.gen(function*() {
      const text = yield* Effect.promise(() => fs.readFile(new URL("../../package.json", import.meta.url), "utf8"))
      const { version } = yield* Schema.decodeUnknown(Schema.parseJson(Schema.Struct({ version: Schema.String })))(text)
      const result = yield* runCli(["--version"])
      expect(Exit.isSuccess(result.exit)).toBe(true)
      expect(Option.isNone(result.loaded)).toBe(true)
      expect(result.stdout.trim()).toBe(version)
    }))
})
