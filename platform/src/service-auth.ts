// Service-to-service calls (replication feed, user lookups) are not user requests: they carry
// a short-lived HS256 token signed with the deployment's POOYA_SERVICE_SECRET, naming the
// calling service (iss) and the called one (aud). The secret is shared, so a token proves "a
// service of this deployment, calling me" — not which one; `iss` is for logs, not for trust.
import { SignJWT, jwtVerify } from "jose";
import type { FastifyRequest } from "fastify";
import { invalidToken } from "./errors.ts";
import { HttpError, REQUEST_ID_HEADER } from "./edge.ts";
import { currentRequestId } from "./logging.ts";

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

/** A JSON call to another service's internal endpoint, with a service token, the request id and a deadline. */
export function createServiceClient(options: { secret: string; caller: string; callee: string; baseUrl: string; timeoutMs?: number }) {
  const sign = createServiceTokenSigner(options.secret, options.caller);
  return async function callService<T>(path: string, init: { method?: "GET" | "POST"; body?: unknown } = {}): Promise<T> {
    const requestId = currentRequestId();
    const response = await fetch(new URL(path, options.baseUrl), {
      method: init.method ?? "GET",
      headers: {
        [SERVICE_TOKEN_HEADER]: await sign(options.callee),
        "content-type": "application/json",
        ...(requestId ? { [REQUEST_ID_HEADER]: requestId } : {}),
      },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      signal: AbortSignal.timeout(options.timeoutMs ?? 3_000),
    });
    if (!response.ok) throw new Error(`${options.callee} ${path} answered HTTP ${response.status}`);
    return (await response.json()) as T;
  };
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
