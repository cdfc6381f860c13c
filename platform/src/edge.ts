// The HTTP edge every service stands on: Fastify with CORS (gateway), compression, security
// headers (helmet's for what browsers read, two for an internal API), a body limit that closes
// the connection, request ids, one access-log line per request, typed error bodies, health and
// readiness, metrics (on the service's port, or with METRICS_PORT on a listener of their own),
// and a drain that always ends.
import { randomUUID } from "node:crypto";
import { Server as NetServer, type AddressInfo, type Socket } from "node:net";
import type { Server as HttpServer } from "node:http";
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyError } from "fastify";
import { fastifyCors } from "@fastify/cors";
import { fastifyCompress } from "@fastify/compress";
import helmet from "helmet";
import { fastifyRequestContext } from "@fastify/request-context";
import type { Logger } from "./logging.ts";
import { errorFields } from "./logging.ts";
import { trace } from "@opentelemetry/api";
import { tracingEnabled } from "./tracing.ts";
import { createMetricsServer, metricsAccess, type Metrics } from "./metrics.ts";

export const REQUEST_ID_HEADER = "x-request-id";
export const MAX_BODY_BYTES = 1024 * 1024;

/** Headers browser clients send with GraphQL requests (Apollo Client, tracing, error reporting). */
export const CORS_ALLOWED_HEADERS = [
  "authorization", "content-type", "accept", "apollo-require-preflight", "x-apollo-operation-name",
  "apollographql-client-name", "apollographql-client-version", "traceparent", "tracestate", "baggage",
  "sentry-trace", REQUEST_ID_HEADER,
];

/** Which browser origins may call: "*" (bearer tokens, no cookies, so no CSRF exposure) or a list. */
export type CorsOrigins = "*" | string[];

/**
 * Who reads a service's answers. "browsers": the gateway (its page, the Sandbox, browser
 * clients) sends helmet's full set of security headers. "services": a subgraph answers only the
 * gateway and other services, in JSON, so it sends the two headers that matter for a JSON API
 * (no sniffing it into something else, no rendering or framing it), and not 1 KB of page policy
 * that every internal call would write and the gateway parse.
 */
export type EdgeAudience = "browsers" | "services";

/** A subgraph's security headers (audience "services"). */
export const SERVICE_SECURITY_HEADERS = {
  "x-content-type-options": "nosniff",
  "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
} as const;

export interface EdgeOptions {
  log: Logger;
  /** Default "browsers". */
  audience?: EdgeAudience;
  /** Only the gateway faces browsers; subgraphs send no CORS headers. */
  cors?: CorsOrigins;
  bodyLimit?: number;
  /** Proxies (addresses or CIDRs) whose X-Forwarded-For gives the client's address. */
  trustProxy?: string[];
  /** The service's metrics: request durations are observed, and GET /metrics serves them. */
  metrics?: Metrics;
  /** Client addresses (or CIDRs, or proxy-addr's names) that may read GET /metrics. */
  metricsAllowFrom?: string[];
  /** GET /metrics on a listener of its own at this port (METRICS_PORT), not on the service's port. */
  metricsPort?: number;
}

