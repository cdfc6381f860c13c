// npm run schema:print: writes the public API schema the gateway serves (what clients see,
// federation machinery removed) to schema.graphql, for frontend tooling (codegen, editors,
// linters). schema:check fails when the committed file is not current.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { PROJECT_ROOT, PUBLIC_SCHEMA_FILE, printApiSchema } from "@pooya/system";

writeFileSync(join(PROJECT_ROOT, PUBLIC_SCHEMA_FILE), printApiSchema(PROJECT_ROOT));
console.log(`wrote ${PUBLIC_SCHEMA_FILE}`);
