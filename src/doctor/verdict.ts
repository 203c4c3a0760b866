/**
 * What one doctor check concluded. `verdict` is what the operator reads first; `impact` is
 * what it means for joulemon, and alone decides the exit status: a warning about a GPU
 * library changes nothing, an unreadable `energy_uj` degrades measurement to an estimate, a
 * configuration error stops joulemon from starting.
 */
export type Verdict = "passed" | "warned" | "failed"

export type Impact = "none" | "degraded" | "fatal"

export interface CheckResult {
  /** Stable, for `--output json` consumers: `kernel`, `powercap`, `kube`, … */
  readonly id: string
  readonly title: string
  readonly verdict: Verdict
  readonly impact: Impact
  readonly message: string
  /** The exact thing to do about it; absent when there is nothing to do. */
  readonly fix?: string
}

export const passed = (id: string, title: string, message: string): CheckResult => ({
  id,
  title,
  verdict: "passed",
  impact: "none",
  message
})

export const warned = (
  id: string,
  title: string,
  message: string,
  fix: string | undefined,
  impact: Impact = "none"
): CheckResult => ({
  id,
  title,
  verdict: "warned",
  impact,
  message,
  ...(fix === undefined ? {} : { fix })
})

export const failed = (id: string, title: string, message: string, fix: string, impact: Impact): CheckResult => ({
  id,
  title,
  verdict: "failed",
  impact,
  message,
  fix
})

/** 0 all good, 1 measurement would be degraded, 2 joulemon could not start. */
export type DoctorExitCode = 0 | 1 | 2

export const exitCodeOf = (results: ReadonlyArray<CheckResult>): DoctorExitCode =>
  results.some((r) => r.impact === "fatal") ? 2 : results.some((r) => r.impact === "degraded") ? 1 : 0
