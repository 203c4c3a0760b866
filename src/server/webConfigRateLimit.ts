/**
 * `rate_limit` of the web config: token buckets like Go's `rate.NewLimiter(rate.Every(interval),
 * burst)` — each starts full with `burst` tokens and gains one every `interval` — one per client
 * rather than exporter-toolkit's one per server.
 */
import * as HashMap from "effect/HashMap"
import * as Option from "effect/Option"

export interface RateLimit {
  /** 0 disables the limiter. */
  readonly intervalMillis: number
  readonly burst: number
}

export interface TokenBucket {
  readonly tokens: number
  readonly atMillis: number
}

export const fullBucket = (limit: RateLimit, nowMillis: number): TokenBucket => ({
  tokens: limit.burst,
  atMillis: nowMillis
})

/** Takes one token if there is one. A clock that went backwards adds nothing. */
export const takeToken = (
  limit: RateLimit,
  bucket: TokenBucket,
  nowMillis: number
): readonly [boolean, TokenBucket] => {
  const elapsed = Math.max(0, nowMillis - bucket.atMillis)
  const tokens = Math.min(limit.burst, bucket.tokens + elapsed / limit.intervalMillis)
  const at = Math.max(nowMillis, bucket.atMillis)
  return tokens >= 1 ? [true, { tokens: tokens - 1, atMillis: at }] : [false, { tokens, atMillis: at }]
}

/**
 * Per client, one bucket each (Go's exporter-toolkit keeps one for the whole server, so one
 * flooding client gets everyone else 429s). Buckets of clients not seen recently are as good
 * as new, so they are dropped to make room; with `capacity` clients all busy at once, the
 * buckets start afresh rather than grow without bound.
 */
export const DEFAULT_CLIENT_CAPACITY = 4096

export const takeClientToken = (
  limit: RateLimit,
  buckets: HashMap.HashMap<string, TokenBucket>,
  client: string,
  nowMillis: number,
  capacity: number = DEFAULT_CLIENT_CAPACITY
): readonly [boolean, HashMap.HashMap<string, TokenBucket>] => {
  const existing = HashMap.get(buckets, client)
  const [ok, next] = takeToken(limit, Option.getOrElse(existing, () => fullBucket(limit, nowMillis)), nowMillis)
  if (Option.isSome(existing) || HashMap.size(buckets) < capacity) return [ok, HashMap.set(buckets, client, next)]
  const pruned = HashMap.filter(
    buckets,
    (b) => b.tokens + Math.max(0, nowMillis - b.atMillis) / limit.intervalMillis < limit.burst
  )
  const room = HashMap.size(pruned) < capacity ? pruned : HashMap.empty<string, TokenBucket>()
  return [ok, HashMap.set(room, client, next)]
}
