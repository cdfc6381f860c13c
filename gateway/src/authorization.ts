// Authorization before planning, with Apollo Router's semantics: the supergraph's @authenticated,
// @requiresScopes and @policy decide which fields of an operation the caller may see; the others
// are removed from the document before the query planner sees it (so no subgraph is asked for
// them), and the answer has null at their paths and one error per removed path.
import { createHash } from "node:crypto";
import {
  Kind,
  getNamedType,
  getOperationAST,
  isNonNullType,
  isListType,
  isObjectType,
  isInterfaceType,
  print,
  type DefinitionNode,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLFormattedError,
  type GraphQLOutputType,
  type GraphQLSchema,
  type SelectionSetNode,
} from "graphql";
import { HeaderMap, type ApolloServerPlugin, type BaseContext } from "@apollo/server";
import type { Role, Viewer } from "@pooya/identity";
import type { Metrics } from "@pooya/runtime";
import {
  REFUSAL_REASON,
  authorizationRules,
  describe,
  refusal,
  type AuthorizationRules,
  type Requirement,
} from "./authorization-rules.ts";

/** One removed field (or fragment): where its null goes in the answer, and why. */
export interface RemovedPath {
  /** Response keys from the root. */
  path: string[];
  /** The output type of each step of `path` (for nulls that must bubble up past non-null fields). */
  types: GraphQLOutputType[];
  /** "Type.field" (or "... on Type"). */
  coordinate: string;
  /** authenticated, requiresScopes or policy:<name>. */
  rule: string;
  requirement: string;
  /** Removed because everything under it was: null without an error of its own. */
  silent?: boolean;
}

export interface FilteredOperation {
  /** Undefined when nothing was removed. */
  document?: DocumentNode;
  /** The key the query planner caches the filtered document's plan under. */
  queryHash?: string;
  removed: RemovedPath[];
  /** Every root field was removed: nothing is sent to any subgraph. */
  empty: boolean;
}

const NOTHING_REMOVED: FilteredOperation = { removed: [], empty: false };

