// The HTTP edge every service stands on: Fastify with CORS and compression (gateway), security
// headers (helmet's for what browsers read, two for an internal API), a body limit whose 413
// (like every early refusal) the client reads before the connection closes, request ids, one
// access-log line per request, typed error bodies, health and readiness, metrics (on the
// service's port, or with METRICS_PORT on a listener of their own), and a drain that always ends.
import { randomUUID } from "node:crypto";
import { Server as NetServer, type AddressInfo, type Socket } from "node:net";
import { STATUS_CODES, type Server as HttpServer } from "node:http";
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyError,
} from "fastify";
import { fastifyCors } from "@fastify/cors";
import { fastifyCompress } from "@fastify/compress";
import helmet from "helmet";
import { fastifyRequestContext } from "@fastify/request-context";
import type { Logger } from "./logging.ts";
import { errorFields } from "./logging.ts";
import { trace } from "@opentelemetry/api";
import { tracingEnabled } from "./tracing.ts";
import { createMetricsServer, metricsAccess, type Metrics } from "./metrics.ts";
import { graphqlMediaType } from "./graphql-media-type.ts";

export const REQUEST_ID_HEADER = "x-request-id";
/** How long (ms) the caller waits for this answer: calls the request makes to other services end in time for it. */
export const CALLER_TIMEOUT_HEADER = "x-caller-timeout-ms";
export const MAX_BODY_BYTES = 1024 * 1024;

/** Headers browser clients send with GraphQL requests (Apollo Client, tracing, error reporting). */
export const CORS_ALLOWED_HEADERS = [
  "authorization",
  "content-type",
  "accept",
  "apollo-require-preflight",
  "x-apollo-operation-name",
  "apollographql-client-name",
  "apollographql-client-version",
  "traceparent",
  "tracestate",
  "baggage",
  "sentry-trace",
  REQUEST_ID_HEADER,
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

/** When the caller stops waiting, if it said (CALLER_TIMEOUT_HEADER: 1 to 999 999 ms). */
function callerDeadlineOf(request: { headers: Record<string, string | string[] | undefined> }): number | undefined {
  const given = request.headers[CALLER_TIMEOUT_HEADER];
  return typeof given === "string" && /^\d{1,6}$/.test(given) && +given > 0 ? Date.now() + +given : undefined;
}

/** The error body every non-GraphQL failure gets: the same shape GraphQL clients already read. */
export function errorBody(message: string, code: string, extra: Record<string, unknown> = {}) {
  return { errors: [{ message, extensions: { code, ...extra } }] };
}

type ErrorBody = ReturnType<typeof errorBody>;

/** An error answer outside GraphQL, in the media type the client negotiated for GraphQL answers. */
export function replyError(request: FastifyRequest, reply: FastifyReply, status: number, body: ErrorBody) {
  return reply
    .code(status)
    .type(`${graphqlMediaType(request.headers.accept)}; charset=utf-8`)
    .send(body);
}

/** RFC 6750's challenge for a 401: a token that was sent and refused is `invalid_token`. */
export function bearerChallenge(error?: "invalid_token" | "invalid_request", description?: string): string {
  if (!error) return "Bearer";
  // error_description may hold printable ASCII but `"` and `\`.
  const safe = description?.replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, "");
  return `Bearer error="${error}"${safe ? `, error_description="${safe}"` : ""}`;
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
  400: "BAD_REQUEST",
  401: "UNAUTHENTICATED",
  403: "FORBIDDEN",
  404: "NOT_FOUND",
  405: "METHOD_NOT_ALLOWED",
  408: "REQUEST_TIMEOUT",
  413: "PAYLOAD_TOO_LARGE",
  415: "UNSUPPORTED_MEDIA_TYPE",
  429: "TOO_MANY_REQUESTS",
  431: "REQUEST_HEADER_FIELDS_TOO_LARGE",
};

