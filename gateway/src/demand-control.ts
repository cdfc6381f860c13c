// Demand control: what a query may ask for, refused (HTTP 400, with a code) before it is
// planned or any subgraph is called. The cost (operation-cost.ts) counts the objects the answer
// could hold as the subgraphs' `@cost` and `@listSize` declare them; each answer's actual cost is
// measured too, and both are exported (graphql_operation_cost) and logged at debug level.
import { GraphQLError, visit, type ASTVisitor, type DocumentNode, type ValidationContext } from "graphql";
import type { ApolloServerPlugin, BaseContext } from "@apollo/server";
import type { Logger, Metrics } from "@pooya/runtime";
import { estimateCost, measureCost, type CostRequest, type DemandDirectives } from "./operation-cost.ts";

export { demandDirectivesOf, type DemandDirectives } from "./operation-cost.ts";

export interface DemandLimits {
  /** Highest estimated cost an operation may have (MAX_QUERY_COST). */
  maxCost: number;
  /** Longest alias (a long alias repeated by fragments makes a huge subgraph query). */
  maxAliasLength: number;
}

function refused(message: string, code: string, extensions: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...extensions, http: { status: 400 } } });
}

const tooExpensive = (cost: number, limits: DemandLimits) =>
  refused(
    `This query could produce about ${cost} objects; at most ${limits.maxCost} are served. Ask for fewer items (first) or fewer nested lists.`,
    "COST_ESTIMATED_TOO_EXPENSIVE",
    { cost, maxCost: limits.maxCost },
  );

/** A COST_ESTIMATED_TOO_EXPENSIVE error when an operation's estimate is over the limit (undefined: fine, or variables that do not fit). */
export function costRefusal(limits: DemandLimits, request: CostRequest): GraphQLError | undefined {
  const cost = estimateCost(request);
  return cost !== undefined && cost > limits.maxCost ? tooExpensive(cost, limits) : undefined;
}

/**
 * Whether an operation's cost can depend on its variables: a variable in a slicing argument
 * (`first`) or in a directive (@skip/@include decide whether a field counts).
 */
function costDependsOnVariables(document: DocumentNode, slicingArguments: ReadonlySet<string>): boolean {
  let depends = false;
  let inside = 0; // depth within slicing arguments and directives
  visit(document, {
    Argument: {
      enter: (node) => void (slicingArguments.has(node.name.value) && inside++),
      leave: (node) => void (slicingArguments.has(node.name.value) && inside--),
    },
    Directive: { enter: () => void inside++, leave: () => void inside-- },
    Variable: () => {
      if (inside > 0) depends = true;
    },
  });
  return depends;
}

/** Histogram buckets of operation costs: from a scalar read to the default limit and past it. */
const COST_BUCKETS = [1, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 20_000, 50_000, 100_000];

/** What an operation's cost is counted from (the directives are the accounting's own). */
export type CostQuery = Omit<CostRequest, "directives">;

/** An operation's estimated cost before it runs, and its actual cost recorded after. */
export interface CostAccounting {
  /** The estimate (refused with COST_ESTIMATED_TOO_EXPENSIVE over the limit); undefined: variables that do not fit. */
  estimate(request: CostQuery): number | undefined;
  /** Exports the estimate and the cost measured on the answer's data, and logs both at debug level. */
  record(request: CostQuery, estimated: number | undefined, data: Record<string, unknown> | null | undefined): void;
}

export function costAccounting(
  limits: DemandLimits,
  options: { directives: DemandDirectives; metrics?: Metrics; log?: Logger },
): CostAccounting {
  const { directives, log } = options;
  const costs = options.metrics?.histogram(
    "graphql_operation_cost",
    "Cost of GraphQL operations executed (as @cost/@listSize count it): estimated before planning, actual as measured on the answer",
    ["kind"] as const,
    COST_BUCKETS,
  );
  // Apollo Server keeps one parsed document per distinct query, so the cost of a query whose cost
  // cannot change with its variables is estimated once (it was 4 % of the gateway's CPU on `me`).
  const known = new WeakMap<
    DocumentNode,
    { schema: CostRequest["schema"]; fixed: boolean; costs: Map<string, number | undefined> }
  >();
  const entryOf = ({ schema, document }: Pick<CostQuery, "schema" | "document">) => {
    let entry = known.get(document);
    if (!entry || entry.schema !== schema)
      known.set(
        document,
        (entry = {
          schema,
          fixed: !costDependsOnVariables(document, directives.slicingArgumentNames),
          costs: new Map(),
        }),
      );
    return entry;
  };
  return {
    estimate(request) {
      const entry = entryOf(request);
      const key = request.operationName ?? "";
      let cost = entry.fixed ? entry.costs.get(key) : undefined;
      if (cost === undefined) {
        cost = estimateCost({ ...request, directives });
        if (entry.fixed && cost !== undefined) entry.costs.set(key, cost);
      }
      if (cost !== undefined && cost > limits.maxCost) throw tooExpensive(cost, limits);
      return cost;
    },
    record(request, estimated, data) {
      if (estimated === undefined) return;
      const actual = data ? measureCost({ ...request, directives }, data) : undefined;
      costs?.observe({ kind: "estimated" }, estimated);
      if (actual !== undefined) costs?.observe({ kind: "actual" }, actual);
      log?.debug(
        { operationName: request.operationName, estimatedCost: estimated, actualCost: actual },
        "operation cost",
      );
    },
  };
}

export function demandControlPlugin<TContext extends BaseContext>(
  accounting: CostAccounting,
): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      let estimated: number | undefined;
      return {
        async didResolveOperation({ schema, document, request, operationName }) {
          estimated = accounting.estimate({ schema, document, variables: request.variables, operationName });
        },
        async willSendResponse({ schema, document, request, operationName, response }) {
          if (estimated === undefined || !document || response.body.kind !== "single") return;
          accounting.record(
            { schema, document, variables: request.variables, operationName },
            estimated,
            response.body.singleResult.data,
          );
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
