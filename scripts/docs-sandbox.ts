// npm run docs:sandbox: docs/sandbox-guide.md from operations/sandbox/*.graphql.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { PROJECT_ROOT, renderSandboxGuide } from "@pooya/system";

const target = join(PROJECT_ROOT, "docs/sandbox-guide.md");
writeFileSync(target, renderSandboxGuide());
console.log(`wrote ${target}`);
