// Subgraph operations executed by graphql-jit: an operation the gateway sends again and again
// (every query plan's fetches are a handful of fixed documents) is compiled once into plain
// JavaScript, which runs entity batches several times faster than graphql-js walking the
// document for every field of every item. Apollo Server's only seam for its executor is the
// gateway interface, so that is what this implements; parsing, validation, plugins and error
// formatting stay Apollo Server's.
import {
  GraphQLError,
  execute,
  getVariableValues,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from "graphql";
import type { CompiledQuery } from "graphql-jit";
import { boundedCache, documentBytes, type BoundedCache } from "@pooya/runtime";
import type { GatewayGraphQLRequestContext, GatewayInterface } from "@apollo/server-gateway-interface";

export interface CompiledExecutorOptions {
  /** Uses of the same operation before it is compiled (a one-off operation is not worth compiling). */
  compileAfterUses?: number;
  /** Operations remembered (compiled or counted); the least recently used are forgotten. */
  maxOperations?: number;
  /** Estimated bytes of the compiled operations remembered (each counted as its parsed document's heap). */
  maxBytes?: number;
}

export type Entry = { uses: number; compiled?: CompiledQuery | null };

export interface CompiledExecutor {
  gateway: GatewayInterface;
  /** Operations compiled so far (for tests and metrics). */
  compiledCount(): number;
  /** The operations remembered (for their gauges). */
  cache: BoundedCache<string, Entry>;
  /** Resolves once the compiler has loaded (it loads with the first request otherwise). */
  ready(): Promise<void>;
}

/**
 * graphql-jit's errors may lack `extensions`; graphql-js's always have them (the original
 * error's, or empty), and plugins and error formatting rely on that.
 */
function asGraphqlJsError(error: GraphQLError): GraphQLError {
  if (error.extensions) return error;
  return new GraphQLError(error.message, {
    ...(error.nodes ? { nodes: error.nodes } : {}),
    ...(error.source ? { source: error.source } : {}),
    ...(error.positions ? { positions: error.positions } : {}),
    ...(error.path ? { path: error.path } : {}),
    ...(error.originalError ? { originalError: error.originalError } : {}),
  });
}

/** Runs graphql-js for one operation (first uses, or what graphql-jit cannot compile). */
function executeWithGraphqlJs(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null,
  contextValue: unknown,
  variables: Record<string, unknown> | undefined,
) {
  return execute({
    schema,
    document,
    contextValue,
    ...(variables ? { variableValues: variables } : {}),
    ...(operationName ? { operationName } : {}),
  });
}

/**
 * An executor for Apollo Server's `gateway` option over a local schema. Results and errors are
 * the same as graphql-js's: a variable that does not coerce is reported by graphql-js itself
 * (with the nodes Apollo Server needs to answer it as BAD_USER_INPUT with status 400).
 */
export function compiledExecutor(schema: GraphQLSchema, options: CompiledExecutorOptions = {}): CompiledExecutor {
  const compileAfterUses = options.compileAfterUses ?? 2;
  // An entry holds the compiled code (about as large as the document it came from) and the
  // document; its size is counted when it is first remembered, as for a compiled one.
  const documents = new WeakMap<Entry, DocumentNode>();
  const operations = boundedCache<string, Entry>(
    "compiled-operations",
    { maxEntries: options.maxOperations ?? 500, maxBytes: options.maxBytes ?? 64 * 1024 * 1024 },
    (entry) => {
      const document = documents.get(entry);
      return document ? 2 * documentBytes(document) : 1_000;
    },
  );
  let compiled = 0;
  // The compiler (and the JSON-schema tooling it brings) loads with the first request, not at
  // start: a restarting subgraph is ready as fast as before, and until it has loaded, graphql-js runs.
  let jit: typeof import("graphql-jit") | undefined;
  let loading: Promise<unknown> | undefined;

  function loadCompiler(): Promise<unknown> {
    // Should it fail to load, everything keeps running on graphql-js.
    loading ??= import("graphql-jit").then(
      (module) => (jit = module),
      () => undefined,
    );
    return loading;
  }

  function compiledFor(key: string, document: DocumentNode, operationName: string | null): CompiledQuery | null {
    void loadCompiler();
    let entry = operations.get(key);
    if (!entry) {
      entry = { uses: 0 };
      documents.set(entry, document);
      operations.set(key, entry);
    }
    if (entry.compiled !== undefined) return entry.compiled;
    entry.uses += 1;
    if (entry.uses < compileAfterUses || !jit) return null;
    const { compileQuery, isCompiledQuery } = jit;
    const result = compileQuery(schema, document, operationName ?? undefined);
    entry.compiled = isCompiledQuery(result) ? result : null;
    if (entry.compiled) compiled += 1;
    return entry.compiled;
  }

  async function run(requestContext: GatewayGraphQLRequestContext): Promise<ExecutionResult> {
    const { document, operationName, context, queryHash } = requestContext;
    const variables = requestContext.request.variables;
    const query = compiledFor(`${queryHash}\u0000${operationName ?? ""}`, document, operationName);
    if (!query) return executeWithGraphqlJs(schema, document, operationName, context, variables);
    const result = await query.query(undefined, context, variables ?? {});
    if (result.errors?.length && !("data" in result)) {
      // Variables that do not coerce: graphql-js words and locates the errors as Apollo Server expects.
      const operation = requestContext.operation as OperationDefinitionNode;
      const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables ?? {});
      if (coerced.errors) return { errors: coerced.errors };
      // Anything else: a query is run again by graphql-js; a mutation never is (no second write).
      if (operation.operation === "query")
        return executeWithGraphqlJs(schema, document, operationName, context, variables);
    }
    return result.errors?.length ? { ...result, errors: result.errors.map(asGraphqlJsError) } : result;
  }

  const gateway: GatewayInterface = {
    onSchemaLoadOrUpdate(callback) {
      callback({ apiSchema: schema, coreSupergraphSdl: "" });
      return () => undefined;
    },
    async load() {
      return { executor: run };
    },
    async stop() {
      operations.clear();
    },
  };
  return { gateway, cache: operations, compiledCount: () => compiled, ready: async () => void (await loadCompiler()) };
}
