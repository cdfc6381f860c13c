// The static supergraph the gateway serves, and the subgraphs it names (the `join__Graph` enum):
// the gateway's subgraph list comes from the supergraph it was composed into, so the two never differ.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Kind, parse, type EnumTypeDefinitionNode, type GraphQLSchema } from "graphql";
import { DEFAULT_SUPPORTED_SUPERGRAPH_FEATURES, Supergraph } from "@apollo/federation-internals";

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

/** The authorization specs (`for: SECURITY`) this gateway enforces itself (gateway/src/authorization.ts). */
const SECURITY_SPECS =
  /(@link\(url: "https:\/\/specs\.apollo\.dev\/(?:authenticated|requiresScopes|policy)\/v[0-9.]+"), for: SECURITY\)/g;

const SUPPORTED_FEATURES = new Set([
  ...DEFAULT_SUPPORTED_SUPERGRAPH_FEATURES,
  "https://specs.apollo.dev/authenticated/v0.1",
  "https://specs.apollo.dev/requiresScopes/v0.1",
  "https://specs.apollo.dev/policy/v0.1",
]);

/**
 * The supergraph as Apollo Gateway loads it. Apollo Gateway refuses a supergraph whose security
 * features it does not enforce (fail-closed); ours are enforced by the authorization plugin before
 * Apollo plans, so Apollo gets them without their `for: SECURITY` purpose. Only for a gateway that
 * runs that plugin (or a benchmark peer that is not meant to enforce them).
 */
export function forApolloGateway(supergraphSdl: string): string {
  return supergraphSdl.replace(SECURITY_SPECS, "$1)");
}

/** What clients see of a supergraph: its API schema (no join/link machinery, inaccessible parts removed). */
export function apiSchemaOfSupergraph(supergraphSdl: string): GraphQLSchema {
  return Supergraph.build(supergraphSdl, { supportedFeatures: SUPPORTED_FEATURES }).apiSchema().toGraphQLJSSchema();
}
