/**
 * What the CLI (its `--output` choice) and main.ts (the exit status) need of `joulemon measure`
 * before or without running it: apart from measure.ts, so that the daemon never loads the
 * measure code.
 */
import * as Data from "effect/Data"

export const MEASURE_OUTPUTS = ["human", "json"] as const
export type MeasureOutput = (typeof MEASURE_OUTPUTS)[number]

/** The command ended with a non-zero status, which `joulemon measure` exits with. */
export class MeasureFinished extends Data.TaggedError("MeasureFinished")<{ readonly exitCode: number }> {
  override get message(): string {
    return `joulemon measure: the command exited with status ${this.exitCode}`
  }
}

/** joulemon could not measure (the monitor did not start or gave no first reading). */
export class MeasureFailed extends Data.TaggedError("MeasureFailed")<{ readonly reason: string }> {
  override get message(): string {
    return `joulemon measure: ${this.reason}`
  }
}
