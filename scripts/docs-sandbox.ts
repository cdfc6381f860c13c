import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { renderSandboxGuide } from "./lib/sandbox-guide.ts";

const target = fileURLToPath(new URL("../docs/sandbox-guide.md", import.meta.url));
writeFileSync(target, renderSandboxGuide());
console.log(`wrote ${target}`);