/** Methods in the order an Allow header lists them. */
const METHOD_ORDER = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/** What a request Node's HTTP parser refused gets (Fastify's default answers another shape). */
function clientErrorAnswer(error: NodeJS.ErrnoException): { status: number; message: string } {
  if (error.code === "ERR_HTTP_REQUEST_TIMEOUT") return { status: 408, message: "The request did not arrive in time." };
  if (error.code === "HPE_HEADER_OVERFLOW") return { status: 431, message: "The request's headers are too large." };
  if (error.code === "HPE_CHUNK_EXTENSIONS_OVERFLOW") {
    return { status: 413, message: "The request's chunk extensions are too large." };
  }
  return { status: 400, message: "Malformed HTTP request." };
}

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
    this.metrics?.httpDuration.observe(
      { method: request.method, route: route ?? "unmatched", status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    const line = {
      method: request.method,
      url: request.url,
      status: reply.statusCode,
      durationMs: Math.round(reply.elapsedTime * 10) / 10,
    };
    if (QUIET_ROUTES.has(request.routeOptions.url ?? "")) request.log.debug(line, "request");
    else request.log.info(line, "request");
  }
}

/**
 * How long and how much a refused request's connection is still read (and dropped) after its
 * answer, as nginx's lingering_close does: closing a socket with unread data in its receive
 * buffer makes the kernel send a reset, and a client still writing its body loses the answer.
 */
export const LINGER = { totalMs: 5_000, idleMs: 2_000, bytes: 32 * 1024 * 1024 } as const;

/**
 * Instead of Node's close after the last answer (`destroySoon`: end, then destroy as soon as the
 * answer is flushed): half-close, then read and drop what the client still sends until it closes
 * its side, falls silent for `idleMs`, or `totalMs` or `bytes` run out.
 */
function lingerAfterLastAnswer(socket: Socket) {
  socket.destroySoon = () => lingeringClose(socket);
}

