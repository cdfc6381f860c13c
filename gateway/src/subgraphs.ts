// The subgraphs the supergraph is composed from, with their SDL files and default URLs.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const SUBGRAPHS = [
  { name: "users", defaultUrl: "http://localhost:4001/graphql" },
  { name: "courses", defaultUrl: "http://localhost:4002/graphql" },
  { name: "attendance", defaultUrl: "http://localhost:4003/graphql" },
  { name: "food", defaultUrl: "http://localhost:4004/graphql" },
] as const;

export type SubgraphName = (typeof SUBGRAPHS)[number]["name"];

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const SUPERGRAPH_PATH = fileURLToPath(new URL("../supergraph.graphql", import.meta.url));

export function subgraphSchemaPath(name: string, root = REPO_ROOT): string {
  return join(root, "subgraphs", name, "schema.graphql");
}

export function readSubgraphSchemas(root = REPO_ROOT) {
  return SUBGRAPHS.map((s) => ({ name: s.name, url: s.defaultUrl, sdl: readFileSync(subgraphSchemaPath(s.name, root), "utf8") }));
}
