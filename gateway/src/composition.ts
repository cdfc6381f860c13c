// Offline composition with @apollo/composition (what Rover would do, without its binary).
import { composeServices } from "@apollo/composition";
import { parse, type GraphQLSchema } from "graphql";

export interface SubgraphSource {
  name: string;
  url: string;
  sdl: string;
}

export type CompositionResult =
  { ok: true; supergraphSdl: string; apiSchema: GraphQLSchema; hints: string[] } | { ok: false; errors: string[] };

export function composeSupergraph(subgraphs: SubgraphSource[]): CompositionResult {
  const parsed: { name: string; url: string; typeDefs: ReturnType<typeof parse> }[] = [];
  const errors: string[] = [];
  for (const s of subgraphs) {
    try {
      parsed.push({ name: s.name, url: s.url, typeDefs: parse(s.sdl) });
    } catch (error) {
      errors.push(`[${s.name}] schema.graphql does not parse: ${(error as Error).message}`);
    }
  }
  if (errors.length) return { ok: false, errors };
  const result = composeServices(parsed);
  if (result.errors) {
    return { ok: false, errors: result.errors.map((e) => `[${e.extensions?.code ?? "COMPOSITION"}] ${e.message}`) };
  }
  return {
    ok: true,
    supergraphSdl: result.supergraphSdl,
    // What clients see: the supergraph without federation's join/link machinery.
    apiSchema: result.schema.toAPISchema().toGraphQLJSSchema(),
    hints: result.hints.map((h) => h.toString()),
  };
}
