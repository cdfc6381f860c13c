// Service-to-service calls (replication feed, user lookups) are not user requests: they carry
// a short-lived HS256 token signed with the deployment's POOYA_SERVICE_SECRET, naming the
// calling service (iss) and the called one (aud). The secret is shared, so a token proves "a
// service of this deployment, calling me" — not which one; `iss` is for logs, not for trust.
import { SignJWT, jwtVerify } from "jose";
import type { FastifyRequest } from "fastify";
import { invalidToken } from "./errors.ts";
import { HttpError, REQUEST_ID_HEADER } from "./edge.ts";
import { callerTimeLeft, currentRequestId } from "./logging.ts";
import type { Upstream } from "./upstream.ts";

const ALGORITHM = "HS256";
export const SERVICE_TOKEN_HEADER = "x-service-token";

function secretKey(secret: string): Uint8Array {
  if (secret.length < 32) throw new Error("POOYA_SERVICE_SECRET must be at least 32 characters");
  return new TextEncoder().encode(secret);
}

export function createServiceTokenSigner(secret: string, caller: string) {
  const key = secretKey(secret);
  return (callee: string) =>
    new SignJWT({})
      .setProtectedHeader({ alg: ALGORITHM, typ: "service+jwt" })
      .setIssuer(caller)
      .setAudience(callee)
      .setIssuedAt()
      .setExpirationTime("60s")
      .sign(key);
}

export function createServiceTokenVerifier(secret: string, callee: string) {
  const key = secretKey(secret);
  return async (token: string | undefined): Promise<string> => {
    if (!token) throw invalidToken("A service token is required.");
    try {
      const { payload } = await jwtVerify(token, key, { algorithms: [ALGORITHM], audience: callee, typ: "service+jwt", requiredClaims: ["iss", "exp"] });
      return payload.iss!;
    } catch {
      throw invalidToken("The service token is not valid.");
    }
  };
}

/** A JSON call to another service's internal endpoint: a service token, the request id, and
 * the upstream's timeouts, retries and breaker (an UpstreamError when it does not answer). */
export function createServiceClient(options: { secret: string; caller: string; upstream: Upstream }) {
  const sign = createServiceTokenSigner(options.secret, options.caller);
  const { upstream } = options;
  return async function callService<T>(path: string, init: { method?: "GET" | "POST"; body?: unknown; idempotent: boolean; signal?: AbortSignal; timeoutMs?: number }): Promise<T> {
    const requestId = currentRequestId();
    const response = await upstream.send(path, {
      method: init.method ?? "GET",
      headers: {
        [SERVICE_TOKEN_HEADER]: await sign(upstream.name),
        "content-type": "application/json",
        ...(requestId ? { [REQUEST_ID_HEADER]: requestId } : {}),
      },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      idempotent: init.idempotent,
      signal: init.signal,
      ...(init.timeoutMs ? { timeoutMs: init.timeoutMs } : {}),
    });
    if (response.status < 200 || response.status >= 300) throw new Error(`${upstream.name} ${path} answered HTTP ${response.status}`);
    return JSON.parse(response.body) as T;
  };
}

/**
 * A deadline for a call made while serving a request: `timeoutMs`, or less, so that its outcome
 * (a failure included) still reaches the request's caller before that one gives up — a users
 * outage is food's typed SERVICE_UNAVAILABLE, not the gateway's GATEWAY_TIMEOUT for food.
 */
export function withinCallerDeadline(timeoutMs: number, marginMs = 500): number {
  const left = callerTimeLeft();
  return left === undefined ? timeoutMs : Math.max(50, Math.min(timeoutMs, left - marginMs));
}

/** A Fastify onRequest hook: internal routes answer only callers with a valid service token (HTTP 401 otherwise). */
export function requireServiceToken(verify: (token: string | undefined) => Promise<string>) {
  return async (request: FastifyRequest) => {
    const header = request.headers[SERVICE_TOKEN_HEADER];
    await verify(Array.isArray(header) ? header[0] : header).catch(() => {
      throw new HttpError(401, "A valid service token is required.");
    });
  };
}
