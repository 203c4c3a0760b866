/**
 * eslint/no-floating-effect.mjs through ESLint and the project's own config: it reports an
 * Effect dropped as a statement and accepts the ways of using one (yield*, return, void, a
 * fiber from runFork). The probe file is written under test/ so the project's tsconfig types it.
 */
import { ESLint } from "eslint"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { ROOT } from "../support/binary.js"

const probe = path.join(ROOT, "test", "lint", `probe-${process.pid}.ts`)

const lint = async (code: string): Promise<ReadonlyArray<{ rule: string | null; line: number }>> => {
  fs.writeFileSync(probe, code)
  const eslint = new ESLint({ cwd: ROOT })
  const [result] = await eslint.lintFiles([probe])
  return (result?.messages ?? []).map((m) => ({ rule: m.ruleId, line: m.line }))
}

afterAll(() => fs.rmSync(probe, { force: true }))

describe("local/no-floating-effect", () => {
  it("reports Effects created and dropped, in and out of generators", async () => {
    const found = await lint(
      [
        "import { Effect, Option, Ref } from \"effect\"",
        "export const f = (r: Ref.Ref<number>) =>",
        "  Effect.gen(function* () {",
        "    Effect.log(\"never logged\")",
        "    Ref.set(r, 1)",
        "    yield* Effect.void",
        "  })",
        "export const g = () => {",
        "  Option.some(1)",
        "}",
        ""
      ].join("\n")
    )
    expect(found).toEqual([
      { rule: "local/no-floating-effect", line: 4 },
      { rule: "local/no-floating-effect", line: 5 },
      { rule: "local/no-floating-effect", line: 9 }
    ])
  }, 60_000)

  it("accepts yield*, return, void and a forked fiber", async () => {
    const found = await lint(
      [
        "import { Effect, Ref } from \"effect\"",
        "export const f = (r: Ref.Ref<number>) =>",
        "  Effect.gen(function* () {",
        "    yield* Ref.set(r, 1)",
        "    void Effect.log(\"deliberately dropped\")",
        "    return Effect.void",
        "  })",
        "export const g = () => {",
        "  Effect.runFork(Effect.void)",
        "}",
        ""
      ].join("\n")
    )
    expect(found).toEqual([])
  }, 60_000)
})
