/** The doctor's report, for people (one line a check, the fix under it) and for machines (JSON). */
import { type CheckResult, type DoctorExitCode, exitCodeOf, type Verdict } from "./verdict.js"

export interface DoctorReport {
  readonly checks: ReadonlyArray<CheckResult>
  readonly exitCode: DoctorExitCode
}

export const reportOf = (checks: ReadonlyArray<CheckResult>): DoctorReport => ({ checks, exitCode: exitCodeOf(checks) })

const OUTCOME: Record<DoctorExitCode, string> = {
  0: "ok",
  1: "degraded",
  2: "cannot-start"
}

const SUMMARY: Record<DoctorExitCode, string> = {
  0: "joulemon would start and measure",
  1: "joulemon would start, but measurement would be degraded",
  2: "joulemon could not start"
}

const LABEL: Record<Verdict, string> = { passed: "PASS", warned: "WARN", failed: "FAIL" }
/** SGR colours: green, yellow, red. */
const COLOUR: Record<Verdict, string> = { passed: "32", warned: "33", failed: "31" }

/** Format version of `--output json`, raised on an incompatible change. */
export const REPORT_FORMAT_VERSION = 1

export const renderJson = (report: DoctorReport): string =>
  JSON.stringify(
    {
      formatVersion: REPORT_FORMAT_VERSION,
      outcome: OUTCOME[report.exitCode],
      exitCode: report.exitCode,
      checks: report.checks.map((c) => ({
        id: c.id,
        title: c.title,
        verdict: c.verdict,
        impact: c.impact,
        message: c.message,
        fix: c.fix ?? null
      }))
    },
    null,
    2
  )

export const renderHuman = (report: DoctorReport, colour: boolean): string => {
  const paint = (verdict: Verdict, text: string) => (colour ? `\u001b[${COLOUR[verdict]}m${text}\u001b[0m` : text)
  const lines = report.checks.flatMap((c) => [
    `${paint(c.verdict, LABEL[c.verdict])}  ${c.title}: ${c.message}`,
    ...(c.fix === undefined ? [] : [`      fix: ${c.fix}`])
  ])
  const count = (v: Verdict) => report.checks.filter((c) => c.verdict === v).length
  const totals = `${count("passed")} passed, ${count("warned")} warned, ${count("failed")} failed`
  return [...lines, "", `${totals}: ${SUMMARY[report.exitCode]} (exit ${report.exitCode})`].join("\n")
}
