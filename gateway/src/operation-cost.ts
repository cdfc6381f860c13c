// The cost of an operation as IBM's GraphQL cost directive spec (and Apollo Router) count it, from
// the `@cost` and `@listSize` directives the subgraphs declare: an object 1, a scalar or enum 0
// (unless `@cost` weighs them), a list times its size, a mutation 10 more. Estimated before
// planning from the query (a list's size: its slicing argument, else its assumed size) and
// measured after execution from the answer (a list's size: its items).
import {
  GraphQLIncludeDirective,
  GraphQLSkipDirective,
  Kind,
  getArgumentValues,
  getDirectiveValues,
  getNamedType,
  getNullableType,
  getOperationAST,
  getVariableValues,
  isAbstractType,
  isCompositeType,
  isListType,
  isObjectType,
  parse,
  valueFromASTUntyped,
  type DirectiveNode,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from "graphql";

/** Items a list without `@listSize` (or without a size for this request) is assumed to hold. */
export const DEFAULT_LIST_SIZE = 10;
/** What a mutation costs before its fields: it writes. */
export const MUTATION_BASE_COST = 10;

/**
 * A list's `@listSize`. `requireOneSlicingArgument` is read but not enforced: every slicing
 * argument here has a default (`first: Int = 20`), and the subgraph answers an explicit null with
 * that default, so the estimate does the same.
 */
export interface ListSize {
  assumedSize?: number;
  slicingArguments: string[];
  sizedFields: string[];
  requireOneSlicingArgument: boolean;
}

/** The demand-control directives of a supergraph. */
export interface DemandDirectives {
  /** `@cost` weights by "Type" (object, scalar, enum), "Type.field" and "Type.field(argument)". */
  weights: Map<string, number>;
  /** `@listSize` by "Type.field". */
  listSizes: Map<string, ListSize>;
  /** Every slicing argument's name (a variable in one of them makes a query's cost depend on its variables). */
  slicingArgumentNames: Set<string>;
}

const COST_SPEC = /^https:\/\/specs\.apollo\.dev\/cost\/v/;

/** The names `@cost` and `@listSize` go by in a supergraph: imported (maybe renamed), or prefixed by the spec's name. */
function costDirectiveNames(document: DocumentNode): { cost: Set<string>; listSize: Set<string> } {
  const names = { cost: new Set(["cost"]), listSize: new Set(["listSize"]) };
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.SCHEMA_DEFINITION && definition.kind !== Kind.SCHEMA_EXTENSION) continue;
    for (const link of definition.directives ?? []) {
      if (link.name.value !== "link") continue;
      const args = Object.fromEntries((link.arguments ?? []).map((a) => [a.name.value, valueFromASTUntyped(a.value)]));
      if (typeof args.url !== "string" || !COST_SPEC.test(args.url)) continue;
      const prefix = typeof args.as === "string" ? args.as : "cost";
      names.cost.add(`${prefix}__cost`);
      names.listSize.add(`${prefix}__listSize`);
      for (const entry of Array.isArray(args.import) ? (args.import as unknown[]) : []) {
        const { name, as } =
          typeof entry === "string" ? { name: entry, as: entry } : (entry as { name?: string; as?: string });
        if (name === "@cost" && as) names.cost.add(as.slice(1));
        if (name === "@listSize" && as) names.listSize.add(as.slice(1));
      }
    }
  }
  return names;
}

/** Reads `@cost` and `@listSize` from a supergraph's SDL (the API schema the gateway serves drops them). */
export function demandDirectivesOf(supergraphSdl: string): DemandDirectives {
  const document = parse(supergraphSdl);
  const names = costDirectiveNames(document);
  const directives: DemandDirectives = { weights: new Map(), listSizes: new Map(), slicingArgumentNames: new Set() };
  const argumentsOf = (directive: DirectiveNode) =>
    Object.fromEntries((directive.arguments ?? []).map((a) => [a.name.value, valueFromASTUntyped(a.value)]));
  const read = (key: string, applied: readonly DirectiveNode[] | undefined) => {
    for (const directive of applied ?? []) {
      const args = argumentsOf(directive);
      if (names.cost.has(directive.name.value) && typeof args.weight === "number")
        directives.weights.set(key, args.weight);
      if (names.listSize.has(directive.name.value)) {
        const strings = (value: unknown) =>
          Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
        const listSize: ListSize = {
          assumedSize: typeof args.assumedSize === "number" ? args.assumedSize : undefined,
          slicingArguments: strings(args.slicingArguments),
          sizedFields: strings(args.sizedFields),
          requireOneSlicingArgument: args.requireOneSlicingArgument !== false,
        };
        directives.listSizes.set(key, listSize);
        for (const name of listSize.slicingArguments) directives.slicingArgumentNames.add(name);
      }
    }
  };
  for (const definition of document.definitions) {
    if (!("name" in definition) || !definition.name || !("directives" in definition)) continue;
    const type = definition.name.value;
    read(type, definition.directives);
    const fields = "fields" in definition ? (definition.fields ?? []) : [];
    for (const field of fields) {
      read(`${type}.${field.name.value}`, field.directives);
      for (const argument of "arguments" in field ? (field.arguments ?? []) : [])
        read(`${type}.${field.name.value}(${argument.name.value})`, argument.directives);
    }
  }
  return directives;
}

