import { describe, expect, it } from "@effect/vitest"
import { initialZoneState, stepZone, type ZoneState } from "../../src/monitor/nodeEnergy.js"
import { energy, failed, J, node, power, SECOND, zoneMeta } from "../support/readings.js"

const MAX_W = 5000
const run = (
  steps: ReadonlyArray<{ at: bigint; sample: ReturnType<typeof energy>; ticks?: [number, number] }>,
  maxEnergy = 0n
) => {
  let state: ZoneState = initialZoneState
  return steps.map(({ at, sample, ticks = [0, 100] }) => {
    const step = stepZone(state, zoneMeta("package", maxEnergy), sample, at, node(ticks[0], ticks[1]), MAX_W)
    state = {
      ...step.state,
      energyTotal: step.state.energyTotal + step.booked,
      activeEnergyTotal: step.state.activeEnergyTotal + step.active,
      idleEnergyTotal: step.state.idleEnergyTotal + step.booked - step.active
    }
    return { step, state, watts: step.seconds > 0 ? Number(step.booked) / 1e6 / step.seconds : 0 }
  })
}

describe("stepZone — energy counters (kepler-behaviour.md §12 checks 5–7, joules from 0)", () => {
  it("the first reading is a baseline that books nothing", () => {
    const [first] = run([{ at: 0n, sample: energy(J(20)) }], J(200))
    expect(first?.step.status).toBe("baseline")
    expect(first?.state.energyTotal).toBe(0n)
    expect(first?.watts).toBe(0)
  })

  it("gives 50 W for +50 J over 1 s, 25 W for +75 J over 3 s, 8 W across a wrap", () => {
    const results = run(
      [
        { at: 0n, sample: energy(J(20)) },
        { at: SECOND, sample: energy(J(70)) },
        { at: 4n * SECOND, sample: energy(J(145)) },
        { at: 14n * SECOND, sample: energy(J(25)) } // wrapped at 200 J: (200 − 145) + 25 = 80 J
      ],
      J(200)
    )
    expect(results.map((r) => r.watts)).toEqual([0, 50, 25, 8])
    expect(results.map((r) => r.step.status)).toEqual(["baseline", "ok", "ok", "ok"])
    expect(results[3]?.state.wraps).toBe(1)
    // Monotonic from 0: 50 + 75 + 80, not the raw counter (DESIGN.md §3.2).
    expect(results[3]?.state.energyTotal).toBe(J(205))
  })

  it("splits active/idle by /proc/stat ticks: ratio 0.4, Δ 50 J over 2 s", () => {
    const [, second] = run(
      [
        { at: 0n, sample: energy(J(100)) },
        { at: 2n * SECOND, sample: energy(J(150)), ticks: [40, 100] }
      ],
      J(1000)
    )
    expect(second?.step.booked).toBe(J(50))
    expect(second?.step.active).toBe(J(20))
    expect(second?.state.activeEnergyTotal).toBe(J(20))
    expect(second?.state.idleEnergyTotal).toBe(J(30))
    expect(second?.watts).toBe(25)
    expect(Number(second?.step.active) / 1e6 / 2).toBe(10)
  })

  it("floors the active part and gives the remainder to idle, so active + idle = total exactly", () => {
    const [, second] = run([
      { at: 0n, sample: energy(0n) },
      { at: SECOND, sample: energy(10n), ticks: [1, 3] }
    ])
    expect(second?.step.active).toBe(3n)
    expect(second?.state.idleEnergyTotal).toBe(7n)
  })

  it("re-baselines on a backwards counter without a known boundary (reset)", () => {
    const results = run([
      { at: 0n, sample: energy(J(20)) },
      { at: SECOND, sample: energy(J(10)) },
      { at: 2n * SECOND, sample: energy(J(15)) }
    ])
    expect(results.map((r) => r.step.status)).toEqual(["baseline", "reset", "ok"])
    expect(results[2]?.state.energyTotal).toBe(J(5))
    expect(results[2]?.state.resets).toBe(1)
  })

  it("drops an implausible delta as a glitch and keeps counting from the new value", () => {
    const results = run(
      [
        { at: 0n, sample: energy(J(10)) },
        { at: SECOND, sample: energy(J(100_010)) }, // 100 kJ in 1 s = 100 kW
        { at: 2n * SECOND, sample: energy(J(100_060)) }
      ],
      J(1_000_000)
    )
    expect(results.map((r) => r.step.status)).toEqual(["baseline", "glitch", "ok"])
    expect(results[2]?.state.energyTotal).toBe(J(50))
    expect(results[2]?.state.glitches).toBe(1)
  })

  it("a failed read books nothing and the next good read covers the whole gap", () => {
    const results = run([
      { at: 0n, sample: energy(J(10)) },
      { at: SECOND, sample: failed("EIO") },
      { at: 3n * SECOND, sample: energy(J(70)) }
    ])
    expect(results.map((r) => r.step.status)).toEqual(["baseline", "read-error", "ok"])
    expect(results[1]?.state.readErrors).toBe(1)
    expect(results[2]?.step.booked).toBe(J(60))
    expect(results[2]?.watts).toBe(20)
  })

  it("books nothing for a zero-length interval and keeps the baseline", () => {
    const results = run([
      { at: SECOND, sample: energy(J(10)) },
      { at: SECOND, sample: energy(J(12)) },
      { at: 2n * SECOND, sample: energy(J(20)) }
    ])
    expect(results.map((r) => r.step.status)).toEqual(["baseline", "idle-interval", "ok"])
    expect(results[2]?.step.booked).toBe(J(10))
  })
})

describe("stepZone — power sensors (kepler-behaviour.md §12 check 8)", () => {
  it("integrates 100 W at ratio 0.7 over 1 s into 100 J: 70 J active, 30 J idle", () => {
    const [first, second, third] = run([
      { at: 0n, sample: power(100e6) },
      { at: SECOND, sample: power(100e6), ticks: [70, 100] },
      { at: 3n * SECOND, sample: power(100e6), ticks: [70, 100] }
    ])
    expect(first?.state.energyTotal).toBe(0n)
    expect(second?.state.energyTotal).toBe(J(100))
    expect(second?.state.activeEnergyTotal).toBe(J(70))
    expect(second?.state.idleEnergyTotal).toBe(J(30))
    expect(second?.watts).toBe(100)
    expect(third?.state.energyTotal).toBe(J(300))
    expect(third?.state.activeEnergyTotal).toBe(J(210))
    expect(third?.state.idleEnergyTotal).toBe(J(90))
  })

  it("50 W then 40 W: 100 J over 2 s, then 220 J after 3 s more", () => {
    const results = run([
      { at: 0n, sample: power(50e6) },
      { at: 2n * SECOND, sample: power(50e6) },
      { at: 5n * SECOND, sample: power(40e6) }
    ])
    expect(results.map((r) => r.state.energyTotal)).toEqual([0n, J(100), J(220)])
  })

  it("treats negative, non-finite and implausible power as glitches", () => {
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY, 6000e6]) {
      const [, second] = run([
        { at: 0n, sample: power(10e6) },
        { at: SECOND, sample: power(bad) }
      ])
      expect(second?.step.status).toBe("glitch")
      expect(second?.state.energyTotal).toBe(0n)
    }
  })
})
