/**
 * Section `wire` of `npm run bench`: what decoding one collection's process columns costs the
 * monitor's event loop (the worker's reading arrives through @effect/platform's Worker, which
 * decodes it with its Schema on the main thread). Side by side: the shipped columns (typed
 * arrays, string columns checked in one loop) and the same columns as `Schema.Array(Schema.String)`,
 * which walks a parser per element. Run alone: `npx tsx scripts/bench/wireDecode.ts`.
 */
import * as Schema from "effect/Schema"
import { ProcessColumns } from "../../src/collector/protocol.js"
import { median, round } from "./stats.js"

const PerElement = Schema.Struct({
  comm: Schema.Array(Schema.String),
  exe: Schema.Array(Schema.String),
  containerId: Schema.Array(Schema.String),
  vmId: Schema.Array(Schema.String)
})

const columns = (n: number) => ({
  pid: Int32Array.from({ length: n }, (_, i) => i + 1),
  startTime: new Float64Array(n),
  cpuTicksTotal: new Float64Array(n),
  cpuTicksDelta: new Float64Array(n),
  type: new Uint8Array(n),
  firstSeen: new Uint8Array(n),
  comm: Array.from({ length: n }, (_, i) => `proc${i % 977}`),
  exe: Array.from({ length: n }, (_, i) => `/usr/bin/p${i % 977}`),
  containerId: Array.from({ length: n }, (_, i) => (i % 3 === 0 ? "e".repeat(64) : "")),
  vmId: Array.from({ length: n }, () => "")
})

const timed = (run: () => unknown, repetitions = 9): number => {
  const ms: Array<number> = []
  for (let i = 0; i < repetitions; i++) {
    const start = performance.now()
    run()
    ms.push(performance.now() - start)
  }
  return round(median(ms), 2)
}

export interface WireDecodeResult {
  readonly processes: number
  readonly shippedMs: number
  readonly perElementMs: number
}

export const wireDecodeSection = (line: (text: string) => void): ReadonlyArray<WireDecodeResult> => {
  const shipped = Schema.decodeUnknownSync(ProcessColumns)
  const perElement = Schema.decodeUnknownSync(PerElement)
  return [10_000, 50_000].map((processes) => {
    const c = columns(processes)
    const result = { processes, shippedMs: timed(() => shipped(c)), perElementMs: timed(() => perElement(c)) }
    line(
      `wire decode at ${processes} processes (median of 9, main thread): ${result.shippedMs} ms shipped, ` +
        `${result.perElementMs} ms with Schema.Array(Schema.String) string columns`
    )
    return result
  })
}

if (import.meta.url === `file://${process.argv[1]}`) wireDecodeSection(console.log)
