// npm run compose: regenerates gateway/supergraph.graphql from the subgraphs' schema.graphql.
import { writeFileSync } from "node:fs";
import { composeSupergraph } from "../gateway/src/composition.ts";
import { SUPERGRAPH_PATH, readSubgraphSchemas } from "../gateway/src/subgraphs.ts";

const result = composeSupergraph(readSubgraphSchemas());
if (!result.ok) {
  console.error("The subgraphs do not compose:\n" + result.errors.map((e) => `  - ${e}`).join("\n"));
  process.exit(1);
}
writeFileSync(SUPERGRAPH_PATH, result.supergraphSdl + "\n");
console.log(`wrote ${SUPERGRAPH_PATH}`);
