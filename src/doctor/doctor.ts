/**
 * `joulemon doctor`: the configuration loaded exactly as the daemon loads it, then every check
 * its startup depends on. Never fails: every problem, a bad configuration included, is a check
 * in the report.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import type { ConfigError } from "../config/ConfigError.js"
import type { LoadedConfig } from "../config/load.js"
import { findGpuLibrary } from "./gpuLibrary.js"
import { hostChecks } from "./hostChecks.js"
import { readHostFacts } from "./hostFacts.js"
import { kubeCheck, readKubeFacts } from "./kubeCheck.js"
import { readRedfishFacts, redfishCheck } from "./redfishCheck.js"
import { type DoctorReport, reportOf } from "./report.js"
import { type CheckResult, failed, passed, warned } from "./verdict.js"

export interface DoctorEnvironment {
  readonly ldLibraryPath: string | undefined
}

export const configCheck = (loaded: Either.Either<LoadedConfig, ConfigError>): CheckResult =>
  Either.match(loaded, {
    onLeft: (error) =>
      failed(
        "config",
        "configuration",
        error.errors.join("; "),
        "correct the flags or the --config.file keys named above",
        "fatal"
      ),
    onRight: ({ warnings }) =>
      warnings.length === 0
        ? passed("config", "configuration", "flags and config file are valid")
        : warned(
          "config",
          "configuration",
          `valid, with warnings: ${warnings.join("; ")}`,
          "see the warnings; the keys they name are ignored"
        )
  })

export const runDoctor = (
  loaded: Either.Either<LoadedConfig, ConfigError>,
  environment: DoctorEnvironment
): Effect.Effect<DoctorReport> =>
  Effect.gen(function*() {
    const config = configCheck(loaded)
    if (Either.isLeft(loaded)) return reportOf([config])
    const c = loaded.right.config
    const [host, gpu, kube, redfish] = yield* Effect.all(
      [readHostFacts(c), findGpuLibrary(environment.ldLibraryPath), readKubeFacts(c), readRedfishFacts(c)],
      { concurrency: "unbounded" }
    )
    return reportOf([config, ...hostChecks(host, gpu, c), kubeCheck(kube, c), redfishCheck(redfish)])
  }).pipe(
    // The report says everything; the meters' and clients' own log lines would garble it.
    Logger.withMinimumLogLevel(LogLevel.None),
    Effect.withSpan("Doctor.run")
  )
