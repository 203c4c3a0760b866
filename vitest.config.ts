import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // fast-check runs are seeded from here so CI is reproducible (see test/support/property.ts)
    testTimeout: 30_000,
    hookTimeout: 30_000
  }
})
