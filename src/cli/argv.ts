/**
 * Rewrites the command line into the forms @effect/cli parses the way Kepler's kingpin does.
 *
 * Two gaps in @effect/cli 0.77 are closed here (both found by trying them):
 * - a repeated option does not take `--name=value` (only `--name value`), yet Kepler's own
 *   manifests write `--web.listen-address=:28282`; so `--name=value` is split for every
 *   value-taking flag.
 * - a boolean option cannot tell "not given" from "false" (it always has a default), and
 *   `--x=maybe` silently reads as true. A boolean flag here is therefore two @effect/cli
 *   options, `--x` and `--no-x`, and every spelling of it — `--x`, `--no-x`, `--x=false`,
 *   `--x false`, `--no-x=true`, … — is folded into a single final `--x` or `--no-x` (the last
 *   one wins, as in kingpin). An unrecognised value is an error naming the flag.
 *
 * Flag names compare case-insensitively, as @effect/cli does by default.
 */
import * as Either from "effect/Either"

export interface FlagNames {
  /** Boolean flags, without the `--` (e.g. `exporter.stdout`). */
  readonly booleans: ReadonlyArray<string>
  /** Flags that take a value, without the `--`. */
  readonly valued: ReadonlyArray<string>
}

/** Kingpin (Go's strconv.ParseBool) and @effect/cli spellings, compared in lower case. */
const TRUE_WORDS: ReadonlySet<string> = new Set(["true", "t", "1", "yes", "y", "on"])
const FALSE_WORDS: ReadonlySet<string> = new Set(["false", "f", "0", "no", "n", "off"])

const boolWord = (value: string): boolean | undefined => {
  const word = value.trim().toLowerCase()
  if (TRUE_WORDS.has(word)) return true
  if (FALSE_WORDS.has(word)) return false
  return undefined
}

interface BooleanMention {
  readonly flag: string
  /** `true` for `--no-x`: the flag's value is the opposite of the word. */
  readonly negated: boolean
}

const booleanMention = (name: string, booleans: ReadonlySet<string>): BooleanMention | undefined => {
  const lower = name.toLowerCase()
  if (booleans.has(lower)) return { flag: lower, negated: false }
  if (lower.startsWith("no-") && booleans.has(lower.slice(3))) return { flag: lower.slice(3), negated: true }
  return undefined
}

/** `args` without the runtime and script (what follows `node joulemon`). */
export const normalizeArgs = (
  args: ReadonlyArray<string>,
  names: FlagNames
): Either.Either<ReadonlyArray<string>, string> => {
  const booleans = new Set(names.booleans.map((n) => n.toLowerCase()))
  const valued = new Set(names.valued.map((n) => n.toLowerCase()))
  const out: Array<string> = []
  const finalBooleans = new Map<string, boolean>()

  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? ""
    if (arg === "--") {
      out.push(...args.slice(i))
      break
    }
    if (!arg.startsWith("--")) {
      out.push(arg)
      continue
    }
    const eq = arg.indexOf("=")
    const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq)
    const mention = booleanMention(name, booleans)
    if (mention !== undefined) {
      let value = true
      if (eq >= 0) {
        const word = boolWord(arg.slice(eq + 1))
        if (word === undefined) {
          return Either.left(`--${name}: expected true or false, got ${JSON.stringify(arg.slice(eq + 1))}`)
        }
        value = word
      } else {
        // @effect/cli lets a boolean take the next word as its value; so do we, explicitly.
        const next = args[i + 1]
        const word = next === undefined ? undefined : boolWord(next)
        if (word !== undefined) {
          value = word
          i++
        }
      }
      finalBooleans.delete(mention.flag)
      finalBooleans.set(mention.flag, mention.negated ? !value : value)
      continue
    }
    if (eq >= 0 && valued.has(name.toLowerCase())) {
      out.push(`--${name}`, arg.slice(eq + 1))
      continue
    }
    out.push(arg)
  }
  const folded = [...finalBooleans].map(([flag, value]) => (value ? `--${flag}` : `--no-${flag}`))
  return Either.right([...folded, ...out])
}

/** @effect/cli's own flags, which parse whether or not the help lists them. */
const BUILT_IN_FLAGS = ["help", "version", "completions", "log-level", "wizard"]

/**
 * The first `--flag` in `args` (after `normalizeArgs`) that no command knows, or undefined.
 * Checked here because @effect/cli, once a command has subcommands, reports an unknown flag
 * as "Invalid subcommand" without naming it.
 */
export const unknownFlag = (args: ReadonlyArray<string>, names: FlagNames): string | undefined => {
  const booleans = names.booleans.flatMap((n) => [n, `no-${n}`])
  const known = new Set([...booleans, ...names.valued, ...BUILT_IN_FLAGS].map((n) => n.toLowerCase()))
  const valued = new Set([...names.valued, "completions", "log-level"].map((n) => n.toLowerCase()))
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? ""
    if (arg === "--") return undefined
    if (!arg.startsWith("--")) continue
    const name = arg.slice(2).split("=")[0]?.toLowerCase() ?? ""
    if (!known.has(name)) return arg
    if (valued.has(name) && !arg.includes("=")) i++
  }
  return undefined
}
