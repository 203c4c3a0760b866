/**
 * joulemon's `--help`, built from @effect/cli's help for the command asked about, with two
 * changes: the sentence @effect/cli puts under every option to name its value type ("A
 * user-defined piece of text.", "A true or false value.") is dropped — every option here says
 * what it is for, and that sentence read as a placeholder — and the root help lists the
 * subcommands in one line each instead of repeating every option in their usage.
 */
import type * as CliConfig from "@effect/cli/CliConfig"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Span from "@effect/cli/HelpDoc/Span"
import * as Usage from "@effect/cli/Usage"

/** @effect/cli 0.77's value-type sentences (internal/primitive.ts `getHelp`). */
const TYPE_SENTENCES: ReadonlySet<string> = new Set([
  "A user-defined piece of text.",
  "A user-defined piece of text that is confidential.",
  "A true or false value.",
  "An integer.",
  "A floating point number."
])

const isTypeSentence = (doc: HelpDoc.HelpDoc): boolean =>
  HelpDoc.isParagraph(doc) && Span.isText(doc.value) && TYPE_SENTENCES.has(doc.value.value)

/** `doc` without the type sentences; a sequence left with one side keeps just that side. */
export const withoutTypeSentences = (doc: HelpDoc.HelpDoc): HelpDoc.HelpDoc => {
  if (isTypeSentence(doc)) return HelpDoc.empty
  if (HelpDoc.isSequence(doc)) {
    const left = withoutTypeSentences(doc.left)
    const right = withoutTypeSentences(doc.right)
    return HelpDoc.isEmpty(left) ? right : HelpDoc.isEmpty(right) ? left : HelpDoc.sequence(left, right)
  }
  if (HelpDoc.isDescriptionList(doc)) {
    return HelpDoc.mapDescriptionList(doc, (span, block) => [span, withoutTypeSentences(block)])
  }
  return doc
}

export interface Subcommand {
  readonly name: string
  readonly summary: string
}

export interface HelpPage {
  /** `joulemon` or `joulemon doctor`. */
  readonly title: string
  readonly version: string
  /** The command's own usage (without subcommands). */
  readonly usage: Usage.Usage
  /** Command.getHelp of the command without subcommands. */
  readonly body: HelpDoc.HelpDoc
  readonly subcommands: ReadonlyArray<Subcommand>
  readonly footer: ReadonlyArray<string>
}

/** The page as @effect/cli's ANSI text (the caller strips the escapes when colour is off). */
export const renderHelp = (page: HelpPage, config: CliConfig.CliConfig): string => {
  const usageLines = Usage.enumerate(page.usage, config).map((span) => HelpDoc.p(Span.concat(Span.text("$ "), span)))
  const commands = page.subcommands.length === 0
    ? []
    : [
      HelpDoc.h1("COMMANDS"),
      ...page.subcommands.map((c) => HelpDoc.p(Span.spans([Span.code(c.name), Span.text(`  ${c.summary}`)])))
    ]
  return HelpDoc.toAnsiText(
    HelpDoc.blocks([
      HelpDoc.h1(Span.code(page.title)),
      HelpDoc.p(`${page.title} ${page.version}`),
      HelpDoc.h1("USAGE"),
      ...usageLines,
      ...commands,
      withoutTypeSentences(page.body),
      ...page.footer.map((line) => HelpDoc.p(line))
    ])
  )
}

export interface HelpRequest {
  /** The subcommand the help is for; undefined for the root command. */
  readonly subcommand: string | undefined
}

/**
 * Whether `args` (after `normalizeArgs`) ask for help, and for which command: `--help` or `-h`
 * before any `--`; the subcommand is the first word that is neither a flag nor a flag's value.
 */
export const helpRequest = (
  args: ReadonlyArray<string>,
  valued: ReadonlyArray<string>,
  subcommands: ReadonlyArray<string>
): HelpRequest | undefined => {
  const takesValue = new Set(valued.map((v) => `--${v.toLowerCase()}`))
  let subcommand: string | undefined
  let asked = false
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? ""
    if (arg === "--") break
    if (arg === "--help" || arg === "-h") asked = true
    else if (takesValue.has(arg.toLowerCase())) i++
    else if (!arg.startsWith("-") && subcommand === undefined && subcommands.includes(arg)) subcommand = arg
  }
  return asked ? { subcommand } : undefined
}
