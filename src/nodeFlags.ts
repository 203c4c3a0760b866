/**
 * The V8 flags joulemon runs under, wherever it starts: `npm start`, bin/joulemon's shebang,
 * the image's entrypoint, the Nix wrapper, and the collector worker it forks
 * (test/packaging/nodeFlags.test.ts holds them to this list). Both trade CPU for memory, which
 * is what a node agent should spend sparingly; README, performance section, for the figures.
 */
export const SHIPPED_NODE_FLAGS: ReadonlyArray<string> = [
  // A 2 MiB young generation (V8's default grows to 16 MiB): 255 → 170 MB at 10k processes.
  "--max-semi-space-size=2",
  // The old generation may grow by 20 % past the live heap before the next full collection,
  // rather than by V8's dynamic factor (up to 4× on a small heap): at 10k processes the
  // median RSS after a scrape 165 → 125 MB and the peak 240 → 132 MB, for ~30 % more CPU.
  "--heap-growing-percent=20"
]
