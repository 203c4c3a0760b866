/**
 * joulemon's version, from package.json, read at run time rather than imported: an import
 * would copy the whole file into the bundle, and the version shown must be the installed
 * package's. The file is found upwards from this module (installLayout.ts), which works from
 * the sources and from the bundle alike.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { packageRootFrom } from "../installLayout.js"

const PackageJson = Schema.parseJson(Schema.Struct({ version: Schema.String }))

/** The `version` field of package.json; "unknown" if the file cannot be read (a broken install). */
export const packageVersion: Effect.Effect<string> = Effect.suspend(() => {
  const file = path.join(packageRootFrom(import.meta.url), "package.json")
  return Effect.tryPromise(() => fs.readFile(file, "utf8")).pipe(
    Effect.flatMap(Schema.decodeUnknown(PackageJson)),
    Effect.map((pkg) => pkg.version),
    Effect.tapError((error) =>
      Effect.logWarning("cannot read joulemon's version from package.json").pipe(
        Effect.annotateLogs({ path: file, error: String(error) })
      )
    ),
    Effect.orElseSucceed(() => "unknown")
  )
})
