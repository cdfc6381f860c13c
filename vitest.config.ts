import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["e2e/test/**/*.test.ts", "platform/test/**/*.test.ts", "gateway/test/**/*.test.ts", "subgraphs/*/test/**/*.test.ts"],
    // Each end-to-end file boots its own federation on its own databases.
    pool: "forks",
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: process.env.CI ? ["default", ["json", { outputFile: ".ci/results.json" }]] : ["default"],
  },
});
