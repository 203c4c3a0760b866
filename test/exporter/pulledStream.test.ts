import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Stream } from "effect"
import { pulledOneByOne } from "../../src/exporter/prometheus/pulledStream.js"

const counting = (n: number) => {
  const produced = { count: 0 }
  const iterable: Iterable<string> = {
    *[Symbol.iterator]() {
      for (let i = 0; i < n; i++) {
        produced.count++
        yield `chunk ${i}\n`
      }
    }
  }
  return { iterable, produced }
}

describe("pulledOneByOne", () => {
  it.effect("pulls the source only as far as the consumer reads", () =>
    Effect.gen(function*() {
      const { iterable, produced } = counting(1000)
      const first = yield* Stream.runCollect(Stream.take(pulledOneByOne(iterable), 3))
      expect(Chunk.size(first)).toBe(3)
      expect(produced.count).toBeLessThanOrEqual(4)
    }))

  it.effect("delivers every chunk, in order, as bytes", () =>
    Effect.gen(function*() {
      const { iterable } = counting(5)
      const all = yield* Stream.runCollect(pulledOneByOne(iterable))
      expect(Chunk.toReadonlyArray(all).map((b) => Buffer.from(b).toString())).toEqual([
        "chunk 0\n",
        "chunk 1\n",
        "chunk 2\n",
        "chunk 3\n",
        "chunk 4\n"
      ])
    }))

  it.effect("can be run again from the start (a re-iterable source)", () =>
    Effect.gen(function*() {
      const { iterable } = counting(2)
      const stream = pulledOneByOne(iterable)
      expect(Chunk.size(yield* Stream.runCollect(stream))).toBe(2)
      expect(Chunk.size(yield* Stream.runCollect(stream))).toBe(2)
    }))
})
