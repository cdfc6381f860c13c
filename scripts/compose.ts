// npm run compose: regenerates gateway/supergraph.graphql from the registry's subgraphs' schema.graphql.
import { writeFileSync } from "node:fs";
import { SUPERGRAPH_PATH, composeSupergraph } from "@pooya/gateway";
import { readSubgraphSchemas } from "@pooya/system";

const result = composeSupergraph(readSubgraphSchemas());
if (!result.ok) {
  console.error("The subgraphs do not compose:\n" + result.errors.map((e) => `  - ${e}`).join("\n"));
  process.exit(1);
}
writeFileSync(SUPERGRAPH_PATH, result.supergraphSdl + "\n");
console.log(`wrote ${SUPERGRAPH_PATH}`);
