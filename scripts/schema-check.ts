// npm run schema:check: the five schema checks; exits 1 if any fails, naming what and where.
import { PROJECT_ROOT, runAllChecks } from "@pooya/system";

const results = await runAllChecks(PROJECT_ROOT);
for (const r of results) {
  console.log(`${r.ok ? "ok  " : "FAIL"} ${r.name}`);
  for (const p of r.problems) console.log(`       ${p}`);
}
const failed = results.filter((r) => !r.ok);
console.log(failed.length ? `\nschema check failed: ${failed.map((r) => r.name).join(", ")}` : "\nschema check passed");
process.exit(failed.length ? 1 : 0);
