import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Cause, Console, Effect, Exit, Option, Ref } from "effect"
import type { TerminalInfo } from "../../src/cli/colour.js"
import { DoctorFindings, makeCli } from "../../src/cli/command.js"
import { hostTree } from "../doctor/hostTree.js"

/** `joulemon <args>`: what it printed and how it ended; `run` (the daemon) must not be reached. */
const joulemon = (args: ReadonlyArray<string>, terminal: TerminalInfo) =>
  Effect.gen(function*() {
    const out = yield* Ref.make<ReadonlyArray<string>>([])
    const ran = yield* Ref.make(false)
    const base = yield* Effect.console
    const capture: Console.Console = {
      ...base,
      log: (...parts: ReadonlyArray<unknown>) => Ref.update(out, (l) => [...l, parts.map(String).join(" ")]),
      error: (...parts: ReadonlyArray<unknown>) => Ref.update(out, (l) => [...l, parts.map(String).join(" ")])
    }
    const exit = yield* makeCli(() => Ref.set(ran, true), terminal)(["node", "joulemon", ...args]).pipe(
      Effect.withConsole(capture),
      Effect.provide(NodeContext.layer),
      Effect.exit
    )
    expect(yield* Ref.get(ran)).toBe(false)
    const failure = Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined
    return {
      output: (yield* Ref.get(out)).join("\n"),
      exitCode: Exit.isSuccess(exit) ? 0 : failure instanceof DoctorFindings ? failure.exitCode : -1
    }
  })

const PIPE: TerminalInfo = { stdoutIsTTY: false, stderrIsTTY: false, noColor: undefined }
const TTY: TerminalInfo = { stdoutIsTTY: true, stderrIsTTY: true, noColor: undefined }

describe("joulemon doctor through the CLI", () => {
  it.scoped("flags after `doctor` override the same flags before it", () =>
    Effect.gen(function*() {
      const tree = yield* hostTree({ raplZones: ["package-0"], cgroup: "v2" })
      const result = yield* joulemon(
        [
          "--host.sysfs=/nonexistent",
          `--host.procfs=${tree.procfs}`,
          "doctor",
          `--host.sysfs=${tree.sysfs}`,
          "--output=json"
        ],
        PIPE
      )
      const report = JSON.parse(result.output) as {
        readonly exitCode: number
        readonly checks: ReadonlyArray<{ readonly id: string; readonly verdict: string }>
      }
      expect(report.checks.find((c) => c.id === "config")?.verdict).toBe("passed")
      expect(report.checks.find((c) => c.id === "powercap")?.verdict).toBe("passed")
      expect(result.exitCode).toBe(report.exitCode)
    }))

  it.scoped("an invalid configuration ends with DoctorFindings(2), not a ConfigError, and does not run the daemon", () =>
    Effect.gen(function*() {
      const tree = yield* hostTree({ cgroup: "v2" })
      const result = yield* joulemon([
        "doctor",
        `--host.sysfs=${tree.sysfs}`,
        `--host.procfs=${tree.procfs}`,
        "--monitor.parallelism=0"
      ], PIPE)
      expect(result.exitCode).toBe(2)
      expect(result.output).toMatch(/^FAIL {2}configuration: /m)
    }))

  it.scoped("human output is coloured on a terminal only", () =>
    Effect.gen(function*() {
      const tree = yield* hostTree({ cgroup: "v2" })
      const args = ["doctor", `--host.sysfs=${tree.sysfs}`, `--host.procfs=${tree.procfs}`]
      expect((yield* joulemon(args, TTY)).output).toContain("\u001b[31mFAIL\u001b[0m  powercap (RAPL)")
      const piped = yield* joulemon(args, PIPE)
      expect(piped.output).not.toContain("\u001b")
      expect(piped.exitCode).toBe(1)
      expect((yield* joulemon(args, { ...TTY, noColor: "1" })).output).not.toContain("\u001b")
    }))
})