function lingeringClose(socket: Socket, lastWords?: string) {
  let dropped = 0;
  const close = () => socket.destroy();
  const drop = (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > LINGER.bytes) close();
  };
  // The HTTP parser stops reading: nothing more on this connection is a request.
  socket.removeAllListeners("data");
  socket.on("data", drop);
  socket.once("end", close);
  socket.setTimeout(LINGER.idleMs, close);
  const deadline = setTimeout(close, LINGER.totalMs).unref();
  socket.once("close", () => clearTimeout(deadline));
  if (lastWords) socket.end(lastWords);
  else socket.end();
  socket.resume();
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
  listen(
    port: number,
    host: string,
    options?: { reusePort?: boolean },
  ): Promise<{ url: string; port: number; metricsUrl?: string }>;
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
    // A request Node's parser refuses (malformed, headers too large, too slow) gets the error
    // shape every other failure has, and the same lingering close.
    clientErrorHandler: (error: NodeJS.ErrnoException, socket: Socket) => {
      if (error.code === "ECONNRESET" || socket.destroyed) return;
      // As Node's own handler: no answer once another one has started on this socket.
      const answering = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent;
      if (!socket.writable || answering) return void socket.destroy();
      const { status, message } = clientErrorAnswer(error);
      const body = JSON.stringify(errorBody(message, CODE_BY_STATUS[status] ?? "BAD_REQUEST"));
      const head = `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n`;
      lingeringClose(socket, `${head}Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    },
    ...(options.trustProxy?.length ? { trustProxy: options.trustProxy } : {}),
  });
  // The methods each fixed path answers, for the Allow header of a 405.
  const methodsByPath = new Map<string, Set<string>>();
  app.addHook("onRoute", (route) => {
    // Patterns are left to the 404; so is /metrics, which outsiders are told does not exist.
    if (/[:*(]/.test(route.url) || route.url === "/metrics") return;
    const methods = methodsByPath.get(route.url) ?? new Set<string>();
    for (const method of [route.method].flat()) methods.add(method);
    if (options.cors) methods.add("OPTIONS"); // preflights, answered by the CORS plugin
    methodsByPath.set(route.url, methods);
  });

  let draining = false;
  const drainHooks: (() => void)[] = [];
  let readiness: ReadinessCheck = async () => ({ ready: false, starting: true });
  const connections = trackConnections(app.server);
  // A client that asks before sending its body (Expect: 100-continue; curl does for large ones)
  // is told 413 at once when the body it announces is over the limit, and sends none of it.
  const bodyLimit = options.bodyLimit ?? MAX_BODY_BYTES;
  app.server.on("checkContinue", (request, response) => {
    if (!(Number(request.headers["content-length"]) > bodyLimit)) response.writeContinue();
    app.server.emit("request", request, response);
  });

  await app.register(fastifyRequestContext, {
    defaultStoreValues: (request) => ({
      log: request.log as Logger,
      requestId: request.id,
      callerDeadline: callerDeadlineOf(request),
    }),
  });
  // Helmet's middleware, built once (the Fastify plugin builds it again on every request).
  const pageSecurityHeaders = helmet({
    // The API answers JSON; the Sandbox page (gateway, development) needs Apollo's CDN and an iframe.
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: [
          "'self'",
          "'unsafe-inline'",
          "https://embeddable-sandbox.cdn.apollographql.com",
          "https://embeddable-explorer.cdn.apollographql.com",
          "https://apollo-server-landing-page.cdn.apollographql.com",
        ],
        styleSrc: [
          "'self'",
          "'unsafe-inline'",
          "https://fonts.googleapis.com",
          "https://embeddable-sandbox.cdn.apollographql.com",
          "https://apollo-server-landing-page.cdn.apollographql.com",
        ],
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
    app.addHook("onRequest", (request, reply, done) =>
      pageSecurityHeaders(request.raw, reply.raw, (error?: unknown) => {
        if (!error && mayBeSecureContext(request)) reply.raw.setHeader("cross-origin-opener-policy", "same-origin");
        done(error as Error | undefined);
      }),
    );
  }
  // Answers over 1 KB are compressed for browsers and other clients of the gateway. A subgraph's
  // callers are services on the internal network (gateways, other subgraphs): there compression
  // costs CPU at both ends and saves nothing, so a subgraph answers uncompressed whatever the
  // caller accepts (our gateway does not ask; other gateways' HTTP clients do, by default).
  if (options.audience !== "services")
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
  app.addHook("onSend", async (request, reply) => {
    // Answered before the whole body arrived (413, 415, 404, 401…): the rest cannot be read as
    // the next request, so the connection ends, and lingers so the client reads this answer.
    if (!request.raw.complete) {
      void reply.header("connection", "close");
      lingerAfterLastAnswer(request.raw.socket);
    } else if (draining) void reply.header("connection", "close");
    // Every 401 names its scheme (RFC 9110); the gateway's own say why a token was refused.
    if (reply.statusCode === 401 && !reply.hasHeader("www-authenticate")) {
      const challenge = bearerChallenge(request.headers.authorization ? "invalid_token" : undefined);
      void reply.header("www-authenticate", challenge);
    }
  });

  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    if (status === 500) {
      request.log.error({ err: errorFields(error) }, "request failed");
      return replyError(request, reply, 500, errorBody("Internal server error", "INTERNAL_SERVER_ERROR"));
    }
    const code = error instanceof HttpError ? error.code : (CODE_BY_STATUS[status] ?? "BAD_REQUEST");
    return replyError(request, reply, status, errorBody(error.message, code));
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split("?")[0]!;
    const methods = methodsByPath.get(path);
    if (!methods) return replyError(request, reply, 404, errorBody(`No route ${request.method} ${path}.`, "NOT_FOUND"));
    const allowed = METHOD_ORDER.filter((method) => methods.has(method));
    void reply.header("allow", allowed.join(", "));
    const message = `${path} answers ${allowed.join(", ")}, not ${request.method}.`;
    return replyError(request, reply, 405, errorBody(message, "METHOD_NOT_ALLOWED"));
  });

  app.get("/healthz", async () => ({ status: "ok" }));
  const metricsAllowed = metricsAccess(options.metricsAllowFrom ?? ["loopback", "uniquelocal"]);
  const { metricsPort } = options;
  const metricsServer =
    options.metrics && metricsPort !== undefined
      ? createMetricsServer(options.metrics.registry, metricsAllowed)
      : undefined;
  if (options.metrics && !metricsServer) {
    const { registry } = options.metrics;
    app.get("/metrics", async (request, reply) => {
      // Outsiders are told nothing exists here.
      if (!metricsAllowed(request.ip))
        return replyError(request, reply, 404, errorBody(`No route GET /metrics.`, "NOT_FOUND"));
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
      return {
        url: `http://${shownHost}:${address.port}`,
        port: address.port,
        metricsUrl: `http://${shownHost}:${metricsAddress.port}`,
      };
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
