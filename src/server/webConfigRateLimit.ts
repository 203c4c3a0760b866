/**
 * `rate_limit` of the web config: a token bucket like Go's `rate.NewLimiter(rate.Every(interval),
 * burst)` — it starts full with `burst` tokens and gains one every `interval`.
 */

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