type Variables = Record<string, unknown>;

interface CostContext {
  schema: GraphQLSchema;
  directives: DemandDirectives;
  fragments: Record<string, FragmentDefinitionNode>;
  variables: Variables;
  /** The fields of each selection set on each type, worked out once per operation (every list item shares them). */
  fieldsBySelection: Map<SelectionSetNode, Map<GraphQLCompositeType, [string, FieldInfo][]>>;
}

/** Sizes a connection passes to its sized fields (`edges`), by field name. */
type SizedFields = ReadonlyMap<string, number> | undefined;

const included = (node: { directives?: readonly DirectiveNode[] }, variables: Variables) =>
  getDirectiveValues(GraphQLSkipDirective, node, variables)?.if !== true &&
  getDirectiveValues(GraphQLIncludeDirective, node, variables)?.if !== false;

/**
 * The fields a selection set asks of a value of `type`, by response key (through fragments,
 * skipped and included ones decided). On an object type, a fragment applies when its condition is
 * that type or an interface or union that includes it; on an abstract type (its object type
 * unknown) every fragment does: an upper bound.
 */
function collectFields(
  context: CostContext,
  type: GraphQLCompositeType,
  selectionSet: SelectionSetNode,
  fields = new Map<string, FieldNode[]>(),
  visited = new Set<string>(),
): Map<string, FieldNode[]> {
  const applies = (condition: string | undefined) => {
    if (!condition || condition === type.name || !isObjectType(type)) return true;
    const conditionType = context.schema.getType(condition);
    return !!conditionType && isAbstractType(conditionType) && context.schema.isSubType(conditionType, type);
  };
  for (const selection of selectionSet.selections) {
    if (!included(selection, context.variables)) continue;
    if (selection.kind === Kind.FIELD) {
      const key = selection.alias?.value ?? selection.name.value;
      const same = fields.get(key);
      if (same) same.push(selection);
      else fields.set(key, [selection]);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      if (applies(selection.typeCondition?.name.value))
        collectFields(context, type, selection.selectionSet, fields, visited);
    } else if (!visited.has(selection.name.value)) {
      visited.add(selection.name.value);
      const fragment = context.fragments[selection.name.value];
      if (fragment && applies(fragment.typeCondition.name.value))
        collectFields(context, type, fragment.selectionSet, fields, visited);
    }
  }
  return fields;
}

/** The sub-selections of a field asked for more than once under one response key, as one. */
const mergedSelection = (nodes: FieldNode[]): SelectionSetNode | undefined => {
  const sets = nodes.flatMap((n) => (n.selectionSet ? [n.selectionSet] : []));
  if (sets.length <= 1) return sets[0];
  return { kind: Kind.SELECTION_SET, selections: sets.flatMap((s) => s.selections) };
};

interface FieldInfo {
  definition: GraphQLField<unknown, unknown>;
  key: string;
  /** Cost of one value of the field's type (before its selections). */
  typeWeight: number;
  argumentsWeight: number;
  returnsList: boolean;
  /** The type of the field's values (of its items, for a list). */
  itemType: GraphQLCompositeType;
  selection?: SelectionSetNode;
  node: FieldNode;
}

function fieldInfo(context: CostContext, parent: GraphQLCompositeType, nodes: FieldNode[]): FieldInfo | undefined {
  const node = nodes[0]!;
  const name = node.name.value;
  if (name.startsWith("__") || !("getFields" in parent)) return undefined; // __typename and introspection: free
  const definition = parent.getFields()[name];
  if (!definition) return undefined;
  const key = `${parent.name}.${name}`;
  const named = getNamedType(definition.type);
  const typeWeight =
    context.directives.weights.get(key) ??
    context.directives.weights.get(named.name) ??
    (isCompositeType(named) ? 1 : 0);
  let argumentsWeight = 0;
  for (const argument of node.arguments ?? [])
    argumentsWeight += context.directives.weights.get(`${key}(${argument.name.value})`) ?? 0;
  return {
    definition,
    key,
    typeWeight,
    argumentsWeight,
    returnsList: isListType(getNullableType(definition.type)),
    itemType: named as GraphQLCompositeType, // read only when the field has a selection set
    selection: mergedSelection(nodes),
    node,
  };
}

/** A list's size as the request asks for it: its slicing argument, else its assumed size. */
function requestedSize(context: CostContext, field: FieldInfo, listSize: ListSize | undefined): number {
  if (!listSize) return DEFAULT_LIST_SIZE;
  if (listSize.slicingArguments.length) {
    const args = getArgumentValues(field.definition, field.node, context.variables);
    const sizes = listSize.slicingArguments.flatMap((name) => {
      const value = args[name] ?? field.definition.args.find((a) => a.name === name)?.defaultValue;
      return typeof value === "number" && value >= 0 ? [value] : [];
    });
    if (sizes.length) return Math.max(...sizes);
  }
  return listSize.assumedSize ?? DEFAULT_LIST_SIZE;
}

