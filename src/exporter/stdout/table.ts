/**
 * Box-drawn text tables in the layout of olekukonko/tablewriter, which Kepler's stdout exporter
 * uses (kepler-behaviour.md §1.11): one space of padding, headers centred (extra space on the
 * right), cells aligned per column. Hand-written because the output must match Kepler's byte for
 * byte and the whole layout is these few lines; the table libraries on npm differ in padding
 * and centring.
 */

export type Align = "left" | "right"

export interface Column {
  readonly header: string
  readonly align: Align
}

/** Characters a terminal would act on (C0, DEL, C1, and so ANSI escapes) shown as `?`. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g

/**
 * Process names, container names and the like come from whoever started the process; a name
 * holding an escape sequence must not be able to drive the operator's terminal.
 */
export const printable = (text: string): string => text.replace(CONTROL, "?")

/** Width in terminal columns, counting code points (the names shown are short and mostly ASCII). */
const width = (text: string): number => [...text].length

const pad = (text: string, size: number, align: Align | "center"): string => {
  const gap = Math.max(0, size - width(text))
  if (align === "left") return text + " ".repeat(gap)
  if (align === "right") return " ".repeat(gap) + text
  const left = Math.floor(gap / 2)
  return " ".repeat(left) + text + " ".repeat(gap - left)
}

const rule = (widths: ReadonlyArray<number>, left: string, middle: string, right: string): string =>
  left + widths.map((w) => "─".repeat(w + 2)).join(middle) + right

/** The table, each line ending in "\n". Cells are made printable; missing cells are blank. */
export const renderTable = (columns: ReadonlyArray<Column>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const safeRows = rows.map((row) => columns.map((_, i) => printable(row[i] ?? "")))
  const widths = columns.map((column, i) =>
    Math.max(width(column.header), ...safeRows.map((row) => width(row[i] ?? "")))
  )
  const line = (cells: ReadonlyArray<string>, align: (i: number) => Align | "center") =>
    `│${cells.map((cell, i) => ` ${pad(cell, widths[i] ?? 0, align(i))} `).join("│")}│`
  return [
    rule(widths, "┌", "┬", "┐"),
    line(
      columns.map((c) => printable(c.header)),
      () => "center"
    ),
    rule(widths, "├", "┼", "┤"),
    ...safeRows.map((row) => line(row, (i) => columns[i]?.align ?? "left")),
    rule(widths, "└", "┴", "┘")
  ]
    .map((l) => `${l}\n`)
    .join("")
}
