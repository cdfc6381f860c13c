// npm run schema:diff: what changed in the public API since the released baseline.
//   npm run schema:diff -- --release   writes the current API schema as the new baseline
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { CriticalityLevel } from "@graphql-inspector/core";
import {
  BASELINE_FILE,
  POLICY_BASELINE_FILE,
  PROJECT_ROOT,
  SUPERGRAPH_FILE,
  apiChanges,
  policyChangesOf,
  printApiSchema,
  writePolicyBaseline,
} from "@pooya/system";
import { readFileSync } from "node:fs";

const root = PROJECT_ROOT;
if (process.argv.includes("--release")) {
  writeFileSync(join(root, BASELINE_FILE), printApiSchema(root));
  writePolicyBaseline(root, readFileSync(join(root, SUPERGRAPH_FILE), "utf8"));
  console.log(
    `wrote ${BASELINE_FILE} and ${POLICY_BASELINE_FILE}: this is now the released API (and who may read what) every later change is compared with`,
  );
  process.exit(0);
}
// The API's changes, and the policy's (guards and list sizes live in the supergraph, not the API).
const changes = [
  ...(await apiChanges(root)).map((c) => ({ level: c.criticality.level, path: c.path, message: c.message })),
  ...policyChangesOf(root).map((c) => ({
    level: c.level === "BREAKING" ? CriticalityLevel.Breaking : CriticalityLevel.Dangerous,
    path: c.path,
    message: `${c.message} [${c.type}]`,
  })),
];
const groups: [string, CriticalityLevel][] = [
  ["breaking", CriticalityLevel.Breaking],
  ["dangerous", CriticalityLevel.Dangerous],
  ["safe", CriticalityLevel.NonBreaking],
];
for (const [label, level] of groups) {
  const mine = changes.filter((c) => c.level === level);
  console.log(`${label} (${mine.length})`);
  for (const c of mine) console.log(`  ${c.path ?? ""}  ${c.message}`);
}
if (changes.length === 0) console.log(`no changes against ${BASELINE_FILE}`);
