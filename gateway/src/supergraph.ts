// The static supergraph the gateway serves, and the subgraphs it names (the `join__Graph` enum):
// the gateway's subgraph list comes from the supergraph it was composed into, so the two never differ.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Kind, parse, type EnumTypeDefinitionNode, type GraphQLSchema } from "graphql";
import { Supergraph } from "@apollo/federation-internals";

export const SUPERGRAPH_PATH = fileURLToPath(new URL("../supergraph.graphql", import.meta.url));

export interface SupergraphSubgraph {
  name: string;
  url: string;
}

export function subgraphsOf(supergraphSdl: string): SupergraphSubgraph[] {
  const graphs = parse(supergraphSdl).definitions.find(
    (d): d is EnumTypeDefinitionNode => d.kind === Kind.ENUM_TYPE_DEFINITION && d.name.value === "join__Graph",
  );
  if (!graphs) throw new Error("this is not a supergraph: it has no join__Graph enum");
  return (graphs.values ?? []).map((value) => {
    const directive = value.directives?.find((d) => d.name.value === "join__graph");
    const argument = (name: string) => {
      const node = directive?.arguments?.find((a) => a.name.value === name)?.value;
      return node?.kind === Kind.STRING ? node.value : "";
    };
    return { name: argument("name"), url: argument("url") };
  });
}

export function readSupergraph(path: string): { sdl: string; subgraphs: SupergraphSubgraph[] } {
  const sdl = readFileSync(path, "utf8");
  return { sdl, subgraphs: subgraphsOf(sdl) };
}

/** What clients see of a supergraph: its API schema (no join/link machinery, inaccessible parts removed). */
export function apiSchemaOfSupergraph(supergraphSdl: string): GraphQLSchema {
  return Supergraph.build(supergraphSdl).apiSchema().toGraphQLJSSchema();
}
