/**
 * The YAML input schema: a Kepler config file (kepler-behaviour.md §2.2) plus joulemon's keys,
 * decoded into a `ConfigPatch` to lay over the defaults.
 *
 * This layer checks only shapes (a duration is a Go duration, a list is a list, …); what the
 * values mean (is the level known, is the port in range) is `validate.ts`'s job, so both kinds
 * of problem end up in one list. Every failure names its key path and the value found.
 */
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { METRICS_LEVELS, type MetricsLevel } from "./Config.js"
import { type GoDuration, parseGoDuration } from "./duration.js"
import { parseMetricsLevels } from "./metricsLevel.js"
import type { ConfigPatch } from "./RawConfig.js"

/** How a YAML value is shown in a message: scalars as written, collections by kind. */
const showValue = (u: unknown): string => {
  if (u === null || u === undefined) return "null"
  if (typeof u === "string") return JSON.stringify(u)
  if (Array.isArray(u)) return "a list"
  if (typeof u === "object") return "a mapping"
  return String(u)
}

/**
 * A leaf read from any YAML value. `decode` returns the value, or `undefined` for a plain
 * mismatch, or a reason that is added to the message: `expected <what>, got <value>[: <reason>]`.
 */
const leaf = <A, I>(
  to: Schema.Schema<A, I>,
  expected: string,
  decode: (u: unknown) => Either.Either<I, string | undefined>,
  message: (u: unknown, reason: string | undefined) => string = (u, reason) =>
    `expected ${expected}, got ${showValue(u)}${reason === undefined ? "" : `: ${reason}`}`
): Schema.Schema<A, unknown> =>
  Schema.transformOrFail(Schema.Unknown, to, {
    strict: true,
    decode: (u, _options, ast) =>
      Either.match(decode(u), {
        onLeft: (reason) => ParseResult.fail(new ParseResult.Type(ast, u, message(u, reason))),
        onRight: ParseResult.succeed
      }),
    encode: ParseResult.succeed
  })

const mismatch = Either.left(undefined)

/**
 * yaml.v3 decodes any scalar into a string field using its text; YAML numbers and booleans are
 * accepted here too (`nodeName: 12345`), shown as JavaScript prints them.
 */
const Str = leaf(
  Schema.String,
  "a string",
  (u) =>
    typeof u === "string" || typeof u === "number" || typeof u === "boolean"
      ? Either.right(String(u))
      : mismatch
)

