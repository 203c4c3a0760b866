import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"

/**
 * A stream that takes one chunk from `chunks` per pull, so the response writer's backpressure
 * paces the generator. (`Readable.from` + `NodeStream.fromReadable` drains a synchronous
 * iterable in one go: the whole body was built before the first byte was sent.)
 */
export const pulledOneByOne = (chunks: Iterable<string>): Stream.Stream<Uint8Array> =>
  Stream.suspend(() => {
    const iterator = chunks[Symbol.iterator]()
    return Stream.repeatEffectOption(
      Effect.suspend(() => {
        const next = iterator.next()
        return next.done === true ? Effect.fail(Option.none()) : Effect.succeed(Buffer.from(next.value))
      })
    )
  })
