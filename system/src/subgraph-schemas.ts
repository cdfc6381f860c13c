// The subgraphs' SDL files (subgraphs/<name>/schema.graphql) with the URLs their default ports
// give: what composition turns into gateway/supergraph.graphql.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { SubgraphSource } from "@pooya/gateway";
import { SUBGRAPHS } from "./registry.ts";
import { PROJECT_ROOT } from "./prisma-cli.ts";

export const subgraphSchemaPath = (name: string, root = PROJECT_ROOT) =>
  join(root, "subgraphs", name, "schema.graphql");

export function readSubgraphSchemas(root = PROJECT_ROOT): SubgraphSource[] {
  return SUBGRAPHS.map((s) => ({
    name: s.name,
    url: `http://localhost:${s.defaultPort}/graphql`,
    sdl: readFileSync(subgraphSchemaPath(s.name, root), "utf8"),
  }));
}
