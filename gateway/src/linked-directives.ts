// Directives a supergraph takes from linked specs (`@link(url: …, import: […])`): the name each
// one has in that supergraph. An imported directive has its own name (or its `as`); one not
// imported is `<spec>__<directive>`, and the directive named like its spec is `<spec>` (or the
// link's `as`). The gateway reads freshness hints this way, the schema checks the policy ones.
import { Kind, type ConstDirectiveNode, type ConstValueNode, type DocumentNode } from "graphql";

/** A spec's identity is its URL without the version: `https://specs.apollo.dev/authenticated`. */
export const AUTHENTICATED_SPEC = "https://specs.apollo.dev/authenticated";
export const REQUIRES_SCOPES_SPEC = "https://specs.apollo.dev/requiresScopes";
export const POLICY_SPEC = "https://specs.apollo.dev/policy";
export const COST_SPEC = "https://specs.apollo.dev/cost";
/** Ours: `@cacheControl`, composed into the supergraph with `@composeDirective`. */
export const CACHE_SPEC = "https://pooya.example/cache";

const argument = (directive: ConstDirectiveNode, name: string): ConstValueNode | undefined =>
  directive.arguments?.find((a) => a.name.value === name)?.value;

const stringOf = (value: ConstValueNode | undefined) => (value?.kind === Kind.STRING ? value.value : undefined);

/**
 * The name `element` (a directive of the spec `identity`, without its `@`) has in `document`, or
 * undefined when the document does not link that spec.
 */
export function linkedDirectiveName(document: DocumentNode, identity: string, element: string): string | undefined {
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.SCHEMA_DEFINITION && definition.kind !== Kind.SCHEMA_EXTENSION) continue;
    for (const link of definition.directives ?? []) {
      if (link.name.value !== "link") continue;
      const url = stringOf(argument(link, "url"));
      if (!url) continue;
      const match = /^(.*)\/v\d+\.\d+\/?$/.exec(url);
      if (match?.[1] !== identity) continue;
      const specName = identity.slice(identity.lastIndexOf("/") + 1);
      const prefix = stringOf(argument(link, "as")) ?? specName;
      const imports = argument(link, "import");
      for (const item of imports?.kind === Kind.LIST ? imports.values : []) {
        if (item.kind === Kind.STRING && item.value === `@${element}`) return element;
        if (item.kind === Kind.OBJECT) {
          const field = (name: string) => {
            const value = item.fields.find((f) => f.name.value === name)?.value;
            return value?.kind === Kind.STRING ? value.value : undefined;
          };
          if (field("name") === `@${element}`) return (field("as") ?? `@${element}`).replace(/^@/, "");
        }
      }
      return element === specName ? prefix : `${prefix}__${element}`;
    }
  }
  return undefined;
}
