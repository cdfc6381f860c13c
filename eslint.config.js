// ESLint for the whole repository (`npm run lint`): typescript-eslint's strict rules everywhere,
// React's hook rules in the web client. Layout is prettier's job, not ESLint's.
import js from "@eslint/js";
import { defineConfig, globalIgnores } from "eslint/config";
import reactHooks from "eslint-plugin-react-hooks";
import globals from "globals";
import tseslint from "typescript-eslint";

export default defineConfig(
  // Generated code and build output (.gitignore lists the same); bench/ installs its own packages.
  globalIgnores([
    "**/node_modules/",
    "**/dist/",
    "build/",
    ".data/",
    ".turbo/",
    "coverage/",
    "subgraphs/*/src/generated/",
    "subgraphs/*/src/__generated__/",
    "web/src/gql/",
  ]),
  js.configs.recommended,
  tseslint.configs.strict,
  { languageOptions: { ecmaVersion: 2024, sourceType: "module", globals: globals.node } },
  {
    files: ["web/src/**/*.{ts,tsx}"],
    extends: [reactHooks.configs.flat["recommended-latest"]],
    languageOptions: { globals: globals.browser },
  },
  {
    rules: {
      // noUncheckedIndexedAccess is on: `!` after an index the code has just checked (a length, a
      // `has`, a regex group that matched) is how this codebase says so, in 250 places.
      "@typescript-eslint/no-non-null-assertion": "off",
      // `_` names what a destructuring, loop or signature needs but the code does not use.
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", ignoreRestSiblings: true },
      ],
    },
  },
  {
    files: ["e2e/**", "**/test/**"],
    // Tests read GraphQL answers and manifests as untyped JSON (the harness's `Record<string, any>`).
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
);
