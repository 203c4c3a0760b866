/**
 * Reading and checking the web config (`web.configFile`): the file, then the certificates, keys
 * and CA it points at. Every problem found is reported at once, each naming the file and key.
 */
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { readBoundedText, ReadRefused } from "../io/boundedRead.js"
import { PEM_FILE_LIMIT, WEB_CONFIG_LIMIT } from "../io/readLimits.js"
import { validateUsers } from "./basicAuth.js"
import { planTls, tlsEnabled, type TlsMaterial, type TlsPlan } from "./tls.js"
import { parseWebConfigFile, type WebConfigFile, type WebConfigProblem } from "./webConfigFile.js"
import type { RateLimit } from "./webConfigRateLimit.js"

export class WebConfigError extends Data.TaggedError("WebConfigError")<{
  readonly file: string
  readonly problems: ReadonlyArray<WebConfigProblem>
}> {
  override get message(): string {
    const each = this.problems.map((p) => (p.key === "" ? p.problem : `${p.key}: ${p.problem}`))
    return `invalid web config file ${JSON.stringify(this.file)}: ${each.join("; ")}`
  }
}

/** The checked web config, ready to build servers and the guard from. */
export interface WebSettings {
  readonly file: string
  readonly tls: TlsPlan | undefined
  readonly headers: Readonly<Record<string, string>>
  readonly rateLimit: RateLimit
  readonly users: Readonly<Record<string, string>>
  /** Things that work but that an operator should hear about, logged at WARN. */
  readonly warnings: ReadonlyArray<string>
}

/** What a size limit covers, for the error: "the web config" or "a PEM file". */
interface Bound {
  readonly limit: number
  readonly what: string
}

const WEB_CONFIG_BOUND: Bound = { limit: WEB_CONFIG_LIMIT, what: "the web config" }
const PEM_BOUND: Bound = { limit: PEM_FILE_LIMIT, what: "a PEM file" }

const MiB = 1024 * 1024
const limitText = (bound: Bound): string =>
  `the ${bound.limit / MiB} MiB (${bound.limit} bytes) limit for ${bound.what}`

const describeReadError = (bound: Bound) => (e: unknown): string => {
  if (e instanceof ReadRefused) {
    const big = e.tooLarge
    // A FIFO or a device (a symlink to /dev/zero) is refused before any read: it never ends.
    if (big === undefined) return `${e.reason}; ${bound.what} must be a regular file within ${limitText(bound)}`
    return big.size === undefined
      ? `larger than ${limitText(bound)}; refused`
      : `${big.size} bytes, over ${limitText(bound)}; refused without reading it`
  }
  const code = typeof e === "object" && e !== null && "code" in e ? String(e.code) : ""
  switch (code) {
    case "ENOENT":
      return "no such file"
    case "EACCES":
    case "EPERM":
      return "permission denied"
    case "EISDIR":
      return "is a directory"
    default:
      return e instanceof Error ? e.message : String(e)
  }
}

/**
 * A regular file of at most `bound.limit` bytes (boundedRead.ts). The file is read at start
 * and again every minute with TLS on, so a wrong path (a log, /dev/zero) must fail quickly,
 * with its size, rather than fill the memory on every reload.
 */
const readText = (file: string, bound: Bound): Effect.Effect<string, string> =>
  Effect.tryPromise({ try: () => readBoundedText(file, bound.limit), catch: describeReadError(bound) })

const K = "tls_server_config"

/** The PEM text for one of cert/key/client_ca: the file when named (it wins, as in Go), else inline. */
const pemSource = (
  fileKey: string,
  file: string | undefined,
  inlineKey: string,
  inline: string | undefined
): Effect.Effect<Option.Option<{ key: string; source: string; pem: string }>, WebConfigProblem> => {
  if (file !== undefined && file !== "") {
    return readText(file, PEM_BOUND).pipe(
      Effect.map((pem) => Option.some({ key: `${K}.${fileKey}`, source: file, pem })),
      Effect.mapError((reason) => ({
        key: `${K}.${fileKey}`,
        problem: `cannot read ${JSON.stringify(file)}: ${reason}`
      }))
    )
  }
  return Effect.succeed(
    inline !== undefined && inline !== ""
      ? Option.some({ key: `${K}.${inlineKey}`, source: inlineKey, pem: inline })
      : Option.none()
  )
}