/** The operation as the caller may run it (Router's "filtered query"). */
export function filterOperation(
  schema: GraphQLSchema,
  rules: AuthorizationRules,
  document: DocumentNode,
  operationName: string | null | undefined,
  role: Role | null,
): FilteredOperation {
  const operation = getOperationAST(document, operationName);
  if (!operation) return NOTHING_REMOVED;
  const rootType = schema.getRootType(operation.operation);
  if (!rootType) return NOTHING_REMOVED;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const removed: RemovedPath[] = [];
  const filteredFragments = new Map<string, SelectionSetNode | null>();

  const requirementRefusal = (key: string, map: Map<string, Requirement>) => {
    const requirement = map.get(key);
    const rule = requirement && refusal(requirement, role);
    return rule ? { rule, requirement: describe(requirement!) } : undefined;
  };

  function filterSelectionSet(
    selectionSet: SelectionSetNode,
    parent: GraphQLCompositeType,
    path: string[],
    types: GraphQLOutputType[],
  ): SelectionSetNode | null {
    const kept: SelectionSetNode["selections"][number][] = [];
    let changed = false;
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        const next = filterField(selection, parent, path, types);
        if (next !== selection) changed = true;
        if (next) kept.push(next);
      } else {
        const typeName =
          selection.kind === Kind.INLINE_FRAGMENT
            ? selection.typeCondition?.name.value
            : fragments.get(selection.name.value)?.typeCondition.name.value;
        const typeRefusal = typeName ? requirementRefusal(typeName, rules.types) : undefined;
        if (typeRefusal) {
          removed.push({ path, types, coordinate: `... on ${typeName}`, ...typeRefusal });
          changed = true;
          continue;
        }
        const onType = (typeName ? schema.getType(typeName) : parent) as GraphQLCompositeType;
        if (selection.kind === Kind.INLINE_FRAGMENT) {
          const inner = filterSelectionSet(selection.selectionSet, onType, path, types);
          if (inner !== selection.selectionSet) changed = true;
          if (inner) kept.push(inner === selection.selectionSet ? selection : { ...selection, selectionSet: inner });
        } else {
          const fragment = fragments.get(selection.name.value)!;
          // Decisions depend on types only, so a fragment filters the same wherever it is spread;
          // each spread is still walked to record its own paths.
          const inner = filterSelectionSet(fragment.selectionSet, onType, path, types);
          filteredFragments.set(fragment.name.value, inner);
          if (inner !== fragment.selectionSet) changed = true;
          if (inner) kept.push(selection);
        }
      }
    }
    if (!changed) return selectionSet;
    return kept.length ? { ...selectionSet, selections: kept } : null;
  }

  function filterField(
    field: FieldNode,
    parent: GraphQLCompositeType,
    path: string[],
    types: GraphQLOutputType[],
  ): FieldNode | null {
    const name = field.name.value;
    if (name.startsWith("__") || !(isObjectType(parent) || isInterfaceType(parent))) return field;
    const definition = parent.getFields()[name];
    if (!definition) return field;
    const here = [...path, field.alias?.value ?? name];
    const hereTypes = [...types, definition.type];
    const returned = getNamedType(definition.type);
    const why =
      requirementRefusal(`${parent.name}.${name}`, rules.fields) ?? requirementRefusal(returned.name, rules.types);
    if (why) {
      removed.push({ path: here, types: hereTypes, coordinate: `${parent.name}.${name}`, ...why });
      return null;
    }
    if (!field.selectionSet) return field;
    const inner = filterSelectionSet(field.selectionSet, returned as GraphQLCompositeType, here, hereTypes);
    if (inner === field.selectionSet) return field;
    // Every field under it was removed: it goes too, null, the errors being its fields'.
    if (!inner) {
      removed.push({
        path: here,
        types: hereTypes,
        coordinate: `${parent.name}.${name}`,
        rule: "",
        requirement: "",
        silent: true,
      });
      return null;
    }
    return { ...field, selectionSet: inner };
  }

  const selectionSet = filterSelectionSet(operation.selectionSet, rootType, [], []);
  if (!removed.length) return NOTHING_REMOVED;
  if (!selectionSet) return { removed, empty: true };
  const filtered: DocumentNode = {
    ...document,
    definitions: document.definitions.flatMap<DefinitionNode>((d) => {
      if (d === operation) return [{ ...operation, selectionSet }];
      if (d.kind === Kind.FRAGMENT_DEFINITION) {
        if (!filteredFragments.has(d.name.value)) return []; // no longer spread
        const inner = filteredFragments.get(d.name.value)!;
        return inner ? [inner === d.selectionSet ? d : { ...d, selectionSet: inner }] : [];
      }
      return d.kind === Kind.OPERATION_DEFINITION ? [] : [d]; // only the operation that runs
    }),
  };
  const queryHash = createHash("sha256").update(print(filtered)).digest("hex");
  return { document: filtered, queryHash, removed, empty: false };
}

/**
 * Puts null at a removed path in `data` (through lists), bubbling up past non-null fields as
 * execution would. True: `value` itself must become null.
 */
function nullAt(value: unknown, path: string[], types: GraphQLOutputType[], step: number): boolean {
  if (value === null || value === undefined) return false;
  const type = types[step - 1];
  if (type && isNonNullType(type)) return nullAtType(value, type.ofType, path, types, step);
  return type ? nullAtType(value, type, path, types, step) : nullInObject(value, path, types, step);
}

function nullAtType(value: unknown, type: GraphQLOutputType, path: string[], types: GraphQLOutputType[], step: number) {
  if (isNonNullType(type)) return nullAtType(value, type.ofType, path, types, step);
  if (isListType(type)) {
    const items = value as unknown[];
    for (let i = 0; i < items.length; i++) {
      if (items[i] === null) continue;
      if (nullAtType(items[i], type.ofType, path, types, step)) {
        if (isNonNullType(type.ofType)) return true;
        items[i] = null;
      }
    }
    return false;
  }
  return nullInObject(value, path, types, step);
}

function nullInObject(value: unknown, path: string[], types: GraphQLOutputType[], step: number): boolean {
  const object = value as Record<string, unknown>;
  const key = path[step]!;
  const fieldType = types[step]!;
  if (step === path.length - 1) {
    if (object[key] === undefined) object[key] = null;
    return isNonNullType(fieldType) && object[key] === null;
  }
  if (nullAt(object[key], path, types, step + 1)) {
    object[key] = null;
    return isNonNullType(fieldType);
  }
  return false;
}

