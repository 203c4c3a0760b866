/** Small statistics and argument helpers shared by the benchmark scripts. */
export const median = (xs: ReadonlyArray<number>): number => {
  const sorted = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? (sorted[mid] ?? NaN) : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2
}

/** Interquartile range: robust to the odd run disturbed by another process. */
export const iqr = (xs: ReadonlyArray<number>): number => {
  const sorted = [...xs].sort((a, b) => a - b)
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * (sorted.length - 1)))] ?? NaN
  return at(0.75) - at(0.25)
}

export interface Summary {
  readonly median: number
  readonly iqr: number
  readonly min: number
  readonly max: number
  readonly runs: number
}

export const summarize = (xs: ReadonlyArray<number>): Summary => ({
  median: round(median(xs)),
  iqr: round(iqr(xs)),
  min: round(Math.min(...xs)),
  max: round(Math.max(...xs)),
  runs: xs.length
})

export const round = (x: number, digits = 2): number => Math.round(x * 10 ** digits) / 10 ** digits

export const argValue = (name: string): string | undefined => {
  const i = process.argv.indexOf(name)
  return i < 0 ? undefined : process.argv[i + 1]
}

export const mib = (bytes: number): number => round(bytes / 2 ** 20, 1)
