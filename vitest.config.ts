import { createRequire } from "node:module";
import { defineConfig } from "vitest/config";

const require = createRequire(import.meta.url);

export default defineConfig({
  // One graphql module instance: Apollo's CommonJS packages require graphql/index.js, so ESM
  // imports must get the same file, or schemas are "from another module or realm".
  resolve: { alias: [{ find: /^graphql$/, replacement: require.resolve("graphql") }] },
  test: {
    include: [
      "e2e/test/**/*.test.ts",
      "system/test/**/*.test.ts",
      "platform/*/test/**/*.test.ts",
      "gateway/test/**/*.test.ts",
      "subgraphs/*/test/**/*.test.ts",
    ],
    // Each end-to-end file boots its own federation on its own databases.
    pool: "forks",
    globalSetup: ["e2e/src/global-setup.ts"],
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: process.env.CI ? ["default", ["json", { outputFile: ".ci/results.json" }]] : ["default"],
  },
});
