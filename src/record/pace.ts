/**
 * How `joulemon replay` serves a recording at /metrics. Its own small module, so the CLI names
 * the choices without loading the replay code.
 */
export const REPLAY_PACES = ["scrape", "recorded"] as const

/**
 * `scrape`: one refresh per scrape of /metrics, as fast as asked. `recorded`: the replay
 * advances by itself, one refresh per recorded interval (the recorded timestamps' gaps).
 */
export type ReplayPace = (typeof REPLAY_PACES)[number]