/** The answer's data with null at every removed path (null altogether when a non-null root went). */
export function withRemovedNulls(data: Record<string, unknown> | null | undefined, removed: RemovedPath[]) {
  if (!data) return data;
  // Deepest first: a path's null goes in before an emptied parent's.
  const deepestFirst = [...removed].sort((a, b) => b.path.length - a.path.length);
  for (const { path, types } of deepestFirst) if (path.length && nullInObject(data, path, types, 0)) return null;
  return data;
}

/**
 * The error for a removed path. Its `code` stays the one clients already handle (UNAUTHENTICATED
 * signs the web panel out; API.md lists both); Router's code is its `reason`.
 */
export function removedPathError(removedPath: RemovedPath, role: Role | null): GraphQLFormattedError {
  return {
    message: role
      ? `Not allowed: ${removedPath.coordinate} needs ${removedPath.requirement}.`
      : `Sign in to see ${removedPath.coordinate}.`,
    path: removedPath.path,
    extensions: {
      code: role ? "FORBIDDEN" : "UNAUTHENTICATED",
      reason: REFUSAL_REASON,
      requirement: removedPath.requirement,
    },
  };
}

export interface AuthorizationOptions<TContext> {
  supergraphSdl: string;
  viewerOf: (context: TContext) => Viewer;
  /** Where refusals are counted (gateway_authorization_refusals_total). */
  metrics?: Metrics;
}

/**
 * The Apollo Server plugin: at didResolveOperation the document (and the key of its query plan)
 * becomes the filtered one; an operation left with nothing is answered here; nulls and errors
 * for the removed paths are added to the answer.
 */
export function authorizationPlugin<TContext extends BaseContext>(
  options: AuthorizationOptions<TContext>,
): ApolloServerPlugin<TContext> {
  const rules = authorizationRules(options.supergraphSdl);
  const refusals = options.metrics?.counter(
    "gateway_authorization_refusals_total",
    "Fields removed from operations before planning, by field (Type.field) and rule (authenticated, requiresScopes, policy:<name>)",
    ["field", "rule"] as const,
  );
  // Apollo Server keeps one parsed document per query, so each is filtered once per role.
  const filtered = new WeakMap<DocumentNode, { schema: GraphQLSchema; byRole: Map<string, FilteredOperation> }>();
  return {
    async requestDidStart() {
      let outcome: FilteredOperation = NOTHING_REMOVED;
      let role: Role | null = null;
      return {
        async didResolveOperation(requestContext) {
          const { schema, document, operationName } = requestContext;
          if (requestContext.operation?.operation === "subscription") return; // over WebSocket, not here
          role = options.viewerOf(requestContext.contextValue)?.role ?? null;
          let entry = filtered.get(document);
          if (!entry || entry.schema !== schema) filtered.set(document, (entry = { schema, byRole: new Map() }));
          const key = `${role ?? ""}\0${operationName ?? ""}`;
          let known = entry.byRole.get(key);
          if (!known) entry.byRole.set(key, (known = filterOperation(schema, rules, document, operationName, role)));
          outcome = known;
          for (const r of outcome.removed) if (!r.silent) refusals?.inc({ field: r.coordinate, rule: r.rule });
          if (!outcome.document) return;
          const writable = requestContext as { document: DocumentNode; queryHash: string; operation: unknown };
          writable.document = outcome.document;
          writable.queryHash = outcome.queryHash!;
          writable.operation = getOperationAST(outcome.document, operationName);
        },
        async responseForOperation() {
          if (!outcome.empty) return null;
          const data = withRemovedNulls({}, outcome.removed);
          return {
            http: { status: undefined, headers: new HeaderMap() },
            body: {
              kind: "single",
              singleResult: {
                data,
                errors: outcome.removed.flatMap((r) => (r.silent ? [] : [removedPathError(r, role)])),
              },
            },
          };
        },
        async willSendResponse({ response }) {
          if (!outcome.removed.length || outcome.empty || response.body.kind !== "single") return;
          const result = response.body.singleResult;
          if (!("data" in result)) return;
          result.data = withRemovedNulls(result.data, outcome.removed);
          result.errors = [
            ...outcome.removed.flatMap((r) => (r.silent ? [] : [removedPathError(r, role)])),
            ...(result.errors ?? []),
          ];
        },
      };
    },
  };
}
