/**
 * The Redfish BMC file (`experimental.platform.redfish.configFile`, kepler-behaviour.md §2.8):
 *
 * ```yaml
 * nodes:
 *   worker-1: bmc-1          # node name → BMC id
 * bmcs:
 *   bmc-1:
 *     endpoint: https://10.0.0.1
 *     username: monitor      # both or neither
 *     password: secret
 *     insecure: true         # skip TLS certificate verification
 *     auth: session          # joulemon: session (default, as Kepler) or basic
 * ```
 *
 * Problems are reported in Kepler's words, all at once, prefixed with the file's path. No
 * message ever quotes a value from a BMC entry: a misplaced password must not reach a log.
 */
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import YAML from "yaml"
import { describeConfigReadError, readConfigText } from "../config/configFileRead.js"

export type BmcAuth = "session" | "basic"

export interface BmcDetail {
  readonly endpoint: string
  readonly username: string
  readonly password: string
  readonly insecure: boolean
  readonly auth: BmcAuth
}

export interface BmcFile {
  /** node name → BMC id */
  readonly nodes: ReadonlyMap<string, string>
  readonly bmcs: ReadonlyMap<string, BmcDetail>
}

export class PlatformConfigError extends Data.TaggedError("PlatformConfigError")<{
  /** The BMC file, or "" when the problem is not in it (no node name). */
  readonly file: string
  readonly reason: string
}> {
  override get message(): string {
    return this.file === "" ? this.reason : `Redfish BMC file ${this.file}: ${this.reason}`
  }
}

/** yaml.v3 decodes any scalar into a string field (`password: 123456`); so do we. */
const Text = Schema.Union(Schema.String, Schema.Number, Schema.Boolean).annotations({
  message: () => ({ message: "expected a string", override: true })
})

const optional = <A, I>(schema: Schema.Schema<A, I>) => Schema.optionalWith(schema, { exact: true })

const BmcEntry = Schema.Struct({
  endpoint: optional(Text),
  username: optional(Text),
  password: optional(Text),
  insecure: optional(
    Schema.Boolean.annotations({ message: () => ({ message: "expected true or false", override: true }) })
  ),
  auth: optional(
    Schema.Literal("session", "basic").annotations({
      message: () => ({ message: "expected \"session\" or \"basic\"", override: true })
    })
  )
}).annotations({ message: () => "expected a mapping" })

const FileShape = Schema.Struct({
  nodes: optional(
    Schema.Record({ key: Schema.String, value: Text }).annotations({
      message: () => "expected a mapping of node name to BMC id"
    })
  ),
  bmcs: optional(
    Schema.Record({ key: Schema.String, value: BmcEntry }).annotations({
      message: () => "expected a mapping of BMC id to its settings"
    })
  )
}).annotations({ message: () => "expected a mapping with nodes and bmcs" })

type FileShapeValue = Schema.Schema.Type<typeof FileShape>

const formatPath = (path: ReadonlyArray<PropertyKey>): string => path.map(String).join(".")

/** Shape problems as `bmcs.bmc-1.insecure: expected true or false` — never the value found. */
const decodeShape = (document: unknown): Either.Either<FileShapeValue, ReadonlyArray<string>> =>
  Schema.decodeUnknownEither(FileShape)(document ?? {}, { errors: "all", onExcessProperty: "ignore" }).pipe(
    Either.mapLeft((error) =>
      ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) =>
        issue.path.length === 0 ? issue.message : `${formatPath(issue.path)}: ${issue.message}`
      )
    )
  )

const isHttpUrl = (endpoint: string): "ok" | "credentials" | "not-http" => {
  try {
    const url = new URL(endpoint)
    if (url.username !== "" || url.password !== "") return "credentials"
    return url.protocol === "http:" || url.protocol === "https:" ? "ok" : "not-http"
  } catch {
    return "not-http"
  }
}

/** Kepler's BMCDetail.Validate, plus a usable http(s) URL (joulemon). */
const bmcProblems = (id: string, bmc: BmcDetail): ReadonlyArray<string> => {
  const invalid = (reason: string) => `BMC ${id} configuration invalid: ${reason}`
  const problems: Array<string> = []
  const url = bmc.endpoint === "" ? "missing" : isHttpUrl(bmc.endpoint)
  if (url === "missing") problems.push(invalid("endpoint is required"))
  if (url === "credentials") {
    problems.push(invalid("endpoint must not contain credentials; set username and password instead"))
  }
  if (url === "not-http") problems.push(invalid("endpoint must be an absolute http:// or https:// URL"))
  const hasUsername = bmc.username.trim() !== ""
  const hasPassword = bmc.password.trim() !== ""
  if (hasUsername && !hasPassword) problems.push(invalid("password is required when username is provided"))
  if (!hasUsername && hasPassword) problems.push(invalid("username is required when password is provided"))
  return problems
}

