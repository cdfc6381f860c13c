// Compiled operations: the gateway's fast path for the queries it knows. Each trusted document
// at start, and any other query on first use (bounded, least recently used first out), is parsed,
// validated with the same rules Apollo Server applies, checked for literal values and — when no
// variable can change it — cost, once. A request for it then does only what depends on the
// request: the viewer (a cached token check), authorization for the viewer's role (decided once
// per role), its variables (value limits, cost where variables change it; Apollo Gateway's
// executor coerces them), the query plan executed by Apollo Gateway (the plan is cached under the same key Apollo Server's path
// uses), the answer shaped, serialized once and written.
//
// Anything else goes on to Apollo Server's full pipeline, which answers it as it always has: a
// mutation or subscription, a document that does not parse or validate, introspection, a request
// with extensions, variables that do not coerce, an oversized value, a cost over the limit, a
// field the viewer may not see, a root field with a per-client limit, a failed token check. Every
// one of those is refused before anything runs, so handing it over costs nothing but the check.
// After execution, the answer is finished as Apollo Server and the gateway's plugins finish it:
// errors formatted and masked, their HTTP status and Retry-After, stale-data warnings, the
// operation counted and its cost recorded.
import {
  GraphQLError,
  Kind,
  getOperationAST,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type GraphQLFormattedError,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type ValidationRule,
} from "graphql";
import type { GatewayExecutor, GatewayGraphQLRequestContext } from "@apollo/server-gateway-interface";
import type { FastifyReply, FastifyRequest } from "fastify";
import {
  boundedCache,
  documentBytes,
  graphqlAnswerContentType,
  stringBytes,
  type CacheBounds,
  type Logger,
  type Metrics,
  type operationCounter,
} from "@pooya/runtime";
import type { Role } from "@pooya/identity";
import { filterOperation } from "./authorization.ts";
import type { AuthorizationRules } from "./authorization-rules.ts";
import { rootFields } from "./client-limits.ts";
import type { GatewayContext } from "./context.ts";
import type { CostAccounting } from "./demand-control.ts";
import { staleDataWarnings } from "./entity-cache/entity-cache.ts";
import { oversizedValue, type ValueLimits } from "./value-limits.ts";

export const COMPILED_OPERATIONS_CACHED: CacheBounds = { maxEntries: 1_000, maxBytes: 32 * 1024 * 1024 };

/** A query, compiled: what every request for it shares. */
interface CompiledOperation {
  source: string;
  document: DocumentNode;
  operation: OperationDefinitionNode;
  /** As the client named it (Apollo Gateway keys its plan by the query's hash and this name). */
  operationName: string | undefined;
  /** SHA-256 of the source, as Apollo Server computes it: the query plan's cache key. */
  queryHash: string;
  /** Whether the viewer's role may see every field (decided on first use per role). */
  allowedByRole: Map<Role | null, boolean>;
}

/** Not compiled (it goes through Apollo Server every time): remembered so it is not tried again. */
const NOT_COMPILED = Symbol("not compiled");
type Entry = CompiledOperation | typeof NOT_COMPILED;

export interface CompiledOperationsParts {
  /** Apollo Gateway's executor, once the supergraph is loaded. */
  executor: () => GatewayExecutor;
  /** The API schema, once the supergraph is loaded. */
  schema: () => GraphQLSchema;
  /** Apollo Server's validation rules beyond the specified ones (graphql-armor's, alias length). */
  validationRules: readonly ValidationRule[];
  /** False when introspection is off: a document that introspects goes to Apollo Server, which refuses it. */
  introspection: boolean;
  maxQueryTokens: number;
  context: (request: FastifyRequest) => Promise<GatewayContext>;
  formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  /** Undefined when authorization is left to the subgraphs. */
  authorizationRules: AuthorizationRules | undefined;
  /** Root fields with per-client limits: operations that have one go through Apollo Server. */
  limitedRootFields: ReadonlySet<string>;
  valueLimits: ValueLimits;
  cost: CostAccounting;
  countOperation: ReturnType<typeof operationCounter>;
  documentHash: (text: string) => string;
  metrics: Metrics;
  log: Logger;
  bounds?: CacheBounds;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** Where a request's errors set the HTTP status and headers (Apollo Server's `extensions.http`). */
interface ResponseHead {
  status: number | undefined;
  headers: Map<string, string>;
}

/**
 * The request context Apollo Gateway's executor reads (a class: no per-request closures that
 * keep the request alive, see patches/@apollo+server).
 */
