// How the gateway calls one subgraph: its Upstream (keep-alive pool, timeouts, retries where safe,
// circuit breaker), the caller's identity signed, the request id and deadline forwarded, and a
// subgraph's refusals turned into the client's errors.
import type { GraphQLDataSource, GraphQLDataSourceProcessOptions } from "@apollo/gateway";
import type { GatewayGraphQLResponse } from "@apollo/server-gateway-interface";
import { GraphQLError } from "graphql";
import {
  CALLER_TIMEOUT_HEADER,
  REQUEST_ID_HEADER,
  UpstreamError,
  currentLog,
  dependencyError,
  type Logger,
  type Upstream,
} from "@pooya/runtime";
import { IDENTITY_ASSERTION_HEADER } from "@pooya/identity";
import type { GatewayContext } from "./context.ts";
import type { EntityCache } from "./entity-cache/entity-cache.ts";

/** Counts requests the gateway sends to each subgraph (tests assert query plans by it). */
export class SubgraphRequestCounter {
  readonly counts = new Map<string, number>();
  record(name: string) {
    this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
  }
  snapshot(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }
}

/** The body Apollo sends a subgraph starts with the operation ({"query":"mutation …"). */
const isMutationBody = (body: string) => /^\{"query":"\s*mutation\b/.test(body);

/** Query texts as JSON strings, by text (the fetches of cached query plans; bounded all the same). */
const quotedQueries = new Map<string, string>();
const MAX_QUOTED_QUERIES = 2_000;

function quotedQuery(query: string): string {
  let quoted = quotedQueries.get(query);
  if (quoted === undefined) {
    quoted = JSON.stringify(query);
    if (quotedQueries.size >= MAX_QUOTED_QUERIES) quotedQueries.clear();
    quotedQueries.set(query, quoted);
  }
  return quoted;
}

/** JSON.stringify({ query, variables, operationName, extensions }), byte for byte, with the query's JSON reused. */
export function requestBody(
  query: string,
  variables: Record<string, unknown> | undefined,
  operationName: string | undefined,
  extensions: Record<string, unknown> | undefined,
): string {
  const body = `{"query":${quotedQuery(query)}`;
  const rest = JSON.stringify({ variables, operationName, extensions });
  return rest.length > 2 ? `${body},${rest.slice(1)}` : `${body}}`;
}

/** A subgraph's error body, when it has one. */
function errorsOf(
  body: unknown,
): { message?: string; extensions?: { code?: string; field?: string; retryAfterSeconds?: number } }[] {
  const errors = (body as { errors?: unknown } | undefined)?.errors;
  return Array.isArray(errors) ? errors : [];
}

/**
 * One subgraph, called over its Upstream (keep-alive pool, timeouts, retries where safe,
 * circuit breaker), with the caller's identity signed and the request id forwarded.
 *
 * Apollo's RemoteGraphQLDataSource is not used: it builds node-fetch Headers and a node-fetch
 * Request for every call, and wants a WHATWG Response back, none of which this gateway needs
 * (about a tenth of its CPU on `me`). Its contract is the same: post {query, variables,
 * operationName}, parse the JSON answer, throw for an answer that is not 2xx.
 */
export class SubgraphDataSource implements GraphQLDataSource<GatewayContext> {
  private readonly subgraphName: string;
  private readonly path: string;
  private readonly upstream: Upstream;
  private readonly counter: SubgraphRequestCounter;
  private readonly log: Logger;
  private readonly maxRequestBytes: number;
  private readonly cache: EntityCache | undefined;
  private readonly callerTimeout: string;

  constructor(
    subgraphName: string,
    url: string,
    upstream: Upstream,
    counter: SubgraphRequestCounter,
    log: Logger,
    maxRequestBytes: number,
    cache?: EntityCache,
  ) {
    this.subgraphName = subgraphName;
    this.path = url;
    this.upstream = upstream;
    this.counter = counter;
    this.log = log;
    this.maxRequestBytes = maxRequestBytes;
    this.cache = cache;
    this.callerTimeout = String(upstream.timeoutMs);
  }

  private async send(
    options: GraphQLDataSourceProcessOptions<GatewayContext>,
    request = options.request,
  ): Promise<GatewayGraphQLResponse> {
    this.counter.record(this.subgraphName);
    const { context } = options;
    if (!request.query) throw new Error("Missing query");
    // Requests the gateway makes on its own (no incoming request) go as anonymous.
    const assertion =
      "identityAssertion" in context && context.identityAssertion ? await context.identityAssertion() : undefined;
    const headers: Record<string, string> = { "content-type": "application/json" };
    // Headers the planner adds (none unless federated tracing is on), then ours.
    const added = request.http?.headers;
    if (added) for (const [name, value] of added) headers[name.toLowerCase()] = value;
    if (assertion) headers[IDENTITY_ASSERTION_HEADER] = assertion;
    if ("requestId" in context && context.requestId) headers[REQUEST_ID_HEADER] = context.requestId;
    headers[CALLER_TIMEOUT_HEADER] = this.callerTimeout; // the subgraph's own calls end within it
    // The query first: isMutationBody reads it there. A plan's fetches are the same few texts:
    // each is escaped as JSON once, not on every call.
    const body = requestBody(request.query, request.variables, request.operationName, request.extensions);
    if (body.length > this.maxRequestBytes / 3 && Buffer.byteLength(body) > this.maxRequestBytes) {
      // One oversized value was refused before planning (value-limits.ts): this is the sum of many.
      throw new GraphQLError(
        `This query expands to more than ${this.maxRequestBytes} bytes for one subgraph; ask for fewer fields or send smaller values.`,
        { extensions: { code: "REQUEST_TOO_LARGE", maxBytes: this.maxRequestBytes } },
      );
    }
    // A query is safe to send again when the connection breaks before an answer; a mutation is not.
    const answer = await this.upstream.send(this.path, {
      method: "POST",
      headers,
      body,
      idempotent: !isMutationBody(body),
    });
    const json = isJson(answer.headers["content-type"]);
    if (answer.status < 200 || answer.status > 299) {
      let body: unknown;
      try {
        body = json ? JSON.parse(answer.body) : undefined;
      } catch {
        // an error body that is not JSON says nothing more than its status
      }
      throw this.errorFromResponse(answer.status, body);
    }
    const parsed = json ? (JSON.parse(answer.body) as unknown) : answer.body;
    if (typeof parsed !== "object" || parsed === null)
      throw new Error(`Expected JSON response body, but received: ${String(parsed).slice(0, 100)}`);
    return parsed as GatewayGraphQLResponse;
  }

  // A subgraph answers HTTP 400 for values it refuses before running anything: text it cannot
  // store, a variable its scalars reject (BAD_USER_INPUT), or a literal its scalars reject
  // (GRAPHQL_VALIDATION_FAILED: the gateway validated the operation, so only a scalar's own
  // check can fail there). Both are the client's BAD_USER_INPUT, literal or variable alike. A
  // subgraph that cannot serve right now (503) is SERVICE_UNAVAILABLE. Anything else is our
  // fault and gets masked, without the subgraph's URL or body.
  private errorFromResponse(status: number, body: unknown) {
    const [first] = errorsOf(body);
    const code = first?.extensions?.code;
    if (status === 400 && (code === "BAD_USER_INPUT" || code === "GRAPHQL_VALIDATION_FAILED") && first?.message) {
      const field = first.extensions?.field;
      return new GraphQLError(first.message, { extensions: { code: "BAD_USER_INPUT", ...(field ? { field } : {}) } });
    }
    if (status === 503) {
      return dependencyError(
        new UpstreamError(this.subgraphName, "unavailable", first?.extensions?.retryAfterSeconds ?? 1, "HTTP 503"),
        this.subgraphName,
      );
    }
    return new GraphQLError(`subgraph ${this.subgraphName} answered HTTP ${status}`);
  }

  // A subgraph that cannot be reached, is too slow or whose breaker is open is a typed,
  // retryable error for the fields it owns; the rest of the query is still answered.
  async process(options: GraphQLDataSourceProcessOptions<GatewayContext>) {
    try {
      if (this.cache?.enabled)
        return await this.cache.fetch(this.subgraphName, options, (request) => this.send(options, request));
      return await this.send(options);
    } catch (error) {
      if (error instanceof GraphQLError && !(error.originalError instanceof UpstreamError)) throw error;
      const cause = error instanceof GraphQLError ? error.originalError : error;
      if (!(cause instanceof UpstreamError && cause.failure === "open")) {
        currentLog(this.log).warn(
          { subgraph: this.subgraphName, reason: (cause as Error).message },
          "subgraph call failed",
        );
      }
      // The error points where this subgraph's fields hang in the answer (e.g. `me` for `me.wallet`).
      const where = "pathInIncomingRequest" in options ? options.pathInIncomingRequest : undefined;
      const path = where ? where.slice(0, where.includes("@") ? where.indexOf("@") : where.length) : [];
      const typed = dependencyError(cause, this.subgraphName);
      throw path.length ? new GraphQLError(typed.message, { path, extensions: typed.extensions }) : typed;
    }
  }
}

const isJson = (contentType: string | string[] | undefined) =>
  typeof contentType === "string" &&
  (contentType.startsWith("application/json") || contentType.startsWith("application/graphql-response+json"));
