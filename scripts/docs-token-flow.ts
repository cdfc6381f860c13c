// npm run docs:token-flow: the caller table of docs/token-flow.md from the descriptors' internal routes.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PROJECT_ROOT, withInternalRouteTable } from "@pooya/system";

const target = join(PROJECT_ROOT, "docs/token-flow.md");
writeFileSync(target, withInternalRouteTable(readFileSync(target, "utf8")));
console.log(`wrote the caller table in ${target}`);
