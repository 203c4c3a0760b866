import { describe, expect, it } from "@effect/vitest"
import { FastCheck } from "effect"
import {
  energyOver,
  initialPlatformEnergyState,
  integratePoll,
  type PlatformEnergyState,
  visibleReadings
} from "../../src/platform/platformEnergy.js"
import type { SourceReading } from "../../src/platform/redfishPower.js"

const S = 1_000_000_000n
const MAX_GAP = 18n * S
const id = { nodeName: "worker-1", bmcId: "bmc-1" }

const psu = (sourceId: string, watts: number, chassisId = "1U"): SourceReading => ({
  chassisId,
  sourceId,
  sourceName: `Power Supply ${sourceId}`,
  sourceType: "PowerSupply",
  watts
})

const run = (
  polls: ReadonlyArray<readonly [atSeconds: number, readings: ReadonlyArray<SourceReading>]>
): PlatformEnergyState =>
  polls.reduce(
    (state, [at, readings]) => integratePoll(state, readings, BigInt(at) * S, MAX_GAP).state,
    initialPlatformEnergyState
  )

const totals = (state: PlatformEnergyState, atSeconds: number) =>
  visibleReadings(state, BigInt(atSeconds) * S, MAX_GAP, id).map((r) => [r.sourceId, r.watts, r.microjoulesTotal])

describe("platform energy integration", () => {
  it("starts at 0 and books each reading over the time since the previous one", () => {
    const state = run([
      [0, [psu("PS1", 268), psu("PS2", 25)]],
      [10, [psu("PS1", 268), psu("PS2", 25)]],
      [12, [psu("PS1", 300.5), psu("PS2", 25)]]
    ])
    expect(totals(state, 12)).toEqual([
      ["PS1", 300.5, 2_680_000_000n + 601_000_000n],
      ["PS2", 25, 300_000_000n]
    ])
    const [first] = visibleReadings(state, 12n * S, MAX_GAP, id)
    expect(first).toEqual({
      source: "redfish",
      nodeName: "worker-1",
      bmcId: "bmc-1",
      chassisId: "1U",
      sourceId: "PS1",
      sourceName: "Power Supply PS1",
      sourceType: "PowerSupply",
      watts: 300.5,
      microjoulesTotal: 3_281_000_000n,
      joulesTotal: 3281
    })
  })

  it("a series missing from a successful poll keeps nothing; when it returns it starts from 0", () => {
    const state = run([
      [0, [psu("PS1", 100), psu("PS2", 50)]],
      [1, [psu("PS1", 100), psu("PS2", 50)]],
      [2, [psu("PS1", 100)]],
      [3, [psu("PS1", 100), psu("PS2", 50)]]
    ])
    expect(totals(state, 3)).toEqual([
      ["PS1", 100, 300_000_000n],
      ["PS2", 50, 0n]
    ])
  })

  it("after a gap longer than maxGap nothing is booked for the gap, and the counter stays", () => {
    const state = run([
      [0, [psu("PS1", 100)]],
      [1, [psu("PS1", 100)]],
      [100, [psu("PS1", 100)]],
      [101, [psu("PS1", 100)]]
    ])
    expect(totals(state, 101)).toEqual([["PS1", 100, 200_000_000n]])
  })

  it("the same source twice in one poll: the first is kept, the second reported", () => {
    const outcome = integratePoll(
      initialPlatformEnergyState,
      [psu("PS1", 100), psu("PS1", 999), psu("PS1", 5, "2U")],
      0n,
      MAX_GAP
    )
    expect(outcome.duplicates).toEqual([psu("PS1", 999)])
    expect(totals(outcome.state, 0)).toEqual([
      ["PS1", 100, 0n],
      ["PS1", 5, 0n]
    ])
  })

  it("nothing is visible before the first poll or once the last good poll is older than expireAfter", () => {
    expect(visibleReadings(initialPlatformEnergyState, 0n, MAX_GAP, id)).toEqual([])
    const state = run([[0, [psu("PS1", 100)]]])
    expect(totals(state, 18)).toEqual([["PS1", 100, 0n]])
    expect(totals(state, 19)).toEqual([])
  })

  it("energyOver is ⌊µW × Δns / 10⁹⌋ and 0 for no time", () => {
    expect(energyOver(268, 10n * S)).toBe(2_680_000_000n)
    expect(energyOver(0.0000015, 1n)).toBe(0n)
    expect(energyOver(100, 0n)).toBe(0n)
    expect(energyOver(100, -5n)).toBe(0n)
  })

  it("property: the counter is monotonic and equals the sum of each interval's ⌊watts × Δt⌋", () => {
    const step = FastCheck.record({
      dtMillis: FastCheck.integer({ min: 0, max: 20_000 }),
      watts: FastCheck.double({ min: 0.001, max: 5000, noNaN: true })
    })
    FastCheck.assert(
      FastCheck.property(FastCheck.array(step, { minLength: 1, maxLength: 40 }), (steps) => {
        let state = initialPlatformEnergyState
        let now = 0n
        let expected = 0n
        let previousTotal = 0n
        steps.forEach(({ dtMillis, watts }, i) => {
          const dt = BigInt(dtMillis) * 1_000_000n
          now += dt
          if (i > 0 && dt > 0n && dt <= MAX_GAP) expected += energyOver(watts, dt)
          state = integratePoll(state, [psu("PS1", watts)], now, MAX_GAP).state
          const total = state.series.get(JSON.stringify(["1U", "PowerSupply", "PS1"]))?.microjoules ?? -1n
          expect(total).toBeGreaterThanOrEqual(previousTotal)
          previousTotal = total
        })
        expect(previousTotal).toBe(expected)
      }),
      { seed: 42, numRuns: 300 }
    )
  })
})