const LOOPBACK_HOST = /^(localhost|.+\.localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

/**
 * Whether the page may be a secure context (https, or a loopback host). Browsers ignore
 * Cross-Origin-Opener-Policy anywhere else and report it as a console error, so a panel opened
 * over plain http on a LAN address or a development hostname is sent none. Any
 * X-Forwarded-Proto naming https keeps it (a forged one only keeps a header that does no harm).
 */
function mayBeSecureContext(request: FastifyRequest): boolean {
  if (request.protocol === "https" || LOOPBACK_HOST.test(request.hostname)) return true;
  const forwarded = request.headers["x-forwarded-proto"];
  return (Array.isArray(forwarded) ? forwarded.join(",") : (forwarded ?? "")).toLowerCase().includes("https");
}

/** A request id from the client is kept when it is a plain token, else one is made. */
function requestIdOf(request: { headers: Record<string, string | string[] | undefined> }): string {
  const given = request.headers[REQUEST_ID_HEADER];
  return typeof given === "string" && /^[\w.:@-]{1,128}$/.test(given) ? given : randomUUID();
}

/** The error body every non-GraphQL failure gets: the same shape GraphQL clients already read. */
export function errorBody(message: string, code: string, extra: Record<string, unknown> = {}) {
  return { errors: [{ message, extensions: { code, ...extra } }] };
}

/** An error a route throws on purpose: its status and message reach the client. */
export class HttpError extends Error {
  readonly statusCode: number;
  readonly code: string;
  constructor(statusCode: number, message: string, code = statusCode === 401 ? "UNAUTHENTICATED" : "BAD_REQUEST") {
    super(message);
    this.statusCode = statusCode;
    this.code = code;
  }
}

const CODE_BY_STATUS: Record<number, string> = {
  400: "BAD_REQUEST", 401: "UNAUTHENTICATED", 403: "FORBIDDEN", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED",
  408: "REQUEST_TIMEOUT", 413: "PAYLOAD_TOO_LARGE", 415: "UNSUPPORTED_MEDIA_TYPE", 429: "TOO_MANY_REQUESTS",
};

// Probes, scrapes and event-feed reads (held open, one per consumer and source, all day) at debug.
const QUIET_ROUTES = new Set(["/healthz", "/readyz", "/metrics", "/internal/events"]);

/** One access-log line (and one duration observation) per request, when it completes (probes at debug); errors are logged where they are handled. */
class AccessLog extends LogController {
  private readonly metrics: Metrics | undefined;
  constructor(metrics: Metrics | undefined) {
    super();
    this.metrics = metrics;
  }
  override incomingRequest(): void {}
  override requestCompleted(_error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const route = request.routeOptions.url;
    this.metrics?.httpDuration.observe({ method: request.method, route: route ?? "unmatched", status_code: String(reply.statusCode) }, reply.elapsedTime / 1000);
    const line = { method: request.method, url: request.url, status: reply.statusCode, durationMs: Math.round(reply.elapsedTime * 10) / 10 };
    if (QUIET_ROUTES.has(request.routeOptions.url ?? "")) request.log.debug(line, "request");
    else request.log.info(line, "request");
  }
}

/** How long a keep-alive connection must have been idle before the drain closes it: a client
 * that is about to send on it has sent by then (closing it at once would reset that request). */
const DRAIN_IDLE_GRACE_MS = 500;

/** Open connections with the number of requests running on each and when each last finished one. */
function trackConnections(server: HttpServer) {
  const connections = new Map<Socket, { active: number; lastActive: number }>();
  server.on("connection", (socket: Socket) => {
    connections.set(socket, { active: 0, lastActive: Date.now() });
    socket.once("close", () => connections.delete(socket));
  });
  server.on("request", (request, response) => {
    const state = connections.get(request.socket);
    if (!state) return;
    state.active += 1;
    response.once("close", () => {
      state.active -= 1;
      state.lastActive = Date.now();
    });
  });
  return {
    get size() {
      return connections.size;
    },
    /** Ends connections idle for at least `graceMs`; with 0, every connection whatever it does. */
    closeIdle(graceMs: number) {
      const now = Date.now();
      for (const [socket, state] of connections) {
        if (graceMs === 0 || (state.active === 0 && now - state.lastActive >= graceMs)) socket.destroy();
      }
    },
  };
}

export type ReadinessCheck = () => Promise<{ ready: boolean; [detail: string]: unknown }>;

export interface Edge {
  app: FastifyInstance;
  /** Set by the service once it can serve; /readyz answers with it (503 while draining). */
  setReadiness(check: ReadinessCheck): void;
  readonly draining: boolean;
  /** `reusePort`: others may listen on the same port too (SO_REUSEPORT), for a restart without a gap. `metricsUrl`: with `metricsPort`, its base URL. */
  listen(port: number, host: string, options?: { reusePort?: boolean }): Promise<{ url: string; port: number; metricsUrl?: string }>;
  /** Stops accepting, lets in-flight requests finish, closes idle keep-alive sockets at once and busy ones after their response; after `deadlineMs` closes whatever is left. */
  close(deadlineMs: number): Promise<void>;
  /** Runs as the drain starts (e.g. WebSockets are told to reconnect elsewhere). */
  onDrain(hook: () => void): void;
}

export async function createEdge(options: EdgeOptions): Promise<Edge> {
  const app = Fastify({
    loggerInstance: options.log as FastifyBaseLogger,
    logController: new AccessLog(options.metrics),
    genReqId: requestIdOf,
    requestIdHeader: false,
    bodyLimit: options.bodyLimit ?? MAX_BODY_BYTES,
    // While draining, requests that still arrive on open connections are served with
    // `Connection: close` (Fastify adds it) instead of being refused: the caller already sent them.
    return503OnClosing: false,
    requestTimeout: 30_000,
    ...(options.trustProxy?.length ? { trustProxy: options.trustProxy } : {}),
  });

  let draining = false;
  const drainHooks: (() => void)[] = [];
  let readiness: ReadinessCheck = async () => ({ ready: false, starting: true });
  const connections = trackConnections(app.server);

  await app.register(fastifyRequestContext, { defaultStoreValues: (request) => ({ log: request.log as Logger, requestId: request.id }) });
  // Helmet's middleware, built once (the Fastify plugin builds it again on every request).
  const pageSecurityHeaders = helmet({
    // The API answers JSON; the Sandbox page (gateway, development) needs Apollo's CDN and an iframe.
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'", "'unsafe-inline'", "https://embeddable-sandbox.cdn.apollographql.com", "https://embeddable-explorer.cdn.apollographql.com", "https://apollo-server-landing-page.cdn.apollographql.com"],
        styleSrc: ["'self'", "'unsafe-inline'", "https://fonts.googleapis.com", "https://embeddable-sandbox.cdn.apollographql.com", "https://apollo-server-landing-page.cdn.apollographql.com"],
        fontSrc: ["'self'", "data:", "https://fonts.gstatic.com"],
        imgSrc: ["'self'", "data:", "https://apollo-server-landing-page.cdn.apollographql.com"],
        manifestSrc: ["'self'", "https://apollo-server-landing-page.cdn.apollographql.com"],
        frameSrc: ["https://sandbox.embed.apollographql.com", "https://explorer.embed.apollographql.com"],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'self'"],
      },
    },
    crossOriginEmbedderPolicy: false,
    crossOriginOpenerPolicy: false, // per request: see mayBeSecureContext
  });
  if (options.audience === "services") {
    const headers = Object.entries(SERVICE_SECURITY_HEADERS);
    app.addHook("onRequest", (_request, reply, done) => {
      for (const [name, value] of headers) reply.raw.setHeader(name, value);
      done();
    });
  } else {
    app.addHook("onRequest", (request, reply, done) => pageSecurityHeaders(request.raw, reply.raw, (error?: unknown) => {
      if (!error && mayBeSecureContext(request)) reply.raw.setHeader("cross-origin-opener-policy", "same-origin");
      done(error as Error | undefined);
    }));
  }
  await app.register(fastifyCompress, { global: true, threshold: 1024, encodings: ["br", "gzip", "deflate"] });
  if (options.cors) {
    const origins = options.cors;
    await app.register(fastifyCors, {
      origin: origins === "*" ? "*" : origins,
      methods: ["GET", "POST", "OPTIONS"],
      allowedHeaders: CORS_ALLOWED_HEADERS,
      exposedHeaders: [REQUEST_ID_HEADER, "retry-after"],
      maxAge: 600,
    });
  }

  app.addHook("onRequest", async (request, reply) => {
    void reply.header(REQUEST_ID_HEADER, request.id);
    // The HTTP server span (tracing on) is named by the route, as trace viewers expect.
    const route = request.routeOptions.url;
    const span = tracingEnabled() ? trace.getActiveSpan() : undefined;
    if (span && route) span.updateName(`${request.method} ${route}`).setAttribute("http.route", route);
  });
  // While draining, every response ends its connection, including those of requests that
  // arrived before the signal: the client then opens a new connection (to another instance).
  app.addHook("onSend", async (_request, reply) => {
    if (draining) void reply.header("connection", "close");
  });

  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    // The rest of an oversized body would be read as the next request: end the connection.
    if (status === 413) void reply.header("connection", "close");
    if (status === 500) {
      request.log.error({ err: errorFields(error) }, "request failed");
      return reply.code(500).send(errorBody("Internal server error", "INTERNAL_SERVER_ERROR"));
    }
    const code = error instanceof HttpError ? error.code : (CODE_BY_STATUS[status] ?? "BAD_REQUEST");
    return reply.code(status).send(errorBody(error.message, code));
  });
  app.setNotFoundHandler((request, reply) => reply.code(404).send(errorBody(`No route ${request.method} ${request.url.split("?")[0]}.`, "NOT_FOUND")));

  app.get("/healthz", async () => ({ status: "ok" }));
  const metricsAllowed = metricsAccess(options.metricsAllowFrom ?? ["loopback", "uniquelocal"]);
  const { metricsPort } = options;
  const metricsServer = options.metrics && metricsPort !== undefined ? createMetricsServer(options.metrics.registry, metricsAllowed) : undefined;
  if (options.metrics && !metricsServer) {
    const { registry } = options.metrics;
    app.get("/metrics", async (request, reply) => {
      // Outsiders are told nothing exists here.
      if (!metricsAllowed(request.ip)) return reply.code(404).send(errorBody(`No route GET /metrics.`, "NOT_FOUND"));
      void reply.header("content-type", registry.contentType);
      return registry.metrics();
    });
  }
  app.get("/readyz", async (_request, reply) => {
    if (draining) return reply.code(503).send({ status: "draining" });
    let result: Awaited<ReturnType<ReadinessCheck>>;
    try {
      result = await readiness();
    } catch (error) {
      result = { ready: false, error: (error as Error).message };
    }
    const { ready, ...details } = result;
    return reply.code(ready ? 200 : 503).send({ status: ready ? "ready" : "not ready", ...details });
  });

  return {
    app,
    setReadiness(check) {
      readiness = check;
    },
    get draining() {
      return draining;
    },
    async listen(port, host, options = {}) {
      await app.listen({ port, host, ...(options.reusePort ? { reusePort: true } : {}) });
      const address = app.server.address() as AddressInfo;
      const shownHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
      if (!metricsServer) return { url: `http://${shownHost}:${address.port}`, port: address.port };
      await new Promise<void>((resolve, reject) => {
        metricsServer.once("error", reject);
        metricsServer.listen({ port: metricsPort, host, ...(options.reusePort ? { reusePort: true } : {}) }, () => {
          metricsServer.off("error", reject);
          resolve();
        });
      }).catch(async (error: unknown) => {
        await app.close(); // the service port is not left open without its metrics
        throw error;
      });
      const metricsAddress = metricsServer.address() as AddressInfo;
      return { url: `http://${shownHost}:${address.port}`, port: address.port, metricsUrl: `http://${shownHost}:${metricsAddress.port}` };
    },
    onDrain(hook) {
      drainHooks.push(hook);
    },
    async close(deadlineMs) {
      draining = true;
      const deadline = Date.now() + deadlineMs;
      for (const hook of drainHooks) hook();
      // Stop accepting connections but leave the open ones alone: a busy one ends with its next
      // answer (Connection: close, above); an idle one is closed once it has stayed idle a moment.
      if (app.server.listening) NetServer.prototype.close.call(app.server);
      while (connections.size > 0 && Date.now() < deadline) {
        connections.closeIdle(DRAIN_IDLE_GRACE_MS);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      connections.closeIdle(0); // the deadline: whatever a client still holds open is cut
      await app.close();
      // Metrics are served through the drain (it shows there), and end with it.
      if (metricsServer?.listening) {
        metricsServer.closeAllConnections();
        await new Promise((resolve) => metricsServer.close(resolve));
      }
    },
  };
}
