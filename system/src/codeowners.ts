// .github/CODEOWNERS, generated from the registry (npm run codeowners): each subgraph's folder
// (its code, schema, Prisma schema and migrations) belongs to its team; the rest to the platform team.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PROJECT_ROOT } from "./prisma-cli.ts";
import { PLATFORM_OWNERS, SUBGRAPH_NAMES, SUBGRAPH_OWNERS } from "./registry.ts";

export const CODEOWNERS_PATH = join(PROJECT_ROOT, ".github", "CODEOWNERS");

/** Platform-owned paths; a subgraph team still needs the platform team for the API baseline and its acknowledgements. */
const PLATFORM_PATHS = [
  "/gateway/",
  "/platform/",
  "/system/",
  "/e2e/",
  "/scripts/",
  "/.ci/",
  "/gateway/api-baseline.graphql",
  "/gateway/acknowledged-changes.json",
];

export function renderCodeowners(): string {
  const rows: [string, string][] = [];
  for (const name of SUBGRAPH_NAMES) rows.push([`/subgraphs/${name}/`, SUBGRAPH_OWNERS[name]]);
  for (const path of PLATFORM_PATHS) rows.push([path, PLATFORM_OWNERS]);
  const width = Math.max(...rows.map(([path]) => path.length)) + 2;
  return [
    "# Generated from system/src/registry.ts by `npm run codeowners`; do not edit (see docs/workflow.md).",
    "# Reviews are requested automatically; a later line wins over an earlier one.",
    ...rows.map(([path, owner]) => `${path.padEnd(width)}${owner}`),
    "",
  ].join("\n");
}

export async function writeCodeowners(root = PROJECT_ROOT): Promise<void> {
  await writeFile(join(root, ".github", "CODEOWNERS"), renderCodeowners());
}
