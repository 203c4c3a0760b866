/**
 * The web config file (`web.configFile`): the exporter-toolkit format node_exporter, Prometheus
 * and Kepler read (exporter-toolkit v0.15.1, the version Kepler pins). This module only turns the
 * file's text into a checked value; reading certificates and building servers is webConfig.ts.
 *
 * Like exporter-toolkit's `yaml.UnmarshalStrict`, a key it does not know is an error, not a
 * warning: a misspelt `basic_auth_user` would otherwise leave the endpoint open.
 */
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as path from "node:path"
import { parseDocument } from "yaml"
import { parseGoDuration } from "../config/duration.js"

/** One thing wrong with the file: the YAML key at fault (dotted) and what is wrong with it. */
export interface WebConfigProblem {
  /** e.g. `tls_server_config.cert_file`; "" for the file as a whole. */
  readonly key: string
  readonly problem: string
}

export const CLIENT_AUTH_TYPES = [
  "NoClientCert",
  "RequestClientCert",
  "RequireAnyClientCert",
  "VerifyClientCertIfGiven",
  "RequireAndVerifyClientCert"
] as const
export type ClientAuthType = (typeof CLIENT_AUTH_TYPES)[number]

export const TLS_VERSIONS = ["TLS10", "TLS11", "TLS12", "TLS13"] as const
export type TlsVersionName = (typeof TLS_VERSIONS)[number]

/** The response headers exporter-toolkit lets a config set, with their allowed values (none = any). */
export const CONFIGURABLE_HEADERS: ReadonlyMap<string, ReadonlyArray<string>> = new Map([
  ["Strict-Transport-Security", []],
  ["X-Content-Type-Options", ["nosniff"]],
  ["X-Frame-Options", ["deny", "sameorigin"]],
  ["X-XSS-Protection", []],
  ["Content-Security-Policy", []]
])

const got = (issue: ParseResult.ParseIssue): string => JSON.stringify(issue.actual) ?? "nothing"
const Str = Schema.String.annotations({ message: (issue) => `expected a string, got ${got(issue)}` })
const StrList = Schema.Array(Str).annotations({ message: (issue) => `expected a list of strings, got ${got(issue)}` })
const Bool = Schema.Boolean.annotations({ message: (issue) => `expected true or false, got ${got(issue)}` })

/** One of `values` (or an `aliases` key, mapped onto its value), with a message listing them. */
const oneOf = <const L extends ReadonlyArray<string>>(values: L, aliases: Readonly<Record<string, L[number]>> = {}) =>
  Schema.transformOrFail(Schema.Unknown, Schema.Literal(...values), {
    strict: true,
    decode: (u, _, ast) => {
      const alias = typeof u === "string" ? aliases[u] : undefined
      if (alias !== undefined) return ParseResult.succeed(alias)
      const found = values.find((v) => v === u)
      return found === undefined
        ? ParseResult.fail(
          new ParseResult.Type(ast, u, `expected one of ${values.join(", ")}, got ${JSON.stringify(u)}`)
        )
        : ParseResult.succeed(found)
    },
    encode: ParseResult.succeed
  })

/** exporter-toolkit keeps `RequireClientCert` as an old spelling of `RequireAnyClientCert`. */
const ClientAuth = oneOf(CLIENT_AUTH_TYPES, { RequireClientCert: "RequireAnyClientCert" })

/** Go's time.Duration in YAML: a duration string (`1s`, `100ms`) or 0. Milliseconds here. */
const DurationMillis = Schema.transformOrFail(Schema.Unknown, Schema.Number, {
  strict: true,
  decode: (u, _, ast) => {
    if (u === 0) return ParseResult.succeed(0)
    if (typeof u !== "string") {
      return ParseResult.fail(new ParseResult.Type(ast, u, `expected a duration like "1s", got ${JSON.stringify(u)}`))
    }
    return Either.match(parseGoDuration(u), {
      onLeft: (reason) => ParseResult.fail(new ParseResult.Type(ast, u, reason)),
      onRight: (nanos) =>
        nanos < 0n
          ? ParseResult.fail(new ParseResult.Type(ast, u, `must not be negative, got ${u}`))
          : ParseResult.succeed(Number(nanos) / 1_000_000)
    })
  },
  encode: (n) => ParseResult.succeed(`${n}ms`)
})

const NonNegativeInt = Schema.Number.pipe(
  Schema.filter((n) => Number.isSafeInteger(n) && n >= 0)
).annotations({ message: (issue) => `expected a whole number ≥ 0, got ${got(issue)}` })

/** Absent or a value; never an explicit `undefined` (which would add "Expected undefined" noise). */
const opt = <A, I>(schema: Schema.Schema<A, I>) => Schema.optionalWith(schema, { exact: true })

const TlsServerConfig = Schema.Struct({
  cert: opt(Str),
  key: opt(Str),
  client_ca: opt(Str),
  cert_file: opt(Str),
  key_file: opt(Str),
  client_auth_type: opt(ClientAuth),
  client_ca_file: opt(Str),
  cipher_suites: opt(StrList),
  curve_preferences: opt(StrList),
  min_version: opt(oneOf(TLS_VERSIONS)),
  max_version: opt(oneOf(TLS_VERSIONS)),
  prefer_server_cipher_suites: opt(Bool),
  client_allowed_sans: opt(StrList)
})

