// A small node:http front for Apollo Server: /graphql plus plain JSON routes (health, JWKS,
// internal endpoints). No framework: the surface is tiny and every byte of it is ours.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { HeaderMap, type ApolloServer, type BaseContext } from "@apollo/server";

export type RouteHandler = (request: IncomingMessage, body: unknown) => Promise<{ status: number; body: unknown; headers?: Record<string, string> }>;
export type Routes = Record<string, RouteHandler>; // key: "GET /healthz"

const MAX_BODY_BYTES = 1024 * 1024;

export class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, "request body too large");
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  response.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers });
  response.end(JSON.stringify(body));
}

export interface HttpService {
  url: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

/** Which browser origins may call: "*" (bearer tokens, no cookies, so no CSRF exposure) or a list. */
export type CorsOrigins = "*" | string[];

function applyCors(request: IncomingMessage, response: ServerResponse, origins: CorsOrigins): boolean {
  const origin = request.headers.origin;
  if (!origin) return false;
  if (origins !== "*" && !origins.includes(origin)) return false;
  response.setHeader("access-control-allow-origin", origins === "*" ? "*" : origin);
  if (origins !== "*") response.setHeader("vary", "origin");
  if (request.method === "OPTIONS") {
    response.setHeader("access-control-allow-methods", "GET, POST, OPTIONS");
    response.setHeader("access-control-allow-headers", "authorization, content-type, apollo-require-preflight, x-apollo-operation-name");
    response.setHeader("access-control-max-age", "600");
  }
  return true;
}

export async function serveHttp<TContext extends BaseContext>(options: {
  apollo: ApolloServer<TContext>;
  context: (request: IncomingMessage) => Promise<TContext>;
  routes?: Routes;
  port: number;
  host?: string;
  /** Only the gateway faces browsers; subgraphs send no CORS headers. */
  cors?: CorsOrigins;
}): Promise<HttpService> {
  const { apollo, routes = {} } = options;

  async function handle(request: IncomingMessage, response: ServerResponse) {
    const url = new URL(request.url ?? "/", "http://localhost");
    if (options.cors) applyCors(request, response, options.cors);
    if (request.method === "OPTIONS") {
      response.writeHead(options.cors ? 204 : 405).end();
      return;
    }
    const route = routes[`${request.method} ${url.pathname}`];
    const raw = request.method === "GET" || request.method === "HEAD" ? "" : await readBody(request);
    if (route) {
      let parsed: unknown;
      try {
        parsed = raw ? JSON.parse(raw) : undefined;
      } catch {
        return sendJson(response, 400, { error: "body is not JSON" });
      }
      const result = await route(request, parsed);
      return sendJson(response, result.status, result.body, result.headers);
    }
    if (url.pathname !== "/graphql" && url.pathname !== "/") return sendJson(response, 404, { error: "not found" });

    const headers = new HeaderMap();
    for (const [name, value] of Object.entries(request.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(", ") : value);
    }
    let body: unknown = raw;
    if (raw && (headers.get("content-type") ?? "").includes("application/json")) {
      try {
        body = JSON.parse(raw);
      } catch {
        return sendJson(response, 400, { errors: [{ message: "Request body is not valid JSON.", extensions: { code: "BAD_REQUEST" } }] });
      }
    }
    const result = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: request.method ?? "GET", headers, search: url.search, body },
      context: () => options.context(request),
    });
    for (const [name, value] of result.headers) response.setHeader(name, value);
    response.statusCode = result.status ?? 200;
    if (result.body.kind === "complete") {
      response.end(result.body.string);
    } else {
      for await (const chunk of result.body.asyncIterator) response.write(chunk);
      response.end();
    }
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      const status = error instanceof HttpError ? error.status : 500;
      if (status === 500) console.error("http handler failed", error);
      if (!response.headersSent) sendJson(response, status, { error: status === 500 ? "internal error" : (error as Error).message });
      else response.end();
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host ?? "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host && options.host !== "0.0.0.0" ? options.host : "127.0.0.1"}:${port}`,
    port,
    server,
    async close() {
      server.closeIdleConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await apollo.stop();
    },
  };
}

/** GET /healthz (the process answers) and GET /readyz (its dependencies answer). */
export function healthRoutes(checkReady: () => Promise<Record<string, boolean>>): Routes {
  return {
    "GET /healthz": async () => ({ status: 200, body: { status: "ok" } }),
    "GET /readyz": async () => {
      let checks: Record<string, boolean>;
      try {
        checks = await checkReady();
      } catch {
        checks = { dependencies: false };
      }
      const ready = Object.values(checks).every(Boolean);
      return { status: ready ? 200 : 503, body: { status: ready ? "ready" : "not ready", checks } };
    },
  };
}
