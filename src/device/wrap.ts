/**
 * Counter arithmetic for cumulative µJ counters that wrap at `max_energy_range_uj`
 * (kepler-behaviour.md §3.6, §5.2; DESIGN.md §3.5). Exact: bigint throughout.
 */

export type CounterDelta =
  /** current ≥ previous */
  | { readonly _tag: "Advanced"; readonly delta: bigint }
  /** current < previous and the wrap boundary is known: (max − previous) + current */
  | { readonly _tag: "Wrapped"; readonly delta: bigint }
  /**
   * current < previous with no known boundary (or a previous beyond it): the counter was
   * reset or misread. Nothing can be booked; the caller re-baselines on `current`.
   */
  | { readonly _tag: "Reset" }

export const counterDelta = (current: bigint, previous: bigint, max: bigint): CounterDelta => {
  if (current >= previous) return { _tag: "Advanced", delta: current - previous }
  if (max > 0n && previous <= max) return { _tag: "Wrapped", delta: max - previous + current }
  return { _tag: "Reset" }
}

/** The booked amount of a delta (0 for a reset), as Kepler's calculateEnergyDelta. */
export const bookedDelta = (d: CounterDelta): bigint => (d._tag === "Reset" ? 0n : d.delta)
