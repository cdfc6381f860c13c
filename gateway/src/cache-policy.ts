// Freshness: the Cache-Control of a GraphQL answer over GET, from the subgraphs' @cacheControl
// hints as composed into the supergraph (docs/clients.md).
//
// The hints mean what they mean in Apollo Server: a field's own hint, else (for a field that
// returns an object, interface or union) its type's; a root field or a field returning a
// composite type with no maxAge gets 0 (not cacheable), unless it says `inheritMaxAge: true`;
// a scalar field with no hint inherits its parent's. An answer's policy is the least maxAge of
// its fields, PRIVATE if any is PRIVATE. Here it is worked out from the operation (every field
// it may resolve, fragments on every type, @skip/@include applied) instead of field by field
// while resolving: the gateway resolves nothing itself, and a field the answer did not need
// only makes the policy stricter.
//
//   public, max-age=N   a query over GET, no errors, nothing PRIVATE, no credentials sent
//   private, max-age=N  the same for a signed-in viewer (Authorization or Cookie), or a PRIVATE answer
//   no-store            anything else: POST, mutations, errors, a status other than 200, maxAge 0
import type { ApolloServerPlugin, BaseContext } from "@apollo/server";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import {
  GraphQLIncludeDirective,
  GraphQLSkipDirective,
  Kind,
  getDirectiveValues,
  getNamedType,
  isAbstractType,
  isCompositeType,
  isObjectType,
  isUnionType,
  parse,
  type ConstDirectiveNode,
  type DirectiveNode,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLObjectType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from "graphql";
import { CACHE_SPEC, linkedDirectiveName } from "./linked-directives.ts";

export type CacheScope = "PUBLIC" | "PRIVATE";

export interface CacheHint {
  maxAge?: number;
  scope?: CacheScope;
  inheritMaxAge?: boolean;
}

/** An answer's policy: maxAge undefined when no field restricted it (nothing to cache: not cacheable). */
export interface CachePolicy {
  maxAge?: number;
  scope: CacheScope;
}

export interface CacheHints {
  /** By type name. */
  types: Map<string, CacheHint>;
  /** By `Type.field`. */
  fields: Map<string, CacheHint>;
}

export const NO_STORE = "no-store";

function hintOf(directives: readonly ConstDirectiveNode[] | undefined, name: string): CacheHint | undefined {
  const directive = directives?.find((d) => d.name.value === name);
  if (!directive) return undefined;
  const value = (arg: string) => directive.arguments?.find((a) => a.name.value === arg)?.value;
  const maxAge = value("maxAge");
  const scope = value("scope");
  const inherit = value("inheritMaxAge");
  const hint: CacheHint = {};
  if (scope?.kind === Kind.ENUM && (scope.value === "PUBLIC" || scope.value === "PRIVATE")) hint.scope = scope.value;
  // As Apollo Server: inheritMaxAge wins over a maxAge given with it.
  if (inherit?.kind === Kind.BOOLEAN && inherit.value) hint.inheritMaxAge = true;
  else if (maxAge?.kind === Kind.INT) hint.maxAge = Number.parseInt(maxAge.value, 10);
  return hint;
}

/** The @cacheControl hints of a supergraph, by type and by field. */
export function cacheHintsOf(supergraphSdl: string | DocumentNode): CacheHints {
  const document = typeof supergraphSdl === "string" ? parse(supergraphSdl) : supergraphSdl;
  const name = linkedDirectiveName(document, CACHE_SPEC, "cacheControl") ?? "cacheControl";
  const hints: CacheHints = { types: new Map(), fields: new Map() };
  for (const definition of document.definitions) {
    if (
      definition.kind !== Kind.OBJECT_TYPE_DEFINITION &&
      definition.kind !== Kind.OBJECT_TYPE_EXTENSION &&
      definition.kind !== Kind.INTERFACE_TYPE_DEFINITION &&
      definition.kind !== Kind.INTERFACE_TYPE_EXTENSION &&
      definition.kind !== Kind.UNION_TYPE_DEFINITION &&
      definition.kind !== Kind.UNION_TYPE_EXTENSION
    )
      continue;
    const typeName = definition.name.value;
    const typeHint = hintOf(definition.directives, name);
    if (typeHint && !hints.types.has(typeName)) hints.types.set(typeName, typeHint);
    if (definition.kind === Kind.UNION_TYPE_DEFINITION || definition.kind === Kind.UNION_TYPE_EXTENSION) continue;
    for (const field of definition.fields ?? []) {
      const fieldHint = hintOf(field.directives, name);
      if (fieldHint) hints.fields.set(`${typeName}.${field.name.value}`, fieldHint);
    }
  }
  return hints;
}

export function restrict(policy: CachePolicy, hint: CacheHint) {
  if (hint.maxAge !== undefined && (policy.maxAge === undefined || hint.maxAge < policy.maxAge))
    policy.maxAge = hint.maxAge;
  if (hint.scope === "PRIVATE") policy.scope = "PRIVATE";
}

/** One field's policy where its parent is `parent`: Apollo Server's `willResolveField`, statically. */
function fieldPolicy(hints: CacheHints, parent: GraphQLObjectType, fieldName: string, root: boolean): CacheHint {
  const field = parent.getFields()[fieldName];
  if (!field) return {};
  const target = getNamedType(field.type);
  const policy: CacheHint = {};
  let inherit = false;
  if (isCompositeType(target)) {
    const typeHint = hints.types.get(target.name) ?? {};
    if (typeHint.maxAge !== undefined) policy.maxAge = typeHint.maxAge;
    if (typeHint.scope !== undefined) policy.scope = typeHint.scope;
    inherit = !!typeHint.inheritMaxAge;
  }
  const own = hints.fields.get(`${parent.name}.${fieldName}`) ?? {};
  if (own.inheritMaxAge && policy.maxAge === undefined) {
    inherit = true;
    if (own.scope) policy.scope = own.scope;
  } else {
    if (own.maxAge !== undefined) policy.maxAge = own.maxAge;
    if (own.scope !== undefined) policy.scope = own.scope;
  }
  if (policy.maxAge === undefined && ((isCompositeType(target) && !inherit) || root)) policy.maxAge = 0;
  return policy;
}

/** What a walk over a selection set saw: each field (on each object type it may be resolved on). */
export type FieldVisitor = (parent: GraphQLObjectType, fieldName: string) => void;

/**
 * Restricts `policy` by every field `selectionSet` may resolve on `parent` (fragments on every
 * type, @skip/@include applied). `root`: the selection is a root type's (fields with no hint get
 * 0). Sets `policy.usedVariables` when @skip/@include read a variable.
 */
export function restrictBySelection(
  schema: GraphQLSchema,
  hints: CacheHints,
  policy: CachePolicy & { usedVariables: boolean },
  parent: GraphQLCompositeType,
  selectionSet: SelectionSetNode,
  options: {
    root: boolean;
    fragments?: ReadonlyMap<string, FragmentDefinitionNode>;
    variables?: Record<string, unknown>;
    visit?: FieldVisitor;
  },
) {
  const fragments = options.fragments ?? new Map<string, FragmentDefinitionNode>();
  const variables = options.variables ?? {};
  const included = (node: { directives?: readonly DirectiveNode[] }) => {
    if (!node.directives?.length) return true;
    if (node.directives.some((d) => d.arguments?.some((a) => a.value.kind === Kind.VARIABLE)))
      policy.usedVariables = true;
    try {
      if (getDirectiveValues(GraphQLSkipDirective, node, variables)?.if === true) return false;
      if (getDirectiveValues(GraphQLIncludeDirective, node, variables)?.if === false) return false;
    } catch {
      // a variable that does not coerce: the request fails anyway; count the field
    }
    return true;
  };

  const walk = (parent: GraphQLCompositeType, selectionSet: SelectionSetNode, root: boolean, seen: Set<string>) => {
    for (const selection of selectionSet.selections) {
      if (!included(selection)) continue;
      if (selection.kind === Kind.FIELD) {
        const name = selection.name.value;
        if (name === "__typename") continue; // a scalar with no hint: inherits
        if (name === "__schema" || name === "__type") {
          restrict(policy, { maxAge: 0 }); // a root field with no hint
          continue;
        }
        const objects: readonly GraphQLObjectType[] = isAbstractType(parent)
          ? schema.getPossibleTypes(parent)
          : isObjectType(parent)
            ? [parent]
            : [];
        for (const object of objects) {
          restrict(policy, fieldPolicy(hints, object, name, root));
          options.visit?.(object, name);
        }
        if (selection.selectionSet && !isUnionType(parent)) {
          const field = parent.getFields()[name];
          const target = field && getNamedType(field.type);
          if (target && isCompositeType(target)) walk(target, selection.selectionSet, false, seen);
        }
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const on = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : parent;
        if (on && isCompositeType(on)) walk(on, selection.selectionSet, root, seen);
      } else {
        const fragment = fragments.get(selection.name.value);
        // A fragment spread twice on one path adds nothing new; validation refuses cycles already.
        const key = `${selection.name.value}@${parent.name}`;
        if (!fragment || seen.has(key)) continue;
        const on = schema.getType(fragment.typeCondition.name.value);
        if (on && isCompositeType(on)) walk(on, fragment.selectionSet, root, new Set(seen).add(key));
      }
    }
  };
  walk(parent, selectionSet, options.root, new Set());
}

/** The fragments of a document, by name. */
export function fragmentsOf(document: DocumentNode): Map<string, FragmentDefinitionNode> {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  return fragments;
}

/**
 * The policy of an operation's answer: every field it may resolve counted once per type it may
 * be resolved on. `usedVariables` says whether @skip/@include read a variable (then the policy
 * holds for these variables only).
 */
export function operationCachePolicy(
  schema: GraphQLSchema,
  hints: CacheHints,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown> = {},
  visit?: FieldVisitor,
): CachePolicy & { usedVariables: boolean } {
  const policy: CachePolicy & { usedVariables: boolean } = { scope: "PUBLIC", usedVariables: false };
  const rootType = schema.getRootType(operation.operation);
  if (!rootType) return { ...policy, maxAge: 0 };
  restrictBySelection(schema, hints, policy, rootType, operation.selectionSet, {
    root: true,
    fragments: fragmentsOf(document),
    variables,
    ...(visit ? { visit } : {}),
  });
  return policy;
}

/** The Cache-Control header of an answer with this policy. */
export function cacheControlHeader(policy: CachePolicy | undefined, { credentials }: { credentials: boolean }): string {
  if (!policy?.maxAge || policy.maxAge <= 0) return NO_STORE;
  const scope = policy.scope === "PRIVATE" || credentials ? "private" : "public";
  return `${scope}, max-age=${policy.maxAge}`;
}

/**
 * Sets Cache-Control on GET answers from the supergraph's hints; POST answers keep Apollo's
 * `no-store`. The policy of a document is remembered (per operation name) unless @skip/@include
 * read a variable.
 */
export function cachePolicyPlugin<TContext extends BaseContext>(
  supergraphSdl: string,
): ApolloServerPlugin<TContext> & { hints: CacheHints } {
  const hints = cacheHintsOf(supergraphSdl);
  const remembered = new WeakMap<DocumentNode, Map<string, CachePolicy>>();
  return {
    hints,
    async requestDidStart({ request }) {
      if (request.http?.method !== "GET") return;
      return {
        async willSendResponse({ response, document, operation, schema }) {
          const body = response.body;
          const cacheable =
            body.kind === "single" &&
            !body.singleResult.errors?.length &&
            body.singleResult.data != null &&
            (response.http.status ?? 200) === 200 &&
            operation?.operation === "query" &&
            document !== undefined;
          if (!cacheable) {
            response.http.headers.set("cache-control", NO_STORE);
            return;
          }
          const key = operation.name?.value ?? "";
          let policy = remembered.get(document)?.get(key);
          if (!policy) {
            const computed = operationCachePolicy(schema, hints, document, operation, request.variables ?? {});
            policy = { maxAge: computed.maxAge, scope: computed.scope };
            if (!computed.usedVariables) {
              let byName = remembered.get(document);
              if (!byName) remembered.set(document, (byName = new Map()));
              byName.set(key, policy);
            }
          }
          const headers = request.http!.headers;
          const credentials = headers.has("authorization") || headers.has("cookie");
          response.http.headers.set("cache-control", cacheControlHeader(policy, { credentials }));
        },
      };
    },
  };
}

/** What a cacheable answer varies by, besides what CORS and compression add themselves. */
export const CACHEABLE_VARY = ["Accept", "Authorization", "Cookie"];

/**
 * Wraps the GET /graphql handler: a cacheable answer gets `Vary` (merged with CORS's Origin),
 * and any answer that ended other than 200 (e.g. refused as too large after Apollo answered)
 * is `no-store`.
 */
export function withCacheHeaders<R>(
  handler: (this: FastifyInstance, request: FastifyRequest, reply: FastifyReply) => Promise<R>,
) {
  return async function cacheHeaders(this: FastifyInstance, request: FastifyRequest, reply: FastifyReply) {
    const payload = await handler.call(this, request, reply);
    const cacheControl = reply.getHeader("cache-control");
    if (typeof cacheControl === "string" && cacheControl !== NO_STORE) {
      if (reply.statusCode !== 200) void reply.header("cache-control", NO_STORE);
      else void reply.header("vary", mergeVary(reply.getHeader("vary"), CACHEABLE_VARY));
    }
    return payload;
  };
}

function mergeVary(existing: unknown, add: string[]): string {
  const names = (Array.isArray(existing) ? existing.join(",") : typeof existing === "string" ? existing : "")
    .split(",")
    .map((n) => n.trim())
    .filter(Boolean);
  for (const name of add) if (!names.some((n) => n.toLowerCase() === name.toLowerCase())) names.push(name);
  return names.join(", ");
}
