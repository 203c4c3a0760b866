/**
 * Colour only on a terminal: @effect/cli always writes ANSI escapes (help, usage errors), and
 * so would the doctor. Escapes are kept when the stream is a TTY and NO_COLOR
 * (https://no-color.org: present and not empty) is not set; otherwise the Console given to
 * @effect/cli strips them.
 */
import type * as Console from "effect/Console"
import { stripVTControlCharacters } from "node:util"

export interface TerminalInfo {
  readonly stdoutIsTTY: boolean
  readonly stderrIsTTY: boolean
  /** The NO_COLOR environment variable, as given. */
  readonly noColor: string | undefined
}

export const colourWanted = (isTTY: boolean, noColor: string | undefined): boolean =>
  isTTY && (noColor === undefined || noColor === "")

const plain =
  (write: (...args: ReadonlyArray<unknown>) => ReturnType<Console.Console["log"]>) =>
  (...args: ReadonlyArray<unknown>) =>
    write(...args.map((a) => (typeof a === "string" ? stripVTControlCharacters(a) : a)))

/** `base` with escapes stripped from what goes to a stream that should not be coloured. */
export const colourConsole = (base: Console.Console, terminal: TerminalInfo): Console.Console => {
  const out = colourWanted(terminal.stdoutIsTTY, terminal.noColor)
  const err = colourWanted(terminal.stderrIsTTY, terminal.noColor)
  return {
    ...base,
    log: out ? base.log : plain(base.log),
    info: out ? base.info : plain(base.info),
    error: err ? base.error : plain(base.error),
    warn: err ? base.warn : plain(base.warn)
  }
}