/** The costed fields a selection set asks of an object of `type`, by response key (once per operation). */
function fieldsOf(
  context: CostContext,
  type: GraphQLCompositeType,
  selectionSet: SelectionSetNode,
): [string, FieldInfo][] {
  let byType = context.fieldsBySelection.get(selectionSet);
  if (!byType) context.fieldsBySelection.set(selectionSet, (byType = new Map()));
  let fields = byType.get(type);
  if (!fields) {
    fields = [];
    for (const [key, nodes] of collectFields(context, type, selectionSet)) {
      const field = fieldInfo(context, type, nodes);
      if (field) fields.push([key, field]);
    }
    byType.set(type, fields);
  }
  return fields;
}

function estimateSelection(
  context: CostContext,
  type: GraphQLCompositeType,
  selectionSet: SelectionSetNode,
  sized: SizedFields,
): number {
  let cost = 0;
  for (const [, field] of fieldsOf(context, type, selectionSet)) {
    const listSize = context.directives.listSizes.get(field.key);
    const size = sized?.get(field.node.name.value);
    let children = 0;
    if (field.selection) {
      const passed = listSize?.sizedFields.length
        ? new Map(listSize.sizedFields.map((name) => [name, requestedSize(context, field, listSize)]))
        : undefined;
      children = estimateSelection(context, field.itemType, field.selection, passed);
    }
    const items =
      size !== undefined
        ? size
        : field.returnsList && !listSize?.sizedFields.length
          ? requestedSize(context, field, listSize)
          : 1;
    cost += field.argumentsWeight + items * (field.typeWeight + children);
  }
  return cost;
}

function measureSelection(
  context: CostContext,
  type: GraphQLCompositeType,
  selectionSet: SelectionSetNode,
  value: Record<string, unknown>,
): number {
  let actualType = type;
  if (isAbstractType(type) && typeof value.__typename === "string") {
    const named = context.schema.getType(value.__typename);
    if (named && isObjectType(named)) actualType = named;
  }
  let cost = 0;
  for (const [key, field] of fieldsOf(context, actualType, selectionSet)) {
    cost += field.argumentsWeight + measureValue(context, field, value[key]);
  }
  return cost;
}

/** The cost of one field's value in an answer: 0 for null, each item of a list counted. */
function measureValue(context: CostContext, field: FieldInfo, value: unknown): number {
  if (value === null || value === undefined) return 0;
  if (Array.isArray(value)) {
    let cost = 0;
    for (const item of value) cost += measureValue(context, field, item);
    return cost;
  }
  return field.selection && typeof value === "object"
    ? field.typeWeight + measureSelection(context, field.itemType, field.selection, value as Record<string, unknown>)
    : field.typeWeight;
}

export interface CostRequest {
  schema: GraphQLSchema;
  directives: DemandDirectives;
  document: DocumentNode;
  variables?: Variables;
  operationName?: string | null;
}

function prepare(
  request: CostRequest,
): { context: CostContext; operation: OperationDefinitionNode; root: GraphQLCompositeType } | undefined {
  const operation = getOperationAST(request.document, request.operationName ?? undefined);
  const root = operation && request.schema.getRootType(operation.operation);
  if (!operation || !root) return undefined;
  const coerced = getVariableValues(request.schema, operation.variableDefinitions ?? [], request.variables ?? {});
  if (coerced.errors) return undefined;
  const fragments: Record<string, FragmentDefinitionNode> = {};
  for (const definition of request.document.definitions)
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments[definition.name.value] = definition;
  return {
    context: {
      schema: request.schema,
      directives: request.directives,
      fragments,
      variables: coerced.coerced,
      fieldsBySelection: new Map(),
    },
    operation,
    root,
  };
}

const baseCost = (operation: OperationDefinitionNode) => (operation.operation === "mutation" ? MUTATION_BASE_COST : 0);

/** The estimated cost of an operation (undefined: no such operation, or variables that do not fit, which the executor answers). */
export function estimateCost(request: CostRequest): number | undefined {
  const prepared = prepare(request);
  if (!prepared) return undefined;
  const { context, operation, root } = prepared;
  try {
    return baseCost(operation) + estimateSelection(context, root, operation.selectionSet, undefined);
  } catch {
    return undefined; // an argument value that does not fit its type: the executor says so
  }
}

/** The cost of an answer: the same count, with each list as long as it came back. */
export function measureCost(request: CostRequest, data: Record<string, unknown>): number | undefined {
  const prepared = prepare(request);
  if (!prepared) return undefined;
  const { context, operation, root } = prepared;
  return baseCost(operation) + measureSelection(context, root, operation.selectionSet, data);
}
