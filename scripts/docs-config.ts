// npm run docs:config: the variable tables in docs/configuration.md from the services' schemas.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PROJECT_ROOT, withConfigTables } from "@pooya/system";

const target = join(PROJECT_ROOT, "docs/configuration.md");
writeFileSync(target, withConfigTables(readFileSync(target, "utf8")));
console.log(`wrote the configuration tables in ${target}`);