/** yaml.v3 also takes YAML 1.1 words for a typed bool field (`yes`, `off`, …); so do we. */
const YAML11_TRUE = new Set(["y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "true", "True", "TRUE"])
const YAML11_FALSE = new Set(["n", "N", "no", "No", "NO", "off", "Off", "OFF", "false", "False", "FALSE"])
const Bool = leaf(Schema.Boolean, "true or false", (u) => {
  if (typeof u === "boolean") return Either.right(u)
  if (typeof u === "string" && YAML11_TRUE.has(u)) return Either.right(true)
  if (typeof u === "string" && YAML11_FALSE.has(u)) return Either.right(false)
  return mismatch
})

const Int = leaf(
  Schema.Number,
  "an integer",
  (u) => typeof u === "number" && Number.isSafeInteger(u) ? Either.right(u) : mismatch
)

/** NaN and infinities (YAML `.nan`, `.inf`) get through here; validation rejects them where a key has a range. */
const Num = leaf(Schema.Number, "a number", (u) => (typeof u === "number" ? Either.right(u) : mismatch))

/**
 * yaml.v3 refuses a bare integer for a `time.Duration`; we do too, except `0`, which means
 * the same in every unit.
 */
const GoDurationField = leaf(Schema.BigIntFromSelf, "a Go duration like \"5s\"", (u) => {
  if (u === 0) return Either.right<GoDuration>(0n)
  if (typeof u === "number") {
    return Either.left(`a bare number has no unit; write it with one, e.g. "${u}s" or "${u}ms"`)
  }
  if (typeof u === "string") return parseGoDuration(u)
  return mismatch
})

const list = <A, I>(item: Schema.Schema<A, I>, expected: string) =>
  Schema.Array(item).annotations({ message: (issue) => `expected ${expected}, got ${showValue(issue.actual)}` })

const StrList = list(Str, "a list of strings")
const IntList = list(Int, "a list of integers")

/**
 * A string or a list of strings; `[]` means every level; a comma-joined string is an error.
 * An unknown token is reported in Kepler's words, `unknown metrics level: node,pod`.
 */
const MetricsLevels = leaf(
  Schema.Array(Schema.Literal(...METRICS_LEVELS)),
  "a metrics level or a list of them",
  (u): Either.Either<ReadonlyArray<MetricsLevel>, string | undefined> => {
    if (typeof u === "string") return parseMetricsLevels([u])
    if (Array.isArray(u) && u.every((token): token is string => typeof token === "string")) {
      return parseMetricsLevels(u)
    }
    return mismatch
  },
  (u, reason) =>
    reason === undefined
      ? `expected a metrics level or a list of them (${METRICS_LEVELS.join(", ")}), got ${showValue(u)}`
      : `${reason} (one of ${METRICS_LEVELS.join(", ")})`
)

/** `pairings` is Go's `map[int]int`: voltage index → current index. */
const Pairings = Schema.Record({ key: Schema.String, value: Int })
  .annotations({ message: (issue) => `expected a mapping of integers, got ${showValue(issue.actual)}` })
  .pipe(
    Schema.filter((pairings) => {
      const bad = Object.keys(pairings).find((key) => !/^[+-]?\d+$/.test(key))
      return bad === undefined
        ? undefined
        : { path: [bad], message: `expected an integer voltage index as key, got ${JSON.stringify(bad)}` }
    })
  )

const optional = <A, I>(schema: Schema.Schema<A, I>) => Schema.optionalWith(schema, { exact: true })

const section = <Fields extends Schema.Struct.Fields>(fields: Fields) =>
  Schema.Struct(fields).annotations({
    message: (issue) => `expected a mapping, got ${showValue(issue.actual)}`
  })

const ChipRule = section({
  name: Schema.optionalWith(Str, { exact: true, default: () => "" }),
  pairings: Schema.optionalWith(Pairings, { exact: true, default: () => ({}) }),
  skipVoltages: Schema.optionalWith(IntList, { exact: true, default: () => [] }),
  skipCurrents: Schema.optionalWith(IntList, { exact: true, default: () => [] }),
  useSameIndex: Schema.optionalWith(Bool, { exact: true, default: () => false })
})

/** Every key of Kepler §2.2, plus joulemon's additions (marked). */
export const FileConfig = section({
  log: optional(section({ level: optional(Str), format: optional(Str) })),
  host: optional(section({ sysfs: optional(Str), procfs: optional(Str) })),
  monitor: optional(
    section({
      interval: optional(GoDurationField),
      staleness: optional(GoDurationField),
      maxTerminated: optional(Int),
      minTerminatedEnergyThreshold: optional(Int),
      /** joulemon */
      parallelism: optional(Int),
      /** joulemon */
      maxPlausibleWatts: optional(Num),
      /** joulemon */
      collector: optional(Str),
      /** joulemon */
      stateDir: optional(Str),
      /** joulemon */
      idlePolicy: optional(Str),
      /** joulemon */
      shortLived: optional(Str)
    })
  ),
  cpu: optional(
    section({
      preferredMeters: optional(StrList),
      /** joulemon */
      model: optional(section({ idleWattsPerCpu: optional(Num), busyWattsPerCpu: optional(Num) }))
    })
  ),
  rapl: optional(section({ zones: optional(StrList) })),
  exporter: optional(
    section({
      stdout: optional(section({ enabled: optional(Bool) })),
      prometheus: optional(
        section({
          enabled: optional(Bool),
          debugCollectors: optional(StrList),
          metricsLevel: optional(MetricsLevels),
          /** joulemon */
          maxProcesses: optional(Int)
        })
      )
    })
  ),
  debug: optional(section({ pprof: optional(section({ enabled: optional(Bool) })) })),
  web: optional(section({ configFile: optional(Str), listenAddresses: optional(StrList) })),
  kube: optional(
    section({
      enabled: optional(Bool),
      config: optional(Str),
      nodeName: optional(Str),
      podInformer: optional(section({ mode: optional(Str), pollInterval: optional(GoDurationField) }))
    })
  ),
  dev: optional(
    section({
      "fake-cpu-meter": optional(section({ enabled: optional(Bool), zones: optional(StrList) }))
    })
  ),
  experimental: optional(
    section({
      platform: optional(
        section({
          redfish: optional(
            section({
              enabled: optional(Bool),
              nodeName: optional(Str),
              configFile: optional(Str),
              httpTimeout: optional(GoDurationField)
            })
          )
        })
      ),
      hwmon: optional(
        section({
          forceEnabled: optional(Bool),
          zones: optional(StrList),
          chipRules: optional(list(ChipRule, "a list of chip rules"))
        })
      ),
      gpu: optional(
        section({
          enabled: optional(Bool),
          idlePower: optional(Num),
          dcgmEndpoint: optional(Str),
          meter: optional(Str)
        })
      )
    })
  )
})

type FileConfigValue = Schema.Schema.Type<typeof FileConfig>

/** The YAML key `dev.fake-cpu-meter` is `dev.fakeCpuMeter` in the resolved config. */
const toPatch = (file: FileConfigValue): ConfigPatch => {
  const { dev, ...rest } = file
  const fakeCpuMeter = dev?.["fake-cpu-meter"]
  return fakeCpuMeter === undefined ? rest : { ...rest, dev: { fakeCpuMeter } }
}

export interface DecodedFile {
  readonly patch: ConfigPatch
  /** `web.listenAddresses[0]: expected a string, got null`, … */
  readonly errors: ReadonlyArray<string>
  /** Leaf names of keys joulemon does not know, sorted and deduplicated. */
  readonly unknownFields: ReadonlyArray<string>
}

type Path = ReadonlyArray<PropertyKey>

/** `["web", "listenAddresses", 0]` → `web.listenAddresses[0]` */
export const formatPath = (path: Path): string =>
  path.reduce<string>(
    (text, segment) =>
      typeof segment === "number"
        ? `${text}[${segment}]`
        : text === ""
        ? String(segment)
        : `${text}.${String(segment)}`,
    ""
  )

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/** YAML `key:` with nothing after it is null: treat it as absent (the default stays). */
const dropNullKeys = (u: unknown): unknown => {
  if (Array.isArray(u)) return u.map(dropNullKeys)
  if (!isRecord(u)) return u
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(u)) {
    if (value !== null) out[key] = dropNullKeys(value)
  }
  return out
}

/**
 * A copy of `input` without the value at `path` — or, when the path goes into a list, without
 * that whole list (a list replaces the default as a whole, so a half-valid list cannot be kept).
 */
const prune = (input: unknown, path: Path): unknown => {
  const cut = path.findIndex((segment) => typeof segment === "number")
  const keys = (cut === -1 ? path : path.slice(0, cut)).map(String)
  const go = (node: unknown, rest: ReadonlyArray<string>): unknown => {
    const [head, ...tail] = rest
    if (head === undefined || !isRecord(node) || !(head in node)) return node
    if (tail.length === 0) {
      const { [head]: _dropped, ...others } = node
      return others
    }
    return { ...node, [head]: go(node[head], tail) }
  }
  return keys.length === 0 ? {} : go(input, keys)
}

/**
 * Decodes the parsed YAML document. Problems do not stop the decode: each bad value is
 * reported and left out (its default stays), so validation can still report everything else.
 */
export const decodeFileConfig = (document: unknown): DecodedFile => {
  if (document === null || document === undefined) return { patch: {}, errors: [], unknownFields: [] }
  if (!isRecord(document)) {
    return {
      patch: {},
      errors: [`expected a mapping of configuration keys at the top level, got ${showValue(document)}`],
      unknownFields: []
    }
  }
  const input = dropNullKeys(document)
  const strict = Schema.decodeUnknownEither(FileConfig)(input, { errors: "all", onExcessProperty: "error" })
  if (Either.isRight(strict)) return { patch: toPatch(strict.right), errors: [], unknownFields: [] }

  const issues = ParseResult.ArrayFormatter.formatErrorSync(strict.left)
  const unknown = issues.filter((issue) => issue._tag === "Unexpected")
  const shape = issues.filter((issue) => issue._tag !== "Unexpected")
  const unknownFields = [...new Set(unknown.map((issue) => String(issue.path[issue.path.length - 1])))].sort()
  const errors = shape.map((issue) => `${formatPath(issue.path)}: ${issue.message}`)

  const pruned = shape.reduce((acc, issue) => prune(acc, issue.path), input)
  const lenient = Schema.decodeUnknownEither(FileConfig)(pruned, { errors: "all", onExcessProperty: "ignore" })
  if (Either.isRight(lenient)) return { patch: toPatch(lenient.right), errors, unknownFields }
  // Pruning removes every reported value, so this only happens if the schema reports an issue
  // at a path that pruning cannot reach; keep the defaults and say so rather than guess.
  const leftover = ParseResult.ArrayFormatter.formatErrorSync(lenient.left).map(
    (issue) => `${formatPath(issue.path)}: ${issue.message}`
  )
  return { patch: {}, errors: [...errors, ...leftover], unknownFields }
}
