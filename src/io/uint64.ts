/** Parsing kernel counters, which are u64: decimal digits only, at most 2^64 − 1. */

export const UINT64_MAX = 2n ** 64n - 1n

/** Go's ParseUint(s, 10, 64): decimal digits only, at most 2^64 − 1. */
export const parseUint64 = (text: string): bigint | undefined => {
  if (!/^\d+$/.test(text)) return undefined
  const value = BigInt(text)
  return value <= UINT64_MAX ? value : undefined
}
