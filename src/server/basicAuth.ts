/**
 * `basic_auth_users` of the web config: HTTP basic authentication against bcrypt hashes.
 *
 * Timing: the answer must not reveal which users exist. A request naming an unknown user is
 * still checked with bcrypt, against a dummy hash of the same cost as the configured ones, so
 * it takes as long as a wrong password for a real user. (The header parse, the user lookup and
 * the memo lookup below are microseconds against bcrypt's ~100 ms at cost 10.)
 *
 * Cost: bcryptjs is pure JavaScript and holds the event loop for its whole run (~100 ms at cost
 * 10 here, in ≤ 100 ms slices), so checking every scrape would cap the server at ~10 requests a
 * second and stall /metrics for everyone else. Outcomes are therefore memoised, like
 * exporter-toolkit does: keyed by an HMAC of (user, password) under a per-process random key —
 * no password, and no hash that could be attacked offline faster than bcrypt, is kept — and
 * concurrent requests with the same credentials share one bcrypt run. A Prometheus scraping
 * every 5 s pays bcrypt once per process lifetime. Failures are memoised too, so a scraper
 * left with a wrong password costs nothing after its first try; a password-guessing flood
 * still pays bcrypt per new guess, one at a time (a semaphore), as it should. The memo is
 * bounded and starts afresh when full.
 */
import bcrypt from "bcryptjs"
import { Deferred, Effect, HashMap, Option, Ref, type Scope } from "effect"
import * as crypto from "node:crypto"
import type { WebConfigProblem } from "./webConfigFile.js"

export interface Credentials {
  readonly user: string
  readonly password: string
}

const BASIC_PREFIX = "basic "
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

/** `Authorization: Basic base64(user:password)`, decoded as Go's `Request.BasicAuth` does. */
export const parseBasicAuthorization = (header: string | undefined): Option.Option<Credentials> => {
  if (header === undefined || header.slice(0, BASIC_PREFIX.length).toLowerCase() !== BASIC_PREFIX) return Option.none()
  const encoded = header.slice(BASIC_PREFIX.length)
  if (!BASE64.test(encoded)) return Option.none()
  const decoded = Buffer.from(encoded, "base64").toString("utf8")
  const colon = decoded.indexOf(":")
  if (colon < 0) return Option.none()
  return Option.some({ user: decoded.slice(0, colon), password: decoded.slice(colon + 1) })
}

/** Go's bcrypt accepts `$2a$`, `$2b$` and `$2y$` (htpasswd writes `$2y$`), cost 4–31. */
const BCRYPT_HASH = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/

export const bcryptCost = (hash: string): number | undefined => {
  const match = BCRYPT_HASH.exec(hash)
  const cost = match?.[1] === undefined ? undefined : Number(match[1])
  return cost !== undefined && cost >= 4 && cost <= 31 ? cost : undefined
}

/** Problems with the configured hashes. The hash itself is a secret and is never echoed. */
export const validateUsers = (users: Readonly<Record<string, string>>): ReadonlyArray<WebConfigProblem> =>
  Object.entries(users).flatMap(([user, hash]) =>
    bcryptCost(hash) === undefined
      ? [
        {
          key: `basic_auth_users.${user}`,
          problem:
            `not a bcrypt hash (expected $2y$, $2b$ or $2a$, a cost from 04 to 31, "$" and 53 characters; make one with: htpasswd -nBC 10 "" | tr -d ':\\n')`
        }
      ]
      : []
  )

/** The cost the dummy hash uses: the highest configured one, so an unknown user is never faster. */
export const dummyCost = (users: Readonly<Record<string, string>>): number =>
  Math.max(4, ...Object.values(users).map((h) => bcryptCost(h) ?? 4))

const BCRYPT_ALPHABET = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

/**
 * A well-formed hash of `cost` that no password matches: bcrypt's work depends only on the
 * cost and salt, so this costs exactly what a real check does, without hashing at startup.
 */
export const makeDummyHash = (cost: number): string => {
  const digest = Array.from(crypto.randomBytes(31), (b) => BCRYPT_ALPHABET[b % 64] ?? ".").join("")
  return `${bcrypt.genSaltSync(cost)}${digest}`
}

export type PasswordCheck = (password: string, hash: string) => Effect.Effect<boolean>

/** bcryptjs's asynchronous compare (it yields between slices of ≤ 100 ms). */
export const bcryptCheck: PasswordCheck = (password, hash) =>
  Effect.tryPromise(() => bcrypt.compare(password, hash)).pipe(
    Effect.catchAll((e) =>
      Effect.logError("bcrypt comparison failed; refusing").pipe(
        Effect.annotateLogs({ error: String(e.error) }),
        Effect.as(false)
      )
    )
  )

export interface BasicAuthOptions {
  readonly users: Readonly<Record<string, string>>
  readonly check?: PasswordCheck
  /** Entries kept before the memo starts afresh. */
  readonly memoCapacity?: number
  /** Overrides the random dummy hash (tests). */
  readonly dummyHash?: string
}

export interface BasicAuthShape {
  /** True when `user` exists and `password` matches its hash. */
  readonly verify: (credentials: Credentials) => Effect.Effect<boolean>
  readonly userCount: number
}

export const DEFAULT_MEMO_CAPACITY = 256

export const makeBasicAuth = (options: BasicAuthOptions): Effect.Effect<BasicAuthShape, never, Scope.Scope> =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const check = options.check ?? bcryptCheck
    const capacity = options.memoCapacity ?? DEFAULT_MEMO_CAPACITY
    // A Map, not the parsed object: a user called "__proto__" or "constructor" must not resolve.
    const hashes = new Map(Object.entries(options.users))
    const dummy = options.dummyHash ?? makeDummyHash(dummyCost(options.users))
    const hmacKey = crypto.randomBytes(32)
    const memo = yield* Ref.make(HashMap.empty<string, Deferred.Deferred<boolean>>())
    const oneAtATime = yield* Effect.makeSemaphore(1)

    const memoKey = ({ user, password }: Credentials): string =>
      crypto.createHmac("sha256", hmacKey).update(`${Buffer.byteLength(user)}:${user}:${password}`).digest("base64")

    const verify = Effect.fn("BasicAuth.verify")(function*(credentials: Credentials) {
      const hash = hashes.get(credentials.user)
      const key = memoKey(credentials)
      const mine = yield* Deferred.make<boolean>()
      // Claim and fork together: an interrupted request (client gone) must not leave a claim
      // that nobody completes.
      const outcome = yield* Effect.uninterruptible(
        Effect.gen(function*() {
          const claimed = yield* Ref.modify(memo, (entries) => {
            const found = HashMap.get(entries, key)
            if (Option.isSome(found)) return [found.value, entries] as const
            const room = HashMap.size(entries) >= capacity
              ? HashMap.empty<string, Deferred.Deferred<boolean>>()
              : entries
            return [mine, HashMap.set(room, key, mine)] as const
          })
          if (claimed === mine) {
            yield* oneAtATime
              .withPermits(1)(check(credentials.password, hash ?? dummy))
              .pipe(
                Effect.map((ok) => ok && hash !== undefined),
                Effect.intoDeferred(mine),
                Effect.forkIn(scope)
              )
          }
          return claimed
        })
      )
      return yield* Deferred.await(outcome)
    })

    return { verify, userCount: hashes.size }
  })
