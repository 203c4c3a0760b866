/**
 * joulemon's version, from package.json. Read from the file at run time rather than imported:
 * `tsc` builds `src/` into `dist/` with `rootDir: src`, which cannot import a file above it.
 * `src/cli/` and `dist/cli/` are both two levels below the package root, so one relative URL
 * works from the sources (tests, tsx) and from the build.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as fs from "node:fs/promises"

const PackageJson = Schema.parseJson(Schema.Struct({ version: Schema.String }))

const PACKAGE_JSON = new URL("../../package.json", import.meta.url)

/** The `version` field of package.json; "unknown" if the file cannot be read (a broken install). */
export const packageVersion: Effect.Effect<string> = Effect.tryPromise(() => fs.readFile(PACKAGE_JSON, "utf8")).pipe(
  Effect.flatMap(Schema.decodeUnknown(PackageJson)),
  Effect.map((pkg) => pkg.version),
  Effect.tapError((error) =>
    Effect.logWarning("cannot read joulemon's version from package.json").pipe(
      Effect.annotateLogs({ path: PACKAGE_JSON.pathname, error: String(error) })
    )
  ),
  Effect.orElseSucceed(() => "unknown")
)
