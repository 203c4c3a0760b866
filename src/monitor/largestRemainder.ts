/**
 * Splits an integer amount over integer weights so the parts add up exactly (Hamilton's
 * largest-remainder method, DESIGN.md §3.3). Deterministic: equal remainders go to the
 * earlier position, so callers pass weights in a canonical order (processes by pid).
 */

/**
 * Returns one part per weight, each ⌊total × w / Σw⌋ plus one for the Σ-deficit positions with
 * the largest remainders. Σ parts = total exactly when Σw > 0; all zeros when Σw = 0 (the caller
 * books the amount as unattributed).
 *
 * Parts are plain numbers: a part never exceeds `total`, and interval energies are far below
 * 2^53 µJ (≈ 9 GJ). The products are computed in floats while they stay exact (< 2^53) and in
 * bigint otherwise — bigint costs ~10× more and is rarely needed (5 s at 100 W × 1000 ticks ≈ 5e11).
 */
export const splitLargestRemainder = (total: number, weights: ReadonlyArray<number>): Array<number> => {
  const n = weights.length
  const parts = new Array<number>(n).fill(0)
  let weightSum = 0
  for (let i = 0; i < n; i++) weightSum += weights[i] ?? 0
  if (total <= 0 || weightSum <= 0) return parts

  const remainders = new Array<number>(n).fill(0)
  let assigned = 0
  const exact = total * weightSum < Number.MAX_SAFE_INTEGER
  if (exact) {
    for (let i = 0; i < n; i++) {
      const w = weights[i] ?? 0
      if (w === 0) continue
      const product = total * w
      const q = Math.floor(product / weightSum)
      parts[i] = q
      remainders[i] = product - q * weightSum
      assigned += q
    }
  } else {
    const bigTotal = BigInt(total)
    const bigSum = BigInt(weightSum)
    for (let i = 0; i < n; i++) {
      const w = weights[i] ?? 0
      if (w === 0) continue
      const product = bigTotal * BigInt(w)
      const q = product / bigSum
      parts[i] = Number(q)
      // The remainder is < Σw, which is a safe integer, so Number() is exact.
      remainders[i] = Number(product - q * bigSum)
      assigned += Number(q)
    }
  }

  let deficit = total - assigned
  if (deficit === 0) return parts
  // deficit < number of non-zero weights; pick the largest remainders, earliest first on ties.
  // One sortable number per candidate, remainder × n + (n − 1 − i), so a native typed-array
  // sort (no comparator calls) orders by remainder, then by position. Exact while
  // Σw × n < 2^53, which holds far beyond any real tick count; otherwise compare pairs.
  const candidates: Array<number> = []
  for (let i = 0; i < n; i++) if ((remainders[i] ?? 0) > 0) candidates.push(i)
  if (weightSum * n < Number.MAX_SAFE_INTEGER) {
    const keys = new Float64Array(candidates.length)
    candidates.forEach((i, k) => (keys[k] = (remainders[i] ?? 0) * n + (n - 1 - i)))
    keys.sort()
    for (let k = keys.length - 1; k >= 0 && deficit > 0; k--, deficit--) {
      const i = n - 1 - ((keys[k] ?? 0) % n)
      parts[i] = (parts[i] ?? 0) + 1
    }
    return parts
  }
  candidates.sort((a, b) => (remainders[b] ?? 0) - (remainders[a] ?? 0) || a - b)
  for (let k = 0; k < candidates.length && deficit > 0; k++, deficit--) {
    const i = candidates[k] ?? 0
    parts[i] = (parts[i] ?? 0) + 1
  }
  return parts
}