class CompiledRequestContext implements GatewayGraphQLRequestContext<GatewayContext> {
  readonly request: GatewayGraphQLRequestContext["request"];
  readonly logger: Logger;
  readonly schema: GraphQLSchema;
  readonly schemaHash = "" as GatewayGraphQLRequestContext["schemaHash"];
  readonly context: GatewayContext;
  readonly cache = undefined as unknown as GatewayGraphQLRequestContext["cache"];
  readonly queryHash: string;
  readonly document: DocumentNode;
  readonly source: string;
  readonly operationName: string | null;
  readonly operation: OperationDefinitionNode;
  readonly metrics = {};
  readonly overallCachePolicy = undefined;
  constructor(
    compiled: CompiledOperation,
    variables: Record<string, unknown> | undefined,
    context: GatewayContext,
    schema: GraphQLSchema,
    logger: Logger,
  ) {
    this.request = { query: compiled.source, operationName: compiled.operationName, variables };
    this.logger = logger;
    this.schema = schema;
    this.context = context;
    this.queryHash = compiled.queryHash;
    this.document = compiled.document;
    this.source = compiled.source;
    this.operationName = compiled.operation.name?.value ?? null;
    this.operation = compiled.operation;
  }
}

export function createCompiledOperations(parts: CompiledOperationsParts) {
  const { log, cost } = parts;
  const compiledOperations = boundedCache<string, Entry>(
    "compiled-operations",
    parts.bounds ?? COMPILED_OPERATIONS_CACHED,
    // Its parsed document, estimated as Apollo Server's document store estimates its own, and its text.
    (entry, key) =>
      (entry === NOT_COMPILED ? 0 : documentBytes(entry.document) + stringBytes(entry.source)) + stringBytes(key),
  );
  const valueVerdicts = new WeakMap();
  const requests = parts.metrics.counter(
    "gateway_compiled_operation_requests_total",
    "GraphQL requests over HTTP by path: compiled (answered on the compiled operations' path) or apollo (handed to Apollo Server's pipeline)",
    ["path"] as const,
  );
  const counts = { compiled: 0, apollo: 0 };
  const rules = [...specifiedRules, ...parts.validationRules];
  let compiledFor: GraphQLSchema | undefined;

  function compile(source: string, operationName: string | undefined, queryHash: string): Entry {
    const schema = parts.schema();
    let document: DocumentNode;
    try {
      document = parse(source, { maxTokens: parts.maxQueryTokens });
    } catch {
      return NOT_COMPILED;
    }
    const operation = getOperationAST(document, operationName);
    if (operation?.operation !== "query") return NOT_COMPILED;
    if (!parts.introspection && /\b__(schema|type)\b/.test(source)) return NOT_COMPILED;
    if (rootFields(operation.selectionSet, document).some((field) => parts.limitedRootFields.has(field)))
      return NOT_COMPILED;
    if (validate(schema, document, rules).length) return NOT_COMPILED;
    // Literals only (no variables given): an oversized literal is refused by Apollo Server's path.
    if (oversizedValue(parts.valueLimits, document, undefined, valueVerdicts)) return NOT_COMPILED;
    return { source, document, operation, operationName, queryHash, allowedByRole: new Map() };
  }

  /** The compiled operation for this text and name (undefined: Apollo Server answers it). */
  function lookup(source: string, operationName: string | undefined): CompiledOperation | undefined {
    const schema = parts.schema();
    if (compiledFor !== schema) {
      compiledOperations.clear(); // a new supergraph: everything is compiled again
      compiledFor = schema;
    }
    const queryHash = parts.documentHash(source);
    const key = operationName === undefined ? queryHash : `${queryHash}:${operationName}`;
    let entry = compiledOperations.get(key);
    if (entry === undefined) compiledOperations.set(key, (entry = compile(source, operationName, queryHash)));
    return entry === NOT_COMPILED ? undefined : entry;
  }

  function allowed(compiled: CompiledOperation, role: Role | null): boolean {
    if (!parts.authorizationRules) return true;
    let verdict = compiled.allowedByRole.get(role);
    if (verdict === undefined) {
      const filtered = filterOperation(
        parts.schema(),
        parts.authorizationRules,
        compiled.document,
        compiled.operationName,
        role,
      );
      compiled.allowedByRole.set(role, (verdict = filtered.removed.length === 0));
    }
    return verdict;
  }

  /** Apollo Server's error formatting: a code on every error, `extensions.http` taken off into the head, then ours. */
  function formatErrors(errors: readonly Error[], head: ResponseHead): GraphQLFormattedError[] {
    return errors.map((error) => {
      try {
        const graphqlError =
          error instanceof GraphQLError ? error : new GraphQLError(error.message, { originalError: error });
        const extensions: Record<string, unknown> = {
          ...graphqlError.extensions,
          code: graphqlError.extensions.code ?? "INTERNAL_SERVER_ERROR",
        };
        const http = extensions.http as { status?: unknown; headers?: unknown } | undefined;
        if (
          isRecord(http) &&
          (http.status === undefined || typeof http.status === "number") &&
          (http.headers === undefined || http.headers instanceof Map)
        ) {
          if (typeof http.status === "number") head.status = http.status;
          for (const [name, value] of (http.headers as Map<string, string> | undefined) ?? [])
            head.headers.set(name, value);
          delete extensions.http;
        }
        return parts.formatError({ ...graphqlError.toJSON(), extensions }, error);
      } catch {
        return { message: "Internal server error", extensions: { code: "INTERNAL_SERVER_ERROR" } };
      }
    });
  }

  /**
   * Answers a POST /graphql whose query is compiled; undefined when Apollo Server should answer
   * it (nothing has been sent or run then).
   */
  async function serve(request: FastifyRequest, reply: FastifyReply): Promise<string | undefined> {
    const answer = await answerCompiled(request, reply);
    const path = answer === undefined ? "apollo" : "compiled";
    counts[path] += 1;
    requests.inc({ path });
    return answer;
  }

  async function answerCompiled(request: FastifyRequest, reply: FastifyReply): Promise<string | undefined> {
    const body = request.body;
    if (request.method !== "POST" || !isRecord(body)) return undefined;
    const { query, operationName, variables, extensions } = body;
    if (typeof query !== "string" || !query) return undefined;
    if (operationName !== undefined && operationName !== null && typeof operationName !== "string") return undefined;
    if (variables !== undefined && variables !== null && !isRecord(variables)) return undefined;
    if (extensions !== undefined && !(isRecord(extensions) && Object.keys(extensions).length === 0)) return undefined;
    const accept = request.headers.accept;
    const contentType = graphqlAnswerContentType(Array.isArray(accept) ? accept.join(", ") : accept);
    if (!contentType) return undefined; // Apollo Server answers 406
    const compiled = lookup(query, operationName ?? undefined);
    if (!compiled) return undefined;
    const schema = parts.schema();

    let context: GatewayContext;
    try {
      context = await parts.context(request);
    } catch {
      return undefined; // Apollo Server answers the failed token check (401, 503)
    }
    if (!allowed(compiled, context.viewer?.role ?? null)) return undefined;
    const given = variables ?? undefined;
    if (given && oversizedValue(parts.valueLimits, compiled.document, given, valueVerdicts)) return undefined;
    const resolvedName = compiled.operation.name?.value ?? null;
    const costQuery = { schema, document: compiled.document, variables: given, operationName: resolvedName };
    let estimated: number | undefined;
    try {
      estimated = cost.estimate(costQuery);
    } catch {
      return undefined; // over the limit: Apollo Server refuses it
    }

    let result: {
      data?: Record<string, unknown> | null;
      errors?: readonly Error[];
      extensions?: Record<string, unknown>;
    };
    let thrown = false;
    try {
      result = await parts.executor()(new CompiledRequestContext(compiled, given, context, schema, log));
    } catch (error) {
      // As Apollo Server answers an executor that throws: the error alone, 500 unless it says otherwise.
      result = {
        errors: [error instanceof Error ? error : new GraphQLError(`Unexpected error value: ${String(error)}`)],
      };
      thrown = true;
    }
    // No data and nothing thrown: Apollo Gateway refused the variables (it coerces them before
    // planning or calling anything), and Apollo Server answers that as it always has.
    if (!thrown && result.data === undefined) return undefined;

    const head: ResponseHead = { status: undefined, headers: new Map() };
    const errors = result.errors?.length ? formatErrors(result.errors, head) : undefined;
    if (thrown && !head.status) head.status = 500;
    if (errors?.some((e) => e.extensions?.code === "TOO_MANY_REQUESTS")) head.status = 429;
    const warnings = staleDataWarnings(context);
    const resultExtensions = warnings ? { ...result.extensions, warnings } : result.extensions;
    if (errors && !head.headers.has("retry-after")) {
      let wait: number | undefined;
      for (const error of errors) {
        const seconds = error.extensions?.retryAfterSeconds;
        if (typeof seconds === "number" && (wait === undefined || seconds > wait)) wait = seconds;
      }
      if (wait !== undefined) head.headers.set("retry-after", String(wait));
    }
    parts.countOperation(resolvedName, "query", errors);
    cost.record(costQuery, estimated, result.data);

    void reply.code(head.status ?? 200);
    void reply.header("content-type", contentType);
    void reply.header("cache-control", "no-store"); // as Apollo Server's on POST (cache-policy.ts: GET only)
    for (const [name, value] of head.headers) void reply.header(name, value);
    // Apollo Server's order: errors, data, extensions.
    return JSON.stringify({ errors, data: result.data, extensions: resultExtensions });
  }

  /** Compiles every operation of the trusted documents (hash → text), as clients will send them. */
  function compileAll(manifest: Map<string, string>) {
    let compiled = 0;
    for (const text of manifest.values()) {
      let document: DocumentNode;
      try {
        document = parse(text, { maxTokens: parts.maxQueryTokens });
      } catch {
        continue;
      }
      const names = document.definitions.flatMap((d) =>
        d.kind === Kind.OPERATION_DEFINITION && d.operation === "query" ? [d.name?.value] : [],
      );
      for (const name of names) if (lookup(text, names.length > 1 ? name : undefined)) compiled += 1;
    }
    return compiled;
  }

  return {
    serve,
    compileAll,
    cache: compiledOperations,
    /** Requests answered on each path since start. */
    counts: () => ({ ...counts }),
  };
}

export type CompiledOperations = ReturnType<typeof createCompiledOperations>;
