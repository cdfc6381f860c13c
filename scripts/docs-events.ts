// npm run docs:events: the catalogue of event types in docs/events.md from the producers' catalogues.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PROJECT_ROOT, withEventCatalogue } from "@pooya/system";

const target = join(PROJECT_ROOT, "docs/events.md");
writeFileSync(target, withEventCatalogue(readFileSync(target, "utf8")));
console.log(`wrote the event catalogue in ${target}`);
