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
      expect(yield* auth.verify({ user: "mallory", password: "s3cret" })).toBe("refused")
      expect(yield* auth.verify({ user: "prometheus", password: "wrong" })).toBe("refused")
      expect(yield* auth.verify({ user: "prometheus", password: "s3cret" })).toBe("accepted")
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
      expect(yield* auth.verify({ user: "mallory", password: "anything" })).toBe("refused")
      expect(yield* auth.verify({ user: "__proto__", password: "anything" })).toBe("refused")
    }))

  it.scoped("remembers outcomes, good and bad, per (user, password)", () =>
    Effect.gen(function*() {
      const rec = yield* recordingCheck
      const auth = yield* makeBasicAuth({ users: { prometheus: HASH }, check: rec.check, dummyHash: DUMMY })
      for (let i = 0; i < 5; i++) {
        expect(yield* auth.verify({ user: "prometheus", password: "s3cret" })).toBe("accepted")
        expect(yield* auth.verify({ user: "prometheus", password: "wrong" })).toBe("refused")
      }
      // The user/password boundary is part of the key: "prometheus:" + "x" ≠ "prometheus" + ":x".
      expect(yield* auth.verify({ user: "prometheus:", password: "s3cret" })).toBe("refused")
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
      expect(results.every((verdict) =>
        verdict === "accepted"
      )).toBe(true)
      expect((yield* Ref.get(rec.calls)).length).toBe(1)
    }))

  it.scoped("runs one check at a time", () =>
    Effect.gen(function*() {
      const rec = yield* recordingCheck
      const gate = yield* Deferred.make<void>()
      yield* Ref.set(rec.gate, Option.some(gate))
      const auth = yield* makeBasicAuth({ users: { prometheus: HASH }, check: rec.check, dummyHash: DUMMY })
      // Four clients, so that the per-client limit does not turn any of them away.
      const fibers = yield* Effect.forEach(["a", "b", "c", "d"], (password) =>
        Effect.fork(auth.verify({ user: "prometheus", password }, `client-${password}`)))
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
      expect(yield* auth.verify({ user: "prometheus", password: "s3cret" })).toBe("accepted")
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

  it.scoped("a client with a check pending is throttled on new guesses; other clients are not", () =>
    Effect.gen(function*() {
      const rec = yield* recordingCheck
      const gate = yield* Deferred.make<void>()
      yield* Ref.set(rec.gate, Option.some(gate))
      const auth = yield* makeBasicAuth({ users: { prometheus: HASH }, check: rec.check, dummyHash: DUMMY })
      const first = yield* Effect.fork(auth.verify({ user: "prometheus", password: "guess-0" }, "10.0.0.1"))
      yield* rec.started(1)
      // The flooding client's further guesses are answered at once, without a check.
      for (let i = 1; i <= 20; i++) {
        expect(yield* auth.verify({ user: "prometheus", password: `guess-${i}` }, "10.0.0.1")).toBe("throttled")
      }
      // The same credentials as its pending check share it rather than being throttled.
      const same = yield* Effect.fork(auth.verify({ user: "prometheus", password: "guess-0" }, "10.0.0.1"))
      // Another client queues behind the one running check, not behind the flood.
      const valid = yield* Effect.fork(auth.verify({ user: "prometheus", password: "s3cret" }, "10.0.0.2"))
      yield* settle
      yield* Deferred.succeed(gate, undefined)
      expect(yield* Fiber.join(first)).toBe("refused")
      expect(yield* Fiber.join(same)).toBe("refused")
      expect(yield* Fiber.join(valid)).toBe("accepted")
      expect((yield* Ref.get(rec.calls)).map((c) => c.password)).toEqual(["guess-0", "s3cret"])
      // Once its check is done the client may guess again.
      expect(yield* auth.verify({ user: "prometheus", password: "guess-21" }, "10.0.0.1")).toBe("refused")
    }))

  it.scoped("maxPendingPerClient raises the per-client share", () =>
    Effect.gen(function*() {
      const rec = yield* recordingCheck
      const gate = yield* Deferred.make<void>()
      yield* Ref.set(rec.gate, Option.some(gate))
      const auth = yield* makeBasicAuth({
        users: { prometheus: HASH },
        check: rec.check,
        dummyHash: DUMMY,
        maxPendingPerClient: 2
      })
      const a = yield* Effect.fork(auth.verify({ user: "prometheus", password: "a" }, "c"))
      const b = yield* Effect.fork(auth.verify({ user: "prometheus", password: "b" }, "c"))
      yield* rec.started(1)
      yield* settle
      expect(yield* auth.verify({ user: "prometheus", password: "c" }, "c")).toBe("throttled")
      yield* Deferred.succeed(gate, undefined)
      expect(yield* Fiber.joinAll([a, b])).toEqual(["refused", "refused"])
    }))

  it.scoped("refusals never evict accepted credentials from the memo", () =>
    Effect.gen(function*() {
      const rec = yield* recordingCheck
      const auth = yield* makeBasicAuth({
        users: { prometheus: HASH },
        check: rec.check,
        dummyHash: DUMMY,
        memoCapacity: 2
      })
      expect(yield* auth.verify({ user: "prometheus", password: "s3cret" })).toBe("accepted")
      for (let i = 0; i < 10; i++) yield* auth.verify({ user: "prometheus", password: `wrong-${i}` })
      expect(yield* auth.verify({ user: "prometheus", password: "s3cret" })).toBe("accepted")
      expect((yield* Ref.get(rec.calls)).filter((c) => c.password === "s3cret").length).toBe(1)
    }))

  it.scoped("a check that dies does not leave its client throttled", () =>
    Effect.gen(function*() {
      const calls = yield* Ref.make(0)
      const check: PasswordCheck = (password) =>
        Effect.flatMap(Ref.updateAndGet(calls, (n) => n + 1), (n) =>
          n === 1 ? Effect.die(new Error("worker crashed")) : Effect.succeed(password === "s3cret"))
      const auth = yield* makeBasicAuth({ users: { prometheus: HASH }, check, dummyHash: DUMMY })
      const first = yield* Effect.exit(auth.verify({ user: "prometheus", password: "x" }, "c"))
      expect(first._tag).toBe("Failure")
      expect(yield* auth.verify({ user: "prometheus", password: "s3cret" }, "c")).toBe("accepted")
      // Nor is the failure remembered: the same credentials are checked again.
      expect(yield* auth.verify({ user: "prometheus", password: "x" }, "c")).toBe("refused")
      expect(yield* Ref.get(calls)).toBe(3)
    }))

  it.scoped("with real bcrypt: right, wrong, unknown", () =>
    Effect.gen(function*() {
      const auth = yield* makeBasicAuth({ users: { prometheus: HASH } })
      expect(yield* auth.verify({ user: "prometheus", password: "s3cret" })).toBe("accepted")
      expect(yield* auth.verify({ user: "prometheus", password: "S3cret" })).toBe("refused")
      expect(yield* auth.verify({ user: "grafana", password: "s3cret" })).toBe("refused")
    }))
})
