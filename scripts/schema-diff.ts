// npm run schema:diff: what changed in the public API since the released baseline.
//   npm run schema:diff -- --release   writes the current API schema as the new baseline
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { CriticalityLevel } from "@graphql-inspector/core";
import { BASELINE_FILE, PROJECT_ROOT, apiChanges, printApiSchema } from "@pooya/system";

const root = PROJECT_ROOT;
if (process.argv.includes("--release")) {
  writeFileSync(join(root, BASELINE_FILE), printApiSchema(root));
  console.log(`wrote ${BASELINE_FILE}: this is now the released API every later change is compared with`);
  process.exit(0);
}
const changes = await apiChanges(root);
const groups: [string, CriticalityLevel][] = [
  ["breaking", CriticalityLevel.Breaking],
  ["dangerous", CriticalityLevel.Dangerous],
  ["safe", CriticalityLevel.NonBreaking],
];
for (const [label, level] of groups) {
  const mine = changes.filter((c) => c.criticality.level === level);
  console.log(`${label} (${mine.length})`);
  for (const c of mine) console.log(`  ${c.path ?? ""}  ${c.message}`);
}
if (changes.length === 0) console.log(`no changes against ${BASELINE_FILE}`);