const HttpServerConfig = Schema.Struct({
  http2: opt(Bool),
  headers: opt(Schema.Record({ key: Schema.String, value: Str }))
})

const RateLimit = Schema.Struct({
  interval: opt(DurationMillis),
  burst: opt(NonNegativeInt)
})

const WebConfigSchema = Schema.Struct({
  tls_server_config: opt(TlsServerConfig),
  http_server_config: opt(HttpServerConfig),
  rate_limit: opt(RateLimit),
  basic_auth_users: opt(Schema.Record({ key: Schema.String, value: Str }))
})

export type TlsServerSection = Schema.Schema.Type<typeof TlsServerConfig>

/** The decoded file, with file paths made absolute against the file's directory. */
export interface WebConfigFile {
  readonly tls: TlsServerSection | undefined
  readonly http2: boolean | undefined
  readonly headers: Readonly<Record<string, string>>
  /** Both 0 when the section is absent (no rate limit). */
  readonly rateLimit: { readonly intervalMillis: number; readonly burst: number }
  /** user → bcrypt hash */
  readonly users: Readonly<Record<string, string>>
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/** `key:` with nothing after it is YAML null; Go's decoder leaves the zero value, so: absent. */
const dropNulls = (u: unknown): unknown => {
  if (Array.isArray(u)) return u.map(dropNulls)
  if (!isRecord(u)) return u
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(u)) if (value !== null) out[key] = dropNulls(value)
  return out
}

const formatPath = (segments: ReadonlyArray<PropertyKey>): string =>
  segments.reduce<string>(
    (text, s) => (typeof s === "number" ? `${text}[${s}]` : text === "" ? String(s) : `${text}.${String(s)}`),
    ""
  )

/** Schema's "is unexpected, expected: a | b" is right but long; say which keys exist instead. */
const describeIssue = (issue: ParseResult.ArrayFormatterIssue): WebConfigProblem => {
  const key = formatPath(issue.path)
  if (issue._tag === "Unexpected") return { key, problem: "unknown key" }
  if (issue._tag === "Missing") return { key, problem: "missing" }
  return { key, problem: issue.message }
}

/** Joins `file` onto `dir` unless it is empty or absolute (Prometheus common's `JoinDir`). */
const joinDir = (
  dir: string,
  file: string
): string => (file === "" || path.isAbsolute(file) ? file : path.join(dir, file))

const resolvePaths = (dir: string, tls: TlsServerSection): TlsServerSection => {
  const { cert_file, key_file, client_ca_file, ...rest } = tls
  return {
    ...rest,
    ...(cert_file === undefined ? {} : { cert_file: joinDir(dir, cert_file) }),
    ...(key_file === undefined ? {} : { key_file: joinDir(dir, key_file) }),
    ...(client_ca_file === undefined ? {} : { client_ca_file: joinDir(dir, client_ca_file) })
  }
}

const validateHeaders = (headers: Readonly<Record<string, string>>): ReadonlyArray<WebConfigProblem> =>
  Object.entries(headers).flatMap(([name, value]): ReadonlyArray<WebConfigProblem> => {
    const key = `http_server_config.headers.${name}`
    const allowed = CONFIGURABLE_HEADERS.get(name)
    if (allowed === undefined) {
      return [{
        key,
        problem: `this header can not be configured (allowed: ${[...CONFIGURABLE_HEADERS.keys()].join(", ")})`
      }]
    }
    if (allowed.length > 0 && !allowed.includes(value)) {
      return [{ key, problem: `expected one of ${allowed.join(", ")}, got ${JSON.stringify(value)}` }]
    }
    return []
  })

/**
 * Parses and checks the text of the web config file at `file` (its directory anchors relative
 * paths, as in exporter-toolkit). Every problem the text alone reveals is reported at once.
 */
export const parseWebConfigFile = (
  file: string,
  text: string
): Either.Either<WebConfigFile, ReadonlyArray<WebConfigProblem>> => {
  const document = parseDocument(text, { prettyErrors: false })
  if (document.errors.length > 0) {
    return Either.left(
      document.errors.map((e) => ({ key: "", problem: `not valid YAML: ${e.message.split("\n")[0] ?? e.message}` }))
    )
  }
  const raw = dropNulls(document.toJS()) ?? {}
  if (!isRecord(raw)) return Either.left([{ key: "", problem: "expected a mapping of sections at the top level" }])
  const decoded = Schema.decodeUnknownEither(WebConfigSchema, { errors: "all", onExcessProperty: "error" })(raw)
  if (Either.isLeft(decoded)) {
    return Either.left(ParseResult.ArrayFormatter.formatErrorSync(decoded.left).map(describeIssue))
  }
  const value = decoded.right
  const headers = value.http_server_config?.headers ?? {}
  const headerProblems = validateHeaders(headers)
  if (headerProblems.length > 0) return Either.left(headerProblems)
  const tls = value.tls_server_config
  return Either.right({
    tls: tls === undefined ? undefined : resolvePaths(path.dirname(file), tls),
    http2: value.http_server_config?.http2,
    headers,
    rateLimit: { intervalMillis: value.rate_limit?.interval ?? 0, burst: value.rate_limit?.burst ?? 0 },
    users: value.basic_auth_users ?? {}
  })
}
