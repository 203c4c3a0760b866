/** Parses the samples of a Prometheus text exposition (label values unescaped). */
export interface ParsedSample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

/** Go's ParseFloat spellings of the special values (prom-client writes `Nan`). */
const parseValue = (raw: string): number => {
  if (/^[+-]?inf$/i.test(raw)) return raw.startsWith("-") ? -Infinity : Infinity
  if (/^nan$/i.test(raw)) return Number.NaN
  return Number(raw)
}

export const parseSamples = (text: string): Array<ParsedSample> => {
  const out: Array<ParsedSample> = []
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue
    const brace = line.indexOf("{")
    const space = line.lastIndexOf(" ")
    const name = brace < 0 ? line.slice(0, space) : line.slice(0, brace)
    const labels: Record<string, string> = {}
    if (brace >= 0) {
      let i = brace + 1
      while (line[i] !== "}") {
        const eq = line.indexOf("=", i)
        const key = line.slice(i, eq)
        let value = ""
        let j = eq + 2
        for (; line[j] !== "\""; j++) {
          if (line[j] === "\\") {
            j++
            value += line[j] === "n" ? "\n" : (line[j] ?? "")
          } else value += line[j] ?? ""
        }
        labels[key] = value
        i = line[j + 1] === "," ? j + 2 : j + 1
      }
    }
    out.push({ name, labels, value: parseValue(line.slice(space + 1)) })
  }
  return out
}
