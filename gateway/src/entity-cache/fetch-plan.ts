// What may be cached of one subgraph fetch, worked out once per query text from the supergraph:
//
// - an entity fetch (`_entities(representations:…){…on Course{…}}`): per entity type, the
//   selection's max-age and scope from the @cacheControl hints (the entity's type hint as the
//   start, as Apollo Server resolves `_entities`), and the other entity types whose fields it
//   holds (their events must evict it too);
// - a root fetch of a query: the same for the whole answer;
// - anything else (mutations, subscriptions, introspection): nothing.
//
// Scope: PRIVATE hints cache per viewer. So does a field under a row-level @policy (its answer
// depends on who asks); a field under @requiresScopes caches per role, one under @authenticated
// for signed-in callers only (whether or not the gateway filters before planning). A selection
// with no max-age, or 0, is not cached.
import { createHash } from "node:crypto";
import {
  Kind,
  getNamedType,
  parse,
  print,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  isCompositeType,
} from "graphql";
import { restrictBySelection, type CacheHints, type CachePolicy } from "../cache-policy.ts";
import type { AuthorizationRules } from "../authorization-rules.ts";

/** Who an entry is for: everyone, anyone signed in, the viewer's role, or the viewer alone. */
export type EntryScope = "public" | "authenticated" | "role" | "viewer";

export interface SelectionPlan {
  maxAge: number;
  scope: EntryScope;
  /** Identifies the selection (subgraph and printed selection set). */
  selection: string;
  /** Entity types (other than the entry's own) whose fields the selection holds. */
  tags: string[];
}

export type FetchPlan =
  { kind: "entities"; types: Map<string, SelectionPlan> } | ({ kind: "root" } & SelectionPlan) | { kind: "none" };

const NONE: FetchPlan = { kind: "none" };

export interface FetchPlanContext {
  schema: GraphQLSchema;
  hints: CacheHints;
  rules: AuthorizationRules;
  /** Object types with a @key: what events name. */
  entityTypes: ReadonlySet<string>;
  /** Per type: a max-age that replaces the hints' (0: never cached). */
  typeOverrides: ReadonlyMap<string, number>;
}

const hash = (text: string) => createHash("sha256").update(text).digest("base64url").slice(0, 22);

/** Object types that have a @key in the supergraph (join__type with a key). */
export function entityTypesOf(supergraphSdl: string): Set<string> {
  const names = new Set<string>();
  for (const definition of parse(supergraphSdl).definitions) {
    if (definition.kind !== Kind.OBJECT_TYPE_DEFINITION && definition.kind !== Kind.INTERFACE_TYPE_DEFINITION) continue;
    const keyed = definition.directives?.some(
      (d) => d.name.value === "join__type" && d.arguments?.some((a) => a.name.value === "key"),
    );
    if (keyed) names.add(definition.name.value);
  }
  return names;
}

function planSelection(
  context: FetchPlanContext,
  subgraph: string,
  typeName: string | undefined,
  selectionSet: SelectionSetNode,
  operation: OperationDefinitionNode,
): SelectionPlan | undefined {
  const { schema, hints, rules } = context;
  const parent = typeName ? schema.getType(typeName) : schema.getQueryType();
  if (!parent || !isCompositeType(parent)) return undefined;
  const policy: CachePolicy & { usedVariables: boolean } = { scope: "PUBLIC", usedVariables: false };
  if (typeName) {
    // `_entities` is a root field: the entity's own type hint is its max-age, as in Apollo Server.
    const typeHint = hints.types.get(typeName);
    if (typeHint?.maxAge === undefined) return undefined;
    policy.maxAge = typeHint.maxAge;
    if (typeHint.scope === "PRIVATE") policy.scope = "PRIVATE";
  }
  let scope: EntryScope = "public";
  const tags = new Set<string>();
  restrictBySelection(schema, hints, policy, parent, selectionSet, {
    root: !typeName,
    visit: (object, field) => {
      const rule = rules.fields.get(`${object.name}.${field}`);
      const target = object.getFields()[field];
      const targetType = target && getNamedType(target.type);
      const typeRule = targetType ? rules.types.get(targetType.name) : undefined;
      for (const requirement of [rule, typeRule, rules.types.get(object.name)]) {
        if (!requirement) continue;
        if (requirement.policies) scope = "viewer";
        else if (requirement.scopes && scope !== "viewer") scope = "role";
        else if (scope === "public") scope = "authenticated";
      }
      if (field !== "id" && object.name !== typeName && context.entityTypes.has(object.name)) tags.add(object.name);
    },
  });
  // @skip/@include on a variable: the selection depends on the variables (they are in the key anyway).
  let maxAge = policy.maxAge ?? 0;
  // An override replaces the entity's own max-age, and caps any entry that holds the type.
  const own = typeName ? context.typeOverrides.get(typeName) : undefined;
  if (own !== undefined) maxAge = own;
  for (const tag of tags) {
    const cap = context.typeOverrides.get(tag);
    if (cap !== undefined) maxAge = Math.min(maxAge, cap);
  }
  if (maxAge <= 0) return undefined;
  if (policy.scope === "PRIVATE") scope = "viewer";
  return {
    maxAge,
    scope,
    selection: `${subgraph}:${hash(`${operation.operation} ${print(selectionSet)}`)}`,
    tags: [...tags].sort(),
  };
}

/** The cache plan of one subgraph query text. */
export function planFetch(context: FetchPlanContext, subgraph: string, query: string): FetchPlan {
  let document;
  try {
    document = parse(query, { noLocation: true });
  } catch {
    return NONE;
  }
  const operations = document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
  const operation = operations[0];
  if (operations.length !== 1 || !operation || operation.operation !== "query") return NONE;
  // The gateway's fetches hold no named fragments; a query that has them is not cached.
  if (document.definitions.some((d) => d.kind === Kind.FRAGMENT_DEFINITION)) return NONE;
  const [first, ...rest] = operation.selectionSet.selections;
  if (first?.kind === Kind.FIELD && first.name.value === "_entities" && rest.length === 0) {
    const types = new Map<string, SelectionPlan>();
    for (const selection of first.selectionSet?.selections ?? []) {
      // Anything but `... on Type { … }` per type (a bare __typename, say): not cached.
      if (selection.kind !== Kind.INLINE_FRAGMENT || !selection.typeCondition || selection.directives?.length)
        return NONE;
      const typeName = selection.typeCondition.name.value;
      const plan = planSelection(context, subgraph, typeName, selection.selectionSet, operation);
      if (plan) types.set(typeName, plan);
    }
    return types.size ? { kind: "entities", types } : NONE;
  }
  if (
    operation.selectionSet.selections.some(
      (s) => s.kind === Kind.FIELD && (s.name.value.startsWith("__") || s.name.value === "_service"),
    )
  )
    return NONE;
  const plan = planSelection(context, subgraph, undefined, operation.selectionSet, operation);
  if (!plan) return NONE;
  // A root answer is evicted by any event on a type it holds, its root type's included.
  return { kind: "root", ...plan };
}
