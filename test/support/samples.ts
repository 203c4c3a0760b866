/** Picking samples out of a parsed exposition (exposition.ts), for the end-to-end tests. */
import { expect } from "vitest"
import type { ParsedSample } from "./exposition.js"

/** The samples of `name` whose labels include `labels`. */
export const matching = (
  samples: ReadonlyArray<ParsedSample>,
  name: string,
  labels: Readonly<Record<string, string>>
): Array<ParsedSample> =>
  samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))

/** The value of the one sample of `name` with `labels`; the test fails when there is not exactly one. */
export const onlyValue = (
  samples: ReadonlyArray<ParsedSample>,
  name: string,
  labels: Readonly<Record<string, string>>
): number => {
  const found = matching(samples, name, labels)
  expect(found, `${name} ${JSON.stringify(labels)}`).toHaveLength(1)
  return found[0]?.value ?? Number.NaN
}

/** J → µJ, exact for the magnitudes the tests use (joulemon exports µJ / 1e6). */
export const micro = (joules: number): bigint => BigInt(Math.round(joules * 1e6))
