/** Runs an effect with a logger that records every line (level, message, annotations). */
import { Effect, HashMap, Logger, LogLevel } from "effect"

export interface LogLine {
  readonly level: string
  readonly message: string
  readonly annotations: Readonly<Record<string, unknown>>
}

export const withLogs = <A, E, R>(effect: Effect.Effect<A, E, R>, minimum: LogLevel.LogLevel = LogLevel.Info) =>
  Effect.gen(function*() {
    const lines: Array<LogLine> = []
    const recorder = Logger.make(({ logLevel, message, annotations }) => {
      lines.push({
        level: logLevel.label,
        message: (Array.isArray(message) ? message : [message]).map(String).join(" "),
        annotations: Object.fromEntries(HashMap.toEntries(annotations))
      })
    })
    const result = yield* effect.pipe(
      Effect.provide(Logger.replace(Logger.defaultLogger, recorder)),
      Logger.withMinimumLogLevel(minimum)
    )
    return [result, lines] as const
  })
