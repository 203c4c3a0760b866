/**
 * For the record → replay e2e tests: one refresh's samples by series, the refreshes of a
 * `replay --output` file, and running `joulemon replay` to a file.
 */
import * as fs from "node:fs"
import { expect } from "vitest"
import { type Running, startJoulemon, withTimeout } from "./binary.js"
import { parseSamples } from "./exposition.js"

/** One refresh's samples, by series, for `families` (every family when undefined). */
export const bySeries = (text: string, families?: ReadonlySet<string>) =>
  new Map(
    parseSamples(text)
      .filter((s) => families === undefined || families.has(s.name))
      .map((s) => [`${s.name}${JSON.stringify(Object.entries(s.labels).sort())}`, s.value])
  )

/** `# joulemon replay: refresh N of M` splits the output into refreshes. */
export const refreshesOf = (text: string): Array<string> =>
  text.split(/^# joulemon replay: refresh \d+ of \d+.*\n/m).slice(1)

/** `joulemon replay --output out recording`, which must exit 0; the file it wrote. */
export const replayTo = async (recording: string, out: string, started: Array<Running>): Promise<string> => {
  const r = startJoulemon(["replay", "--output", out, recording])
  started.push(r)
  const exit = await withTimeout(r.exited, 30_000, "replay exit")
  expect(exit.code, r.output()).toBe(0)
  return fs.readFileSync(out, "utf8")
}
