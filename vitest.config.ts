import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Builds the bundle the end-to-end tests run (test/support/bundleSetup.ts).
    globalSetup: ["test/support/bundleSetup.ts"],
    projects: [
      {
        extends: true,
        test: { name: "unit", include: ["test/**/*.test.ts"], exclude: ["test/e2e/**"] }
      },
      {
        // The end-to-end tests start real processes (joulemon, Prometheus, a CPU burner) and read
        // the machine's /proc: they run after the unit tests, one file at a time, so other test
        // workers do not compete for the CPU they measure.
        extends: true,
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          pool: "forks",
          poolOptions: { forks: { singleFork: true } },
          sequence: { groupOrder: 1 }
        }
      }
    ]
  }
})
