// Offline composition with @apollo/composition (what Rover would do, without its binary).
import { composeServices } from "@apollo/composition";
import { parse, type GraphQLSchema } from "graphql";
import {
  Supergraph,
  defaultPrintOptions,
  printSchema,
  shallowOrderPrintedDefinitions,
} from "@apollo/federation-internals";
import { requirementText, schemaRequirements } from "./schema-requirements.ts";

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
  // Who may read what, written into the descriptions (Sandbox and codegen read those).
  if (describeRequirements(result.schema)) {
    const supergraphSdl = printSchema(result.schema, shallowOrderPrintedDefinitions(defaultPrintOptions));
    const hints = result.hints.map((h) => h.toString());
    // Rebuilt from the text: the composed schema may have made its API schema before the descriptions.
    const apiSchema = Supergraph.build(supergraphSdl, { supportedFeatures: null }).apiSchema().toGraphQLJSSchema();
    return { ok: true, supergraphSdl, apiSchema, hints };
  }
  return {
    ok: true,
    supergraphSdl: result.supergraphSdl,
    // What clients see: the supergraph without federation's join/link machinery.
    apiSchema: result.schema.toAPISchema().toGraphQLJSSchema(),
    hints: result.hints.map((h) => h.toString()),
  };
}

type ComposedSchema = NonNullable<ReturnType<typeof composeServices>["schema"]>;

/**
 * Appends "Requires: …" (@authenticated, @requiresScopes, @policy) to the description of each
 * type and field that has a requirement. False when none has one (the schema is untouched).
 */
function describeRequirements(schema: ComposedSchema): boolean {
  const { requirements } = schemaRequirements(printSchema(schema));
  let described = false;
  for (const [coordinate, requirement] of requirements) {
    const text = requirementText(requirement);
    if (!text) continue;
    const [typeName, fieldName] = coordinate.split(".") as [string, string | undefined];
    const type = schema.type(typeName);
    const element = fieldName === undefined ? type : type && "field" in type ? type.field(fieldName) : undefined;
    if (!element) continue;
    element.description = element.description ? `${element.description}\n\n${text}` : text;
    described = true;
  }
  return described;
}
