/**
 * joulemon's help, from @effect/cli's help for the command asked about. `--help` is one screen:
 * the usage, the commands and one line per option (flagSummaries.ts). `joulemon help flags`,
 * `joulemon help doctor` and `joulemon help <flag>` give the full texts, without the sentence
 * @effect/cli puts under every option to name its value type ("A user-defined piece of
 * text.", "A true or false value."): every option here says what it is for, and that sentence
 * read as a placeholder.
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

/** The plain text of a span (styles dropped). */
export const spanText = (span: Span.Span): string => {
  switch (span._tag) {
    case "Text":
    case "URI":
      return span.value
    case "Sequence":
      return spanText(span.left) + spanText(span.right)
    case "Highlight":
    case "Strong":
    case "Weak":
      return spanText(span.value)
  }
}

/** Every option entry of a command's help, in order. */
export const optionEntries = (doc: HelpDoc.HelpDoc): ReadonlyArray<readonly [Span.Span, HelpDoc.HelpDoc]> =>
  HelpDoc.isSequence(doc)
    ? [...optionEntries(doc.left), ...optionEntries(doc.right)]
    : HelpDoc.isDescriptionList(doc)
    ? doc.definitions
    : []

/** `--kube.enable` from `--kube.enable` or `--log.level debug|info|warn|error`. */
const flagOf = (usage: string): string => usage.split(" ")[0]?.replace(/^--/, "") ?? ""

export interface OptionLine {
  /** `--log.level debug|info|warn|error`, `--[no-]kube.enable`, `--metrics LEVEL...` */
  readonly usage: string
  readonly flag: string
}

/**
 * One line per option; `--x` and `--no-x` become `--[no-]x`. Arguments (`<CMD>...`) are left
 * out: the usage line shows them.
 */
export const optionLines = (doc: HelpDoc.HelpDoc): ReadonlyArray<OptionLine> => {
  const usages = optionEntries(doc).map(([span]) => spanText(span).trim()).filter((usage) => usage.startsWith("-"))
  const flags = new Set(usages.map(flagOf))
  return usages.flatMap((usage): ReadonlyArray<OptionLine> => {
    const flag = flagOf(usage)
    if (flag.startsWith("no-") && flags.has(flag.slice(3))) return []
    return [{ flag, usage: flags.has(`no-${flag}`) ? usage.replace(`--${flag}`, `--[no-]${flag}`) : usage }]
  })
}

const USAGE_COLUMN = 34
const bold = (text: string) => `\u001b[1m${text}\u001b[0m`

export interface ShortHelpPage {
  readonly title: string
  readonly version: string
  readonly description: string
  /** `joulemon [FLAGS]`, without the title. */
  readonly usage: string
  readonly options: HelpDoc.HelpDoc
  readonly summaries: Readonly<Record<string, string>>
  /** Flags left out of the one-screen help (still in `joulemon help flags`). */
  readonly hidden?: ReadonlySet<string>
  readonly subcommands: ReadonlyArray<Subcommand>
  readonly footer: ReadonlyArray<string>
}

/** The one-screen help: a line per option, the summary beside it or, for a long flag, under it. */
export const renderShortHelp = (page: ShortHelpPage): string => {
  const options = optionLines(page.options).flatMap((o) => {
    if (page.hidden?.has(o.flag) === true) return []
    const summary = page.summaries[o.flag] ?? ""
    return o.usage.length < USAGE_COLUMN - 2
      ? [`  ${o.usage.padEnd(USAGE_COLUMN - 2)}${summary}`]
      : [`  ${o.usage}`, `  ${"".padEnd(USAGE_COLUMN - 2)}${summary}`]
  })
  const width = Math.max(0, ...page.subcommands.map((c) => c.name.length))
  return [
    `${bold(page.title)} ${page.version} — ${page.description}`,
    "",
    `${bold("Usage:")} ${page.title} ${page.usage}`,
    ...(page.subcommands.length === 0
      ? []
      : ["", bold("Commands:"), ...page.subcommands.map((c) => `  ${c.name.padEnd(width + 2)}${c.summary}`)]),
    "",
    `${bold("Flags")} (all optional; VALUE... may be repeated):`,
    ...options,
    "",
    ...page.footer
  ].join("\n")
}

/** The words of `args` that are neither flags nor a flag's value, up to any `--`. */
const positionals = (args: ReadonlyArray<string>, valued: ReadonlyArray<string>): ReadonlyArray<string> => {
  const takesValue = new Set(valued.map((v) => `--${v.toLowerCase()}`))
  const words: Array<string> = []
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? ""
    if (arg === "--") break
    if (takesValue.has(arg.toLowerCase())) i++
    else if (!arg.startsWith("-")) words.push(arg)
  }
  return words
}

/** `joulemon help [TOPIC]`: undefined when the first word is not `help`. */
export const helpTopic = (
  args: ReadonlyArray<string>,
  valued: ReadonlyArray<string>
): { readonly topic: string | undefined } | undefined => {
  const [first, topic] = positionals(args, valued)
  return first === "help" ? { topic } : undefined
}

/** The full entry of one flag (`kube.enable`, `--kube.enable`, `no-kube.enable`), if it is one. */
export const flagEntry = (doc: HelpDoc.HelpDoc, topic: string): HelpDoc.HelpDoc | undefined => {
  const wanted = topic.replace(/^--/, "").toLowerCase()
  const entries = optionEntries(doc).filter(([span]) => {
    const flag = flagOf(spanText(span).trim()).toLowerCase()
    return flag === wanted || flag === `no-${wanted}`
  })
  const [first, ...rest] = entries.map(([span, block]): [Span.Span, HelpDoc.HelpDoc] => [span, block])
  return first === undefined ? undefined : withoutTypeSentences(HelpDoc.descriptionList([first, ...rest]))
}
