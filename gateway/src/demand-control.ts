// Demand control: what a query may ask for, refused (HTTP 400, with a code) before it is
// planned or any subgraph is called. The cost counts every object in the answer the query
// could produce: lists multiply by `first`, or by an assumed size where they are not paginated.
import {
  GraphQLError,
  visit,
  getNamedType,
  getNullableType,
  isLeafType,
  isListType,
  type ASTVisitor,
  type DocumentNode,
  type GraphQLSchema,
  type ValidationContext,
} from "graphql";
import { getComplexity, type ComplexityEstimator } from "graphql-query-complexity";
import type { ApolloServerPlugin, BaseContext } from "@apollo/server";
import { DEFAULT_PAGE_SIZE } from "@pooya/runtime";

export interface DemandLimits {
  /** Most objects an answer may hold, as estimated. */
  maxCost: number;
  /** Longest alias (a long alias repeated by fragments makes a huge subgraph query). */
  maxAliasLength: number;
}

/** How many items the lists that are not paginated hold, at most or typically (by Type.field). */
export const ASSUMED_LIST_SIZES: Record<string, number> = {
  "Course.students": 50,
  "User.attendance": 50,
  "User.foodOrders": 20,
  "User.enrolledCourses": 10,
  "User.teachingCourses": 10,
  "Query.myOrders": 20,
  "Query.meals": 30,
  "Query.courseAttendance": 50,
};
const DEFAULT_LIST_SIZE = 10;

/**
 * Cost of a field: 1 for an object, 0 for a scalar, times the items of its lists. A field with a
 * `first` argument (a connection) counts `first` items (20 when not given); its `edges` list is
 * then not counted again.
 */
export const listAwareEstimator: ComplexityEstimator = ({ type, field, args, childComplexity }) => {
  const own = isLeafType(getNamedType(field.type)) ? 0 : 1;
  if (field.args.some((a) => a.name === "first")) {
    const first = typeof args.first === "number" && args.first >= 0 ? args.first : DEFAULT_PAGE_SIZE;
    return own + first * childComplexity;
  }
  if (isListType(getNullableType(field.type)) && !(type.name.endsWith("Connection") && field.name === "edges")) {
    return (ASSUMED_LIST_SIZES[`${type.name}.${field.name}`] ?? DEFAULT_LIST_SIZE) * (own + childComplexity);
  }
  return own + childComplexity;
};

function refused(message: string, code: string, extensions: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...extensions, http: { status: 400 } } });
}

/** The estimated cost of an operation (undefined: variables that do not fit, which the executor answers with its own error). */
function estimatedCost(args: {
  schema: GraphQLSchema;
  document: DocumentNode;
  variables?: Record<string, unknown>;
  operationName?: string | null;
}): number | undefined {
  try {
    return getComplexity({
      schema: args.schema,
      query: args.document,
      variables: args.variables ?? {},
      operationName: args.operationName ?? undefined,
      estimators: [listAwareEstimator],
    });
  } catch {
    return undefined;
  }
}

const tooExpensive = (cost: number, limits: DemandLimits) =>
  refused(
    `This query could produce about ${cost} objects; at most ${limits.maxCost} are served. Ask for fewer items (first) or fewer nested lists.`,
    "COST_ESTIMATED_TOO_EXPENSIVE",
    { cost, maxCost: limits.maxCost },
  );

/** The estimated cost of an operation, or a COST_ESTIMATED_TOO_EXPENSIVE error when it is over the limit (undefined: fine, or variables that do not fit). */
export function costRefusal(
  limits: DemandLimits,
  args: {
    schema: GraphQLSchema;
    document: DocumentNode;
    variables?: Record<string, unknown>;
    operationName?: string | null;
  },
): GraphQLError | undefined {
  const cost = estimatedCost(args);
  return cost !== undefined && cost > limits.maxCost ? tooExpensive(cost, limits) : undefined;
}

/**
 * Whether an operation's cost can depend on its variables: a variable in a `first` argument
 * (the page size) or in a directive (@skip/@include decide whether a field counts).
 */
function costDependsOnVariables(document: DocumentNode): boolean {
  let depends = false;
  let inside = 0; // depth within `first:` arguments and directives
  visit(document, {
    Argument: {
      enter: (node) => void (node.name.value === "first" && inside++),
      leave: (node) => void (node.name.value === "first" && inside--),
    },
    Directive: { enter: () => void inside++, leave: () => void inside-- },
    Variable: () => {
      if (inside > 0) depends = true;
    },
  });
  return depends;
}

export function demandControlPlugin<TContext extends BaseContext>(limits: DemandLimits): ApolloServerPlugin<TContext> {
  // Apollo Server keeps one parsed document per distinct query, so the cost of a query whose cost
  // cannot change with its variables is estimated once (it was 4 % of the gateway's CPU on `me`).
  const known = new WeakMap<
    DocumentNode,
    { schema: GraphQLSchema; fixed: boolean; costs: Map<string, number | undefined> }
  >();
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ schema, document, request, operationName }) {
          let entry = known.get(document);
          if (!entry || entry.schema !== schema)
            known.set(document, (entry = { schema, fixed: !costDependsOnVariables(document), costs: new Map() }));
          const key = operationName ?? "";
          let cost = entry.fixed ? entry.costs.get(key) : undefined;
          if (cost === undefined) {
            cost = estimatedCost({ schema, document, variables: request.variables, operationName });
            if (entry.fixed && cost !== undefined) entry.costs.set(key, cost);
          }
          if (cost !== undefined && cost > limits.maxCost) throw tooExpensive(cost, limits);
        },
      };
    },
  };
}

/** A validation rule: aliases longer than `max` characters are refused. */
export function maxAliasLengthRule(max: number) {
  return (context: ValidationContext): ASTVisitor => ({
    Field(node) {
      if (node.alias && node.alias.value.length > max) {
        context.reportError(new GraphQLError(`Aliases are at most ${max} characters long.`, { nodes: [node.alias] }));
      }
    },
  });
}
