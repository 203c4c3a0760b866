/**
 * The logger chosen by `log.level` and `log.format`: logfmt (`text`) or JSON, one line per
 * event, on stdout — or stderr while the stdout exporter owns the terminal.
 */
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import type { JoulemonConfig, LogLevelName } from "./config/Config.js"

const levels: Record<LogLevelName, LogLevel.LogLevel> = {
  debug: LogLevel.Debug,
  info: LogLevel.Info,
  warn: LogLevel.Warning,
  error: LogLevel.Error
}

export const loggerLayer = (config: Pick<JoulemonConfig, "log" | "exporter">): Layer.Layer<never> => {
  const base = config.log.format === "json" ? Logger.jsonLogger : Logger.logfmtLogger
  const logger = config.exporter.stdout.enabled ? Logger.withConsoleError(base) : Logger.withConsoleLog(base)
  return Layer.merge(Logger.replace(Logger.defaultLogger, logger), Logger.minimumLogLevel(levels[config.log.level]))
}