const sortedEntries = <V>(map: ReadonlyMap<string, V>): ReadonlyArray<readonly [string, V]> =>
  [...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))

/** Kepler's BMCConfig.Validate, every problem at once (Kepler stops at the first). */
export const validateBmcFile = (file: BmcFile): ReadonlyArray<string> => {
  const problems: Array<string> = []
  if (file.nodes.size === 0) problems.push("no nodes configured")
  if (file.bmcs.size === 0) problems.push("no BMCs configured")
  for (const [node, bmcId] of sortedEntries(file.nodes)) {
    if (file.bmcs.size > 0 && !file.bmcs.has(bmcId)) problems.push(`node ${node} references non-existent BMC ${bmcId}`)
  }
  for (const [id, bmc] of sortedEntries(file.bmcs)) problems.push(...bmcProblems(id, bmc))
  return problems
}

const toBmcFile = (shape: FileShapeValue): BmcFile => ({
  nodes: new Map(Object.entries(shape.nodes ?? {}).map(([node, id]) => [node, String(id)])),
  bmcs: new Map(
    Object.entries(shape.bmcs ?? {}).map(([id, entry]) => [
      id,
      {
        endpoint: String(entry.endpoint ?? "").trim(),
        username: String(entry.username ?? ""),
        password: String(entry.password ?? ""),
        insecure: entry.insecure ?? false,
        auth: entry.auth ?? "session"
      }
    ])
  )
})

/**
 * Parses and validates the file's text. YAML syntax errors are reported by position only: the
 * yaml library's pretty errors quote the offending line, which may hold a password.
 */
export const parseBmcFile = (file: string, text: string): Either.Either<BmcFile, PlatformConfigError> => {
  const lineCounter = new YAML.LineCounter()
  const document = YAML.parseDocument(text, { prettyErrors: false, lineCounter })
  const [syntax] = document.errors
  if (syntax !== undefined) {
    const at = lineCounter.linePos(syntax.pos[0])
    const where = ` at line ${at.line}, column ${at.col}`
    return Either.left(
      new PlatformConfigError({ file, reason: `failed to parse BMC config file: YAML error ${syntax.code}${where}` })
    )
  }
  return decodeShape(document.toJS()).pipe(
    Either.mapLeft((problems) =>
      new PlatformConfigError({ file, reason: `failed to parse BMC config file: ${problems.join("; ")}` })
    ),
    Either.map(toBmcFile),
    Either.flatMap((bmcFile) => {
      const problems = validateBmcFile(bmcFile)
      return problems.length === 0
        ? Either.right(bmcFile)
        : Either.left(new PlatformConfigError({ file, reason: `invalid BMC configuration: ${problems.join("; ")}` }))
    })
  )
}

export const loadBmcFile = (file: string): Effect.Effect<BmcFile, PlatformConfigError> =>
  Effect.tryPromise({
    try: () => readConfigText(file),
    catch: (cause) =>
      new PlatformConfigError({
        file,
        reason: `failed to read BMC config file: ${describeConfigReadError(cause)}`
      })
  }).pipe(Effect.flatMap((text) => parseBmcFile(file, text)))

export interface NodeBmc {
  readonly bmcId: string
  readonly bmc: BmcDetail
}

/** The BMC of `nodeName`, in Kepler's words when it has none. */
export const bmcForNode = (
  bmcFile: BmcFile,
  nodeName: string,
  file: string
): Either.Either<NodeBmc, PlatformConfigError> => {
  const bmcId = bmcFile.nodes.get(nodeName)
  const bmc = bmcId === undefined ? undefined : bmcFile.bmcs.get(bmcId)
  if (bmcId === undefined || bmc === undefined) {
    const known = sortedEntries(bmcFile.nodes).map(([node]) => node).join(", ")
    return Either.left(
      new PlatformConfigError({
        file,
        reason:
          `failed to get BMC configuration for node ${nodeName}: node ${nodeName} not found in BMC configuration (nodes: ${known})`
      })
    )
  }
  return Either.right({ bmcId, bmc })
}

/** The endpoint as it may appear in logs: origin and path, never user info or a query. */
export const displayEndpoint = (endpoint: string): string => {
  try {
    const url = new URL(endpoint)
    return `${url.origin}${url.pathname === "/" ? "" : url.pathname}`
  } catch {
    return "(invalid endpoint)"
  }
}
