// Prometheus metrics (prom-client), one registry per service (labelled with its name), served at
// GET /metrics to the addresses in METRICS_ALLOW_FROM only: on the service's own port, or with
// METRICS_PORT on a listener of their own (where a NetworkPolicy can let monitoring reach the
// metrics and nothing else). Label values come from bounded sets: route patterns, codes, a
// capped list of operation names.
import { createServer, type Server } from "node:http";
import { Counter, Gauge, Histogram, Registry, Summary, collectDefaultMetrics } from "prom-client";
import proxyaddr from "proxy-addr";
import type { ApolloServerPlugin, BaseContext } from "@apollo/server";
import type { TrackedCache } from "./bounded-cache.ts";
import { CLIENT_CODES } from "./errors.ts";

export type { Registry };

/** Error codes a label may carry (those clients see, and the masked one); anything else is "other". */
const KNOWN_CODES = new Set([...CLIENT_CODES, "INTERNAL_SERVER_ERROR"]);
export const codeLabel = (code: unknown) => (typeof code === "string" && KNOWN_CODES.has(code) ? code : "other");

/** Operation names as labels: the first `max` distinct well-formed names, then "other". */
export function boundedNames(max: number) {
  const seen = new Set<string>();
  return (name: string | null | undefined): string => {
    if (!name) return "anonymous";
    if (seen.has(name)) return name;
    if (seen.size >= max || !/^[A-Za-z_]\w{0,63}$/.test(name)) return "other";
    seen.add(name);
    return name;
  };
}

/** How often the event-loop delay is sampled (nodejs_eventloop_lag_*), in ms. */
const EVENT_LOOP_SAMPLE_MS = 100;

