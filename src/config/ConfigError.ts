import * as Data from "effect/Data"

/**
 * Every problem found in the configuration, reported at once so an operator fixes them in one
 * go. Each entry names the key (or file) at fault and the bad value. `message` keeps Kepler's
 * form, `invalid configuration: <e1>, <e2>, …`, so log searches written for Kepler still match.
 */
export class ConfigError extends Data.TaggedError("ConfigError")<{
  readonly errors: ReadonlyArray<string>
}> {
  override get message(): string {
    return `invalid configuration: ${this.errors.join(", ")}`
  }
}
