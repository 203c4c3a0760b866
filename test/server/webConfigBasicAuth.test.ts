import { describe, expect, it } from "@effect/vitest"
import bcrypt from "bcryptjs"
import { Deferred, Effect, FastCheck, Fiber, Option, Ref } from "effect"
import {
  bcryptCheck,
  bcryptCost,
  dummyCost,
  makeBasicAuth,
  makeDummyHash,
  parseBasicAuthorization,
  type PasswordCheck,
  validateUsers
} from "../../src/server/basicAuth.js"

/** The fixture hash of "s3cret" (cost 8), as htpasswd writes it. */
const HASH = "$2y$08$pVA38559dnb1ZNNpf5ZdBeY53/PPPVxUE7mTyeYm/BlfR/W8xLX4q"
const DUMMY = "$2b$08$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234"

const header = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`

interface Call {
  readonly password: string
  readonly hash: string
}

/** A password check that records its calls and can be held open by a gate. */
const recordingCheck = Effect.gen(function*() {
  const calls = yield* Ref.make<ReadonlyArray<Call>>([])
  const running = yield* Ref.make(0)
  const maxRunning = yield* Ref.make(0)
  const gate = yield* Ref.make(Option.none<Deferred.Deferred<void>>())
  const check: PasswordCheck = (password, hash) =>
    Effect.gen(function*() {
      yield* Ref.update(calls, (c) => [...c, { password, hash }])
      const now = yield* Ref.updateAndGet(running, (n) => n + 1)
      yield* Ref.update(maxRunning, (m) => Math.max(m, now))
      const g = yield* Ref.get(gate)
      if (Option.isSome(g)) yield* Deferred.await(g.value)
      yield* Ref.update(running, (n) => n - 1)
      return hash === HASH && password === "s3cret"
    })
  /** Lets other fibers run until `n` checks have started. */
  const started = (n: number) =>
    Effect.gen(function*() {
      while ((yield* Ref.get(calls)).length < n) yield* Effect.yieldNow()
    })
  return { calls, maxRunning, gate, check, started }
})

const settle = Effect.repeatN(Effect.yieldNow(), 20)

describe("parseBasicAuthorization", () => {
  it("decodes the scheme case-insensitively and splits at the first colon", () => {
    expect(parseBasicAuthorization(header("prometheus", "s3:cret"))).toEqual(
      Option.some({ user: "prometheus", password: "s3:cret" })
    )
    expect(parseBasicAuthorization(`bAsIc ${Buffer.from("a:b").toString("base64")}`)).toEqual(
      Option.some({ user: "a", password: "b" })
    )
    expect(parseBasicAuthorization(header("", ""))).toEqual(Option.some({ user: "", password: "" }))
  })

  it("refuses other schemes, bad base64 and a missing colon", () => {
    expect(parseBasicAuthorization(undefined)).toEqual(Option.none())
    expect(parseBasicAuthorization("Bearer abc")).toEqual(Option.none())
    expect(parseBasicAuthorization("Basic")).toEqual(Option.none())
    expect(parseBasicAuthorization("Basic not base64!")).toEqual(Option.none())
    expect(parseBasicAuthorization("Basic YWJj")).toEqual(Option.none()) // "abc": no colon
    expect(parseBasicAuthorization("Basic YTpi=")).toEqual(Option.none()) // bad padding
  })

  it("round-trips any user without a colon and any password", () => {
    FastCheck.assert(
      FastCheck.property(
        FastCheck.string({ unit: "grapheme" }).filter((u) => !u.includes(":")),
        FastCheck.string({ unit: "grapheme" }),
        (user, password) => {
          expect(parseBasicAuthorization(header(user, password))).toEqual(Option.some({ user, password }))
        }
      ),
      { seed: 42, numRuns: 300 }
    )
  })
})

describe("bcrypt hashes", () => {
  it("accepts $2a$, $2b$ and $2y$ with a cost from 4 to 31", () => {
    const tail = HASH.slice(7)
    expect(bcryptCost(HASH)).toBe(8)
    expect(bcryptCost(`$2a$04$${tail}`)).toBe(4)
    expect(bcryptCost(`$2b$31$${tail}`)).toBe(31)
    expect(bcryptCost(`$2y$03$${tail}`)).toBeUndefined()
    expect(bcryptCost(`$2y$32$${tail}`)).toBeUndefined()
    expect(bcryptCost(`$2x$10$${tail}`)).toBeUndefined()
    expect(bcryptCost(`$2y$10$${tail}x`)).toBeUndefined()
    expect(bcryptCost("s3cret")).toBeUndefined()
  })

  it("never echoes a rejected hash in the problem", () => {
    FastCheck.assert(
      FastCheck.property(FastCheck.string({ minLength: 6 }), (secret) => {
        for (const p of validateUsers({ alice: secret })) expect(p.problem).not.toContain(secret)
      }),
      { seed: 42, numRuns: 200 }
    )
  })

  it("the dummy hash has the highest configured cost, is well formed, and matches nothing", async () => {
    expect(dummyCost({ a: HASH, b: `$2y$11$${HASH.slice(7)}` })).toBe(11)
    const dummy = makeDummyHash(8)
    expect(bcryptCost(dummy)).toBe(8)
    expect(bcrypt.getRounds(dummy)).toBe(8)
    expect(await bcrypt.compare("", dummy)).toBe(false)
    expect(await bcrypt.compare("s3cret", dummy)).toBe(false)
  })

  it.effect("bcryptCheck agrees with the htpasswd-style $2y$ fixture hash", () =>
    Effect.gen(function*() {
      expect(yield* bcryptCheck("s3cret", HASH)).toBe(true)
      expect(yield* bcryptCheck("s3cret ", HASH)).toBe(false)
    }))
})

describe("makeBasicAuth", () => {
  it.scoped("checks an unknown user against the dummy hash, so it costs what a wrong password costs", () =>
    Effect.gen(function*() {
      const rec = yield* recordingCheck
      const auth = yield* makeBasicAuth({ users: { prometheus: HASH }, check: rec.check, dummyHash: DUMMY })
      expect(yield* auth.verify({ user: "mallory", password: "s3cret" })).toBe(false)
      expect(yield* auth.verify({ user: "prometheus", password: "wrong" })).toBe(false)
      expect(yield* auth.verify({ user: "prometheus", password: "s3cret" })).toBe(true)
      expect(yield* Ref.get(rec.calls)).toEqual([
        { password: "s3cret", hash: DUMMY },
        { password: "wrong", hash: HASH },
        { password: "s3cret", hash: HASH }
      ])
    }))

  it.scoped("an unknown user is refused even when the check would pass", () =>
    Effect.gen(function*() {
      const auth = yield* makeBasicAuth({
        users: { prometheus: HASH },
        check: () => Effect.succeed(true),
        dummyHash: DUMMY
      })
      expect(yield* auth.verify({ user: "mallory", password: "anything" })).toBe(false)
      expect(yield* auth.verify({ user: "__proto__", password: "anything" })).toBe(false)
    }))

  it.scoped("remembers outcomes, good and bad, per (user, password)", () =>
    Effect.gen(function*() {
      const rec = yield* recordingCheck
      const auth = yield* makeBasicAuth({ users: { prometheus: HASH }, check: rec.check, dummyHash: DUMMY })
      for (let i = 0; i < 5; i++) {
        expect(yield* auth.verify({ user: "prometheus", password: "s3cret" })).toBe(true)
        expect(yield* auth.verify({ user: "prometheus", password: "wrong" })).toBe(false)
      }
      // The user/password boundary is part of the key: "prometheus:" + "x" ≠ "prometheus" + ":x".
      expect(yield* auth.verify({ user: "prometheus:", password: "s3cret" })).toBe(false)
      expect((yield* Ref.get(rec.calls)).length).toBe(3)
    }))

  it.scoped("concurrent requests with the same credentials share one check", () =>
    Effect.gen(function*() {
      const rec = yield* recordingCheck
      const gate = yield* Deferred.make<void>()
      yield* Ref.set(rec.gate, Option.some(gate))
      const auth = yield* makeBasicAuth({ users: { prometheus: HASH }, check: rec.check, dummyHash: DUMMY })
      const fibers = yield* Effect.forEach(Array.from({ length: 50 }), () =>
        Effect.fork(auth.verify({ user: "prometheus", password: "s3cret" })))
      yield* rec.started(1)
      yield* settle
      yield* Deferred.succeed(gate, undefined)
      const results = yield* Fiber.joinAll(fibers)
      expect(results.every((ok) =>
        ok
      )).toBe(true)
      expect((yield* Ref.get(rec.calls)).length).toBe(1)
    }))

  it.scoped("runs one check at a time", () =>
    Effect.gen(function*() {
      const rec = yield* recordingCheck
      const gate = yield* Deferred.make<void>()
      yield* Ref.set(rec.gate, Option.some(gate))
      const auth = yield* makeBasicAuth({ users: { prometheus: HASH }, check: rec.check, dummyHash: DUMMY })
      const fibers = yield* Effect.forEach(["a", "b", "c", "d"], (password) =>
        Effect.fork(auth.verify({ user: "prometheus", password })))
      yield* rec.started(1)
      yield* settle
      // The other three wait for the first to finish.
      expect((yield* Ref.get(rec.calls)).length).toBe(1)
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.joinAll(fibers)
      expect((yield* Ref.get(rec.calls)).length).toBe(4)
      expect(yield* Ref.get(rec.maxRunning)).toBe(1)
    }))

  it.scoped("a request that goes away mid-check does not leave the next one waiting", () =>
    Effect.gen(function*() {
      const rec = yield* recordingCheck
      const gate = yield* Deferred.make<void>()
      yield* Ref.set(rec.gate, Option.some(gate))
      const auth = yield* makeBasicAuth({ users: { prometheus: HASH }, check: rec.check, dummyHash: DUMMY })
      const first = yield* Effect.fork(auth.verify({ user: "prometheus", password: "s3cret" }))
      yield* rec.started(1)
      yield* Fiber.interrupt(first)
      yield* Deferred.succeed(gate, undefined)
      expect(yield* auth.verify({ user: "prometheus", password: "s3cret" })).toBe(true)
      expect((yield* Ref.get(rec.calls)).length).toBe(1)
    }))

  it.scoped("the memo is bounded: when full it starts afresh", () =>
    Effect.gen(function*() {
      const rec = yield* recordingCheck
      const auth = yield* makeBasicAuth({
        users: { prometheus: HASH },
        check: rec.check,
        dummyHash: DUMMY,
        memoCapacity: 2
      })
      for (const password of ["a", "b", "c", "a"]) yield* auth.verify({ user: "prometheus", password })
      expect((yield* Ref.get(rec.calls)).map((c) => c.password)).toEqual(["a", "b", "c", "a"])
    }))

  it.scoped("with real bcrypt: right, wrong, unknown", () =>
    Effect.gen(function*() {
      const auth = yield* makeBasicAuth({ users: { prometheus: HASH } })
      expect(yield* auth.verify({ user: "prometheus", password: "s3cret" })).toBe(true)
      expect(yield* auth.verify({ user: "prometheus", password: "S3cret" })).toBe(false)
      expect(yield* auth.verify({ user: "grafana", password: "s3cret" })).toBe(false)
    }))
})