export function createMetrics(service: string) {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  // The event-loop delay histogram samples every 100 ms, not prom-client's 10: a 10 ms timer
  // wakes an idle process 100 times a second, 5–7 ms of CPU a second in each service (measured on
  // Node 24), some 40 % of what an idle service used. A loop blocked for longer still shows as a
  // late sample.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  const breakers = new Map<string, () => { state: string }>();
  const caches = new Map<string, TrackedCache>();
  new Gauge({
    name: "cache_entries",
    help: "Entries in each bounded in-process cache (each is limited by entries and by estimated bytes)",
    labelNames: ["cache"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [cache, lru] of caches) this.set({ cache }, lru.size);
    },
  });
  new Gauge({
    name: "cache_size_bytes",
    help: "Estimated bytes held by each bounded in-process cache (keys and values)",
    labelNames: ["cache"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [cache, lru] of caches) this.set({ cache }, lru.calculatedSize);
    },
  });
  const BREAKER_STATES: Record<string, number> = { closed: 0, "half-open": 1, open: 2 };
  new Gauge({
    name: "upstream_breaker_state",
    help: "Circuit breaker of each called service: 0 closed, 1 half-open (a trial call), 2 open",
    labelNames: ["upstream"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [upstream, status] of breakers) this.set({ upstream }, BREAKER_STATES[status().state] ?? 0);
    },
  });
  return {
    registry,
    /** Reports a called service's breaker in upstream_breaker_state. */
    trackBreaker(upstream: string, status: () => { state: string }) {
      breakers.set(upstream, status);
    },
    /** Reports a bounded cache (platform/src/bounded-cache.ts) in cache_entries and cache_size_bytes, by its name. */
    trackCache(cache: TrackedCache) {
      caches.set(cache.cacheName, cache);
    },
    breakerTransitions: new Counter({
      name: "upstream_breaker_transitions_total",
      help: "Circuit breaker state changes of each called service, by the state entered: open, half-open (a trial call), closed",
      labelNames: ["upstream", "state"] as const,
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: "http_server_request_duration_seconds",
      help: "HTTP requests served, by method, route pattern and status",
      labelNames: ["method", "route", "status_code"] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    graphqlOperations: new Counter({
      name: "graphql_operations_total",
      help: "GraphQL operations answered, by operation name (bounded), type and outcome (ok or the first error code)",
      labelNames: ["operation_name", "operation_type", "outcome"] as const,
      registers: [registry],
    }),
    upstreamDuration: new Histogram({
      name: "upstream_request_duration_seconds",
      help: "Calls to other services (the gateway's to its subgraphs, services' to each other), by service called and outcome",
      labelNames: ["upstream", "outcome"] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5],
      registers: [registry],
    }),
    /** A gauge computed when scraped. */
    gauge<L extends string>(
      name: string,
      help: string,
      labelNames: readonly L[],
      collect: (set: (labels: Record<L, string>, value: number) => void) => void,
    ) {
      return new Gauge({
        name,
        help,
        labelNames,
        registers: [registry],
        collect() {
          this.reset();
          collect((labels, value) => this.set(labels as never, value));
        },
      });
    },
    counter<L extends string>(name: string, help: string, labelNames: readonly L[]) {
      return new Counter({ name, help, labelNames, registers: [registry] });
    },
    histogram<L extends string>(name: string, help: string, labelNames: readonly L[], buckets: number[]) {
      return new Histogram({ name, help, labelNames, buckets, registers: [registry] });
    },
    /** Quantiles over a sliding window (`maxAgeSeconds`), for latencies whose percentiles are read as such. */
    summary<L extends string>(
      name: string,
      help: string,
      labelNames: readonly L[],
      options: { percentiles: number[]; maxAgeSeconds: number },
    ) {
      return new Summary({ name, help, labelNames, ...options, ageBuckets: 5, registers: [registry] });
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** Who may read /metrics: `loopback,uniquelocal` by default (the host and private networks). */
export function metricsAccess(allowFrom: string[]): (address: string) => boolean {
  const trusted = proxyaddr.compile(allowFrom);
  return (address) => trusted(address, 0);
}

/**
 * GET /metrics alone on a small HTTP server of its own (METRICS_PORT): everything else, and
 * any client outside `allowed` (by its socket address: scrapers come straight, not through a
 * proxy), gets the 404 an unknown route gets.
 */
export function createMetricsServer(registry: Registry, allowed: (address: string) => boolean): Server {
  const server = createServer(
    { requestTimeout: 10_000, headersTimeout: 5_000, keepAliveTimeout: 5_000 },
    (request, response) => {
      const path = (request.url ?? "/").split("?")[0];
      if (request.method !== "GET" || path !== "/metrics" || !allowed(request.socket.remoteAddress ?? "")) {
        const body = JSON.stringify({
          errors: [{ message: `No route ${request.method} ${path}.`, extensions: { code: "NOT_FOUND" } }],
        });
        response
          .writeHead(404, {
            "content-type": "application/json; charset=utf-8",
            "content-length": Buffer.byteLength(body),
          })
          .end(body);
        return;
      }
      registry.metrics().then(
        (text) =>
          response
            .writeHead(200, { "content-type": registry.contentType, "content-length": Buffer.byteLength(text) })
            .end(text),
        () => response.writeHead(500, { "content-type": "text/plain" }).end("metrics could not be collected\n"),
      );
    },
  );
  return server;
}

/** Counts one operation answered (graphql_operations_total), its name bounded to `maxOperationNames` distinct ones. */
export function operationCounter(metrics: Metrics, maxOperationNames = 100) {
  const nameOf = boundedNames(maxOperationNames);
  return (
    operationName: string | null | undefined,
    operationType: string | undefined,
    errors: readonly { extensions?: Record<string, unknown> }[] | undefined,
  ) =>
    metrics.graphqlOperations.inc({
      operation_name: nameOf(operationName),
      operation_type: operationType ?? "unknown",
      outcome: errors?.length ? codeLabel(errors[0]?.extensions?.code) : "ok",
    });
}

export function graphqlMetricsPlugin<TContext extends BaseContext>(
  metrics: Metrics,
  count: ReturnType<typeof operationCounter> = operationCounter(metrics),
): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response, operation, operationName }) {
          count(
            operationName,
            operation?.operation,
            response.body.kind === "single" ? response.body.singleResult.errors : undefined,
          );
        },
      };
    },
  };
}
