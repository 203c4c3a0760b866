import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Console, Effect, Ref } from "effect"
import { unknownFlag } from "../../src/cli/argv.js"
import type { TerminalInfo } from "../../src/cli/colour.js"
import { colourWanted } from "../../src/cli/colour.js"
import { makeCli } from "../../src/cli/command.js"
import { flagNames } from "../../src/cli/flags.js"
import { DEPRECATED_FLAGS, FLAG_SUMMARIES } from "../../src/cli/flagSummaries.js"
import { helpRequest } from "../../src/cli/help.js"

/** stdout of `joulemon <args>` as written, escapes and all. */
const stdoutOf = (args: ReadonlyArray<string>, terminal: TerminalInfo) =>
  Effect.gen(function*() {
    const lines = yield* Ref.make<ReadonlyArray<string>>([])
    const base = yield* Effect.console
    const capture: Console.Console = {
      ...base,
      log: (...parts: ReadonlyArray<unknown>) => Ref.update(lines, (l) => [...l, parts.map(String).join(" ")]),
      error: (...parts: ReadonlyArray<unknown>) => Ref.update(lines, (l) => [...l, parts.map(String).join(" ")])
    }
    yield* makeCli(() => Effect.void, terminal)(["node", "joulemon", ...args]).pipe(
      Effect.withConsole(capture),
      Effect.provide(NodeContext.layer),
      Effect.exit
    )
    return (yield* Ref.get(lines)).join("\n")
  })

const TTY: TerminalInfo = { stdoutIsTTY: true, stderrIsTTY: true, noColor: undefined }
const PIPE: TerminalInfo = { stdoutIsTTY: false, stderrIsTTY: false, noColor: undefined }

describe("help and colour", () => {
  it.effect("--help on a terminal is coloured; piped or with NO_COLOR it is plain", () =>
    Effect.gen(function*() {
      expect(yield* stdoutOf(["--help"], TTY)).toContain("\u001b[")
      expect(yield* stdoutOf(["--help"], PIPE)).not.toContain("\u001b")
      expect(yield* stdoutOf(["--help"], { ...TTY, noColor: "1" })).not.toContain("\u001b")
    }))

  it.effect("a usage error is plain when stderr is not a terminal", () =>
    Effect.gen(function*() {
      const out = yield* stdoutOf(["--log.level", "loud"], PIPE)
      expect(out).toContain("--log.level")
      expect(out).not.toContain("\u001b")
    }))

  it.effect("help flags: every option has its own description and no type placeholder", () =>
    Effect.gen(function*() {
      const help = yield* stdoutOf(["help", "flags"], PIPE)
      expect(help).not.toMatch(/A user-defined piece of text|A true or false value\.|An integer\./)
      for (const name of [...flagNames.valued, ...flagNames.booleans]) {
        expect(help).toMatch(new RegExp(`^--${name.replace(/\./g, "\\.")}\\b`, "m"))
      }
    }))

  it.effect("--help: every flag has a one-line summary beside or under it", () =>
    Effect.gen(function*() {
      const help = yield* stdoutOf(["--help"], PIPE)
      const doctor = yield* stdoutOf(["doctor", "--help"], PIPE)
      const full = yield* stdoutOf(["help", "flags"], PIPE)
      for (const name of [...flagNames.valued, ...flagNames.booleans]) {
        const summary = FLAG_SUMMARIES[name]
        expect(summary, name).toBeDefined()
        // Kepler's deprecated flags are left out of the one screen, kept in `help flags`.
        if (DEPRECATED_FLAGS.has(name)) {
          expect(help).not.toContain(`${summary}`)
          expect(full).toContain(`--${name}`)
        } else expect(help).toContain(`${summary}`)
      }
      expect(doctor).toContain(FLAG_SUMMARIES["output"])
    }))

  it.effect("help <flag>: that flag's full entry, --no- variant included", () =>
    Effect.gen(function*() {
      const entry = yield* stdoutOf(["help", "kube.enable"], PIPE)
      expect(entry).toMatch(/^--kube\.enable\n\n {2}Attribute energy to Kubernetes pods;/)
      expect(entry).toContain("--no-kube.enable")
      expect(entry).not.toContain("--kube.config")
    }))

  it("NO_COLOR counts when present and not empty (no-color.org)", () => {
    expect(colourWanted(true, undefined)).toBe(true)
    expect(colourWanted(true, "")).toBe(true)
    expect(colourWanted(true, "0")).toBe(false)
    expect(colourWanted(false, undefined)).toBe(false)
  })

  it("helpRequest finds the subcommand, skipping flag values", () => {
    expect(helpRequest(["--help"], flagNames.valued, ["doctor"])).toEqual({ subcommand: undefined })
    expect(helpRequest(["doctor", "-h"], flagNames.valued, ["doctor"])).toEqual({ subcommand: "doctor" })
    expect(helpRequest(["--kube.node-name", "doctor", "--help"], flagNames.valued, ["doctor"])).toEqual({
      subcommand: undefined
    })
    expect(helpRequest(["doctor", "--", "--help"], flagNames.valued, ["doctor"])).toBeUndefined()
  })

  it("unknownFlag names the first flag no command knows", () => {
    expect(unknownFlag(["--kube.enabled"], flagNames)).toBe("--kube.enabled")
    expect(unknownFlag(["--no-kube.enable", "doctor", "--host.sysfs", "--weird-dir"], flagNames)).toBeUndefined()
    expect(unknownFlag(["--completions", "bash"], flagNames)).toBeUndefined()
  })
})