const readTlsMaterial = (
  parsed: WebConfigFile
): Effect.Effect<Option.Option<TlsMaterial>, ReadonlyArray<WebConfigProblem>> => {
  const section = parsed.tls
  if (section === undefined || !tlsEnabled(section)) return Effect.succeedNone
  return Effect.gen(function*() {
    const [cert, key, clientCa] = yield* Effect.all(
      [
        pemSource("cert_file", section.cert_file, "cert", section.cert).pipe(Effect.either),
        pemSource("key_file", section.key_file, "key", section.key).pipe(Effect.either),
        pemSource("client_ca_file", section.client_ca_file, "client_ca", section.client_ca).pipe(Effect.either)
      ],
      { concurrency: "unbounded" }
    )
    const problems: Array<WebConfigProblem> = []
    for (const result of [cert, key, clientCa]) if (Either.isLeft(result)) problems.push(result.left)
    const certPem = Either.getOrElse(cert, () => Option.none())
    const keyPem = Either.getOrElse(key, () => Option.none())
    if (Either.isRight(cert) && Option.isNone(certPem)) {
      problems.push({ key: K, problem: "TLS is configured but neither cert_file nor cert is set" })
    }
    if (Either.isRight(key) && Option.isNone(keyPem)) {
      problems.push({ key: K, problem: "TLS is configured but neither key_file nor key is set" })
    }
    if (problems.length > 0 || Option.isNone(certPem) || Option.isNone(keyPem)) return yield* Effect.fail(problems)
    return Option.some<TlsMaterial>({
      cert: certPem.value,
      key: keyPem.value,
      clientCa: Option.getOrUndefined(Either.getOrElse(clientCa, () => Option.none()))
    })
  })
}

/**
 * Reads and checks the web config file and everything it points at. Every problem found is in
 * the one error; warnings come back with the settings.
 */
export const loadWebConfig = Effect.fn("WebConfig.load")(function*(file: string) {
  const fail = (problems: ReadonlyArray<WebConfigProblem>) => Effect.fail(new WebConfigError({ file, problems }))
  const text = yield* readText(file, WEB_CONFIG_BOUND).pipe(
    Effect.catchAll((reason) => fail([{ key: "", problem: `cannot read the file: ${reason}` }]))
  )
  const parsed = parseWebConfigFile(file, text)
  if (Either.isLeft(parsed)) return yield* fail(parsed.left)
  const config = parsed.right

  const problems: Array<WebConfigProblem> = [...validateUsers(config.users)]
  const warnings: Array<string> = []
  if (config.rateLimit.intervalMillis > 0 && config.rateLimit.burst < 1) {
    problems.push({
      key: "rate_limit.burst",
      problem: "must be at least 1 when rate_limit.interval is set, or no request would ever be served"
    })
  }
  if (config.rateLimit.intervalMillis === 0 && config.rateLimit.burst > 0) {
    warnings.push("rate_limit.burst is set but rate_limit.interval is 0, which disables the rate limit")
  }
  if (config.http2 === true) {
    warnings.push("http_server_config.http2: HTTP/2 is not supported; clients are served HTTP/1.1")
  }

  const material = yield* readTlsMaterial(config).pipe(Effect.either)
  let tls: TlsPlan | undefined
  if (Either.isLeft(material)) problems.push(...material.left)
  else if (Option.isSome(material.right) && config.tls !== undefined) {
    const now = yield* Clock.currentTimeMillis
    const plan = planTls(config.tls, material.right.value, now)
    if (Either.isLeft(plan)) problems.push(...plan.left)
    else {
      tls = plan.right
      warnings.push(...plan.right.warnings)
    }
  }
  if (problems.length > 0) return yield* fail(problems)
  if (tls === undefined && Object.keys(config.users).length > 0) {
    warnings.push("basic_auth_users without TLS: passwords cross the network in clear text; add tls_server_config")
  }
  return {
    file,
    tls,
    headers: config.headers,
    rateLimit: config.rateLimit,
    users: config.users,
    warnings
  } satisfies WebSettings
})
