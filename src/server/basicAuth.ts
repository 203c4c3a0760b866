/**
 * `basic_auth_users` of the web config: HTTP basic authentication against bcrypt hashes.
 *
 * Timing: the answer must not reveal which users exist. A request naming an unknown user is
 * still checked with bcrypt, against a dummy hash of the same cost as the configured ones, so
 * it takes as long as a wrong password for a real user. (The header parse, the user lookup and
 * the memo lookup below are microseconds against bcrypt's ~75 ms at cost 10.)
 *
 * Cost: bcrypt is slow on purpose, so it runs in a worker thread (bcryptWorkerCheck.ts), one
 * check at a time, and outcomes are memoised like exporter-toolkit does: keyed by an HMAC of
 * (user, password) under a per-process random key — no password, and no hash that could be
 * attacked offline faster than bcrypt, is kept — and concurrent requests with the same
 * credentials share one check. A Prometheus scraping every 5 s pays bcrypt once per process
 * lifetime. Refusals are memoised too, so a scraper left with a wrong password costs nothing
 * after its first try.
 *
 * Floods: a password-guessing flood pays bcrypt per new guess. Each client (address) may have
 * only `maxPendingPerClient` checks waiting or running; its further new guesses are answered
 * "throttled" (429) at once, so one address can never queue up work that a valid client
 * elsewhere would wait behind. Accepted credentials are kept apart from refusals, so guesses
 * cannot evict them. Both memos are bounded and start afresh when full.
 */
import bcrypt from "bcryptjs"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as HashMap from "effect/HashMap"
import * as HashSet from "effect/HashSet"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
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
  /** Checks one client may have waiting or running; more are answered "throttled". */
  readonly maxPendingPerClient?: number
  /** Overrides the random dummy hash (tests). */
  readonly dummyHash?: string
}

/** "throttled": the client already has its share of checks waiting; it should retry later. */
export type Verdict = "accepted" | "refused" | "throttled"

export interface BasicAuthShape {
  /**
   * "accepted" when `user` exists and `password` matches its hash. `client` identifies who is
   * asking (clientAddress.ts), for the per-client limit.
   */
  readonly verify: (credentials: Credentials, client?: string) => Effect.Effect<Verdict>
  readonly userCount: number
}

export const DEFAULT_MEMO_CAPACITY = 256
/**
 * One: a scraper sends one set of credentials, and a guessing flood from one address then
 * queues at most one check — so a valid client elsewhere waits for at most one check per
 * address that is flooding, never for the whole flood.
 */
export const DEFAULT_MAX_PENDING_PER_CLIENT = 1

interface MemoState {
  /** Checks running or waiting, and refusals. Starts afresh when full. */
  readonly outcomes: HashMap.HashMap<string, Deferred.Deferred<boolean>>
  /** Per client, its checks waiting or running. */
  readonly pending: HashMap.HashMap<string, number>
}

const adjustPending = (pending: HashMap.HashMap<string, number>, client: string, by: number) => {
  const next = Option.getOrElse(HashMap.get(pending, client), () => 0) + by
  return next <= 0 ? HashMap.remove(pending, client) : HashMap.set(pending, client, next)
}

export const makeBasicAuth = (options: BasicAuthOptions): Effect.Effect<BasicAuthShape, never, Scope.Scope> =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const check = options.check ?? bcryptCheck
    const capacity = options.memoCapacity ?? DEFAULT_MEMO_CAPACITY
    const maxPending = options.maxPendingPerClient ?? DEFAULT_MAX_PENDING_PER_CLIENT
    // A Map, not the parsed object: a user called "__proto__" or "constructor" must not resolve.
    const hashes = new Map(Object.entries(options.users))
    const dummy = options.dummyHash ?? makeDummyHash(dummyCost(options.users))
    const hmacKey = crypto.randomBytes(32)
    const state = yield* Ref.make<MemoState>({ outcomes: HashMap.empty(), pending: HashMap.empty() })
    // Apart from the refusals, so that a flood of wrong guesses can never evict a valid client.
    const accepted = yield* Ref.make(HashSet.empty<string>())
    const oneAtATime = yield* Effect.makeSemaphore(1)

    const memoKey = ({ user, password }: Credentials): string =>
      crypto.createHmac("sha256", hmacKey).update(`${Buffer.byteLength(user)}:${user}:${password}`).digest("base64")

    // A check that did not finish (died, interrupted) is forgotten, so the next try checks again.
    const settle = (key: string, client: string, exit: Exit.Exit<boolean>) =>
      Effect.zipRight(
        Ref.update(state, (s) => ({
          outcomes: Exit.isSuccess(exit) ? s.outcomes : HashMap.remove(s.outcomes, key),
          pending: adjustPending(s.pending, client, -1)
        })),
        Exit.isSuccess(exit) && exit.value
          ? Ref.update(accepted, (set) => HashSet.add(HashSet.size(set) >= capacity ? HashSet.empty() : set, key))
          : Effect.void
      )

    const verify = Effect.fn("BasicAuth.verify")(function*(credentials: Credentials, client = "") {
      const hash = hashes.get(credentials.user)
      const key = memoKey(credentials)
      if (HashSet.has(yield* Ref.get(accepted), key)) return "accepted" as const
      const mine = yield* Deferred.make<boolean>()
      // Claim and fork together: an interrupted request (client gone) must not leave a claim
      // that nobody completes.
      const outcome = yield* Effect.uninterruptible(
        Effect.gen(function*() {
          const claimed = yield* Ref.modify(
            state,
            (s): readonly [Deferred.Deferred<boolean> | "throttled", MemoState] => {
              const found = HashMap.get(s.outcomes, key)
              if (Option.isSome(found)) return [found.value, s]
              if (Option.getOrElse(HashMap.get(s.pending, client), () => 0) >= maxPending) return ["throttled", s]
              const room = HashMap.size(s.outcomes) >= capacity
                ? HashMap.empty<string, Deferred.Deferred<boolean>>()
                : s.outcomes
              return [mine, { outcomes: HashMap.set(room, key, mine), pending: adjustPending(s.pending, client, 1) }]
            }
          )
          if (claimed === mine) {
            yield* oneAtATime
              .withPermits(1)(check(credentials.password, hash ?? dummy))
              .pipe(
                Effect.map((ok) => ok && hash !== undefined),
                Effect.onExit((exit) => settle(key, client, exit)),
                Effect.intoDeferred(mine),
                Effect.forkIn(scope)
              )
          }
          return claimed
        })
      )
      if (outcome === "throttled") return outcome
      return (yield* Deferred.await(outcome)) ? "accepted" as const : "refused" as const
    })

    return { verify, userCount: hashes.size }
  })
