/** `joulemon measure` through the in-process CLI: help, usage errors, and the command's status. */
import * as ValidationError from "@effect/cli/ValidationError"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { MeasureFinished } from "../../src/measure/measure.js"
import { failureOf, runCli } from "../support/cli.js"

describe("joulemon measure through the CLI", () => {
  it.effect("measure --help: the one-screen help with its own flags; help measure: every figure and the JSON shape", () =>
    Effect.gen(function*() {
      const short = yield* runCli(["measure", "--help"])
      expect(short.stdout).toContain("joulemon measure")
      expect(short.stdout).toMatch(/--interval DURATION\s+measure: time between readings/)
      expect(short.stdout).toContain("-- CMD [ARGS...]")
      expect(short.stdout).not.toMatch(/^ {2}<CMD>/m)
      const full = yield* runCli(["help", "measure"])
      expect(full.stdout).toContain("share attributed to the command's process tree")
      expect(full.stdout).toContain("formatVersion 1")
      expect(full.stdout).toContain("shareOfActive")
      expect(full.stdout).not.toMatch(/A user-defined piece of text|A true or false value\./)
      const root = yield* runCli(["--help"])
      expect(root.stdout).toMatch(/^ {2}measure {2}runs one command and reports the energy it caused/m)
    }))

  it.effect("no command: an error saying how to give one; the daemon is not started", () =>
    Effect.gen(function*() {
      for (const args of [["measure"], ["measure", "--"], ["measure", "--output", "json", "--"]]) {
        const result = yield* runCli(args)
        expect(result.stderr).toContain("joulemon measure: no command given; usage: joulemon measure [FLAGS] -- CMD")
        expect(ValidationError.isValidationError(failureOf(result))).toBe(true)
        expect(Option.isNone(result.loaded)).toBe(true)
      }
    }))

  it.effect("a bad --interval names the value", () =>
    Effect.gen(function*() {
      const bad = yield* runCli(["measure", "--interval", "5 parsecs", "--", "true"])
      expect(bad.stderr).toContain(`--interval: time: unknown unit " parsecs" in duration "5 parsecs"`)
      const negative = yield* runCli(["measure", "--interval=-1s", "--", "true"])
      expect(negative.stderr).toContain(`--interval: must be more than 0, got "-1s"`)
      expect(ValidationError.isValidationError(failureOf(negative))).toBe(true)
    }))

  it.effect("a bad configuration is reported before the command runs", () =>
    Effect.gen(function*() {
      const result = yield* runCli(["measure", "--monitor.parallelism=0", "--", "sh", "-c", "echo ran"])
      expect(result.stderr).toMatch(/^invalid configuration:\n {2}.*parallelism/m)
      expect(result.stderr).not.toContain("joulemon measure: sh")
    }))

  it.effect(
    "the command's flags after `--` are its own; its non-zero status is the failure",
    () =>
      Effect.gen(function*() {
        const result = yield* runCli(["measure", "--interval", "100ms", "--", "sh", "-c", "exit 5", "--help"])
        const failure = failureOf(result)
        expect(failure).toBeInstanceOf(MeasureFinished)
        expect(failure instanceof MeasureFinished ? failure.exitCode : undefined).toBe(5)
        expect(result.stderr).toMatch(/joulemon measure: sh -c 'exit 5' --help\n {2}pid \d+, exit status 5/)
      }),
    30_000
  )
})
