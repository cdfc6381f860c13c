// Service-to-service calls (event feeds, users' lookup, courses' enrollment check) are not user
// requests. The caller signs each with its own Ed25519 key — a short-lived token naming itself
// (iss) and the callee (aud) — and publishes the public half at GET /.well-known/service-jwks.json.
// The callee fetches each caller's keys from that caller's own address, verifies the signature,
// and lets an internal route answer only the callers its service descriptor declares for it.
// No secret is shared: a leaked key lets its holder call only what that one service may call.
import { join } from "node:path";
import { SignJWT, decodeJwt, jwtVerify, errors as joseErrors, type JSONWebKeySet, type JWK } from "jose";
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler } from "fastify";
import { z } from "zod";
import { env, projectDataDir, serviceUrlVariable } from "@pooya/runtime";
import { REQUEST_ID_HEADER, errorBody } from "@pooya/runtime";
import { publicKeySet, type SigningKey } from "./identity.ts";
import {
  KeysUnavailableError,
  TOKEN_EXPIRED,
  createKeyStore,
  createVerifiedTokenCache,
  type KeyStoreStatus,
} from "./key-store.ts";
import { loadSigningKeys } from "./key-files.ts";
import { callerTimeLeft, currentRequestId, type Logger } from "@pooya/runtime";
import type { Upstream } from "@pooya/runtime";
import { callersOf, type InternalRoute } from "@pooya/runtime";

export const SERVICE_TOKEN_HEADER = "x-service-token";
/** Where a service that calls others publishes the public keys of its service tokens. */
export const SERVICE_KEYS_PATH = "/.well-known/service-jwks.json";
export const SERVICE_TOKEN_TYPE = "service+jwt";
export const SERVICE_TOKEN_LIFETIME_SECONDS = 60;
/** Every route under this prefix is internal: it must be declared, with the services that may call it. */
export const INTERNAL_ROUTE_PREFIX = "/internal/";
const ALGORITHM = "EdDSA";
/** Verified service tokens remembered per caller (callers reuse a token for half its lifetime). */
const VERIFIED_TOKENS_CACHED = { maxEntries: 1_000, maxBytes: 2 * 1024 * 1024 };

// ---- the caller's side: its keys, its tokens -------------------------------------------------

const privateJwks = z
  .array(
    z
      .object({
        kid: z.string().min(1),
        d: z.string().min(1),
        kty: z.literal("OKP"),
        crv: z.literal("Ed25519"),
        x: z.string(),
      })
      .loose(),
  )
  .min(1);

export const serviceSigningKeysVariable = (name: string) => `${name.toUpperCase()}_SERVICE_SIGNING_KEYS`;
export const serviceSigningKeysFile = (dataDir: string, name: string) =>
  join(dataDir, "keys", `${name}-service-signing-keys.json`);

/** The variables of a service that calls others: where its signing keys come from. */
export function serviceIdentityVariables<const N extends string>(name: N) {
  return {
    [serviceSigningKeysVariable(name)]: env
      .json(privateJwks, "a JSON array of private Ed25519 JWKs with a kid, newest first")
      .optional()
      .describe(
        "the keys that sign the service's calls to other services, from a secret store (newest signs, all are " +
          "published); unset: a key file in `$POOYA_DATA_DIR/keys/` (generated at first start). " +
          "Replicas must share them",
      ),
    POOYA_DATA_DIR: env
      .text()
      .default(projectDataDir())
      .meta({ defaultText: "`.data` in the project root (the working directory outside npm)" })
      .describe("where the service keeps the key files it generates"),
  } as {
    [K in `${Uppercase<N>}_SERVICE_SIGNING_KEYS`]: z.ZodOptional<
      ReturnType<typeof env.json<z.infer<typeof privateJwks>>>
    >;
  } & { POOYA_DATA_DIR: z.ZodDefault<ReturnType<typeof env.text>> };
}

/** Who a service is toward the services it calls: its signing keys (newest signs) and their public half. */
export interface ServiceIdentity {
  name: string;
  keys: SigningKey[];
  /** What it publishes at SERVICE_KEYS_PATH. */
  jwks: JSONWebKeySet;
  /** A token for one call to `callee`; one is reused for half its lifetime. */
  tokenFor(callee: string): Promise<string>;
}

export function createServiceIdentity(name: string, keys: SigningKey[]): ServiceIdentity {
  const signing = keys[0];
  if (!signing) throw new Error(`${name} has no service signing key`);
  const issued = new Map<string, { token: Promise<string>; renewAt: number }>();
  return {
    name,
    keys,
    jwks: publicKeySet(keys),
    tokenFor(callee) {
      const now = Date.now();
      const known = issued.get(callee);
      if (known && known.renewAt > now) return known.token;
      const token = new SignJWT({})
        .setProtectedHeader({ alg: ALGORITHM, kid: signing.kid, typ: SERVICE_TOKEN_TYPE })
        .setIssuer(name)
        .setAudience(callee)
        .setIssuedAt()
        .setExpirationTime(`${SERVICE_TOKEN_LIFETIME_SECONDS}s`)
        .sign(signing.privateKey);
      issued.set(callee, { token, renewAt: now + (SERVICE_TOKEN_LIFETIME_SECONDS * 1000) / 2 });
      token.catch(() => issued.delete(callee));
      return token;
    },
  };
}

/** The identity from `<NAME>_SERVICE_SIGNING_KEYS`, else from its key file (generated on first start). */
export async function loadServiceIdentity(name: string, vars: Record<string, unknown>): Promise<ServiceIdentity> {
  const jwks = vars[serviceSigningKeysVariable(name)] as JWK[] | undefined;
  const keys = await loadSigningKeys(
    jwks ? { jwks } : { file: serviceSigningKeysFile(vars.POOYA_DATA_DIR as string, name) },
  );
  return createServiceIdentity(name, keys);
}

/** A JSON call to another service's internal endpoint: a service token, the request id, and
 * the upstream's timeouts, retries and breaker (an UpstreamError when it does not answer). */
export function createServiceClient(options: { identity: ServiceIdentity; upstream: Upstream }) {
  const { identity, upstream } = options;
  return async function callService<T>(
    path: string,
    init: { method?: "GET" | "POST"; body?: unknown; idempotent: boolean; signal?: AbortSignal; timeoutMs?: number },
  ): Promise<T> {
    const requestId = currentRequestId();
    const response = await upstream.send(path, {
      method: init.method ?? "GET",
      headers: {
        [SERVICE_TOKEN_HEADER]: await identity.tokenFor(upstream.name),
        "content-type": "application/json",
        ...(requestId ? { [REQUEST_ID_HEADER]: requestId } : {}),
      },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      idempotent: init.idempotent,
      signal: init.signal,
      ...(init.timeoutMs ? { timeoutMs: init.timeoutMs } : {}),
    });
    if (response.status < 200 || response.status >= 300)
      throw new Error(`${upstream.name} ${path} answered HTTP ${response.status}`);
    return JSON.parse(response.body) as T;
  };
}

// ---- the callee's side: callers' keys, verification, the routes' guard -----------------------

/**
 * The gateway calls internal routes too (it reads the producers' event feeds). Every subgraph
 * knows where it is already — GATEWAY_JWKS_URL, its identity-assertion keys — and it publishes
 * its service-token keys beside them, at SERVICE_KEYS_PATH: no `GATEWAY_URL` to set.
 */
export const GATEWAY_CALLER = "gateway";
/** The gateway's base URL, from its assertion keys' URL (`…/.well-known/jwks.json`). */
export const gatewayBaseUrl = (jwksUrl: string) =>
  /\/\.well-known\/jwks\.json$/.test(jwksUrl)
    ? jwksUrl.replace(/\/\.well-known\/jwks\.json$/, "")
    : new URL(jwksUrl).origin;

/** The `<CALLER>_URL` variables of a service that serves `routes`: where each caller publishes its keys (the gateway: GATEWAY_JWKS_URL's). */
export function callerVariables(routes: readonly InternalRoute[]) {
  return Object.fromEntries(
    callersOf(routes)
      .filter((caller) => caller !== GATEWAY_CALLER)
      .map((caller) => [
        serviceUrlVariable(caller),
        env
          .httpUrl()
          .describe(
            `base URL of the ${caller} service, which calls internal routes here: ` +
              `its service-token keys are read from \`${SERVICE_KEYS_PATH}\` there`,
          ),
      ]),
  ) as Record<string, ReturnType<typeof env.httpUrl>>;
}

/** Each caller's base URL, from the variables of callerVariables (the gateway's from GATEWAY_JWKS_URL). */
export function callerUrls(routes: readonly InternalRoute[], vars: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    callersOf(routes).map((caller) => [
      caller,
      caller === GATEWAY_CALLER
        ? gatewayBaseUrl(vars.GATEWAY_JWKS_URL as string)
        : (vars[serviceUrlVariable(caller)] as string),
    ]),
  );
}

/** Why an internal call is refused: 401 nothing proves the caller, 403 it may not call the route, 503 its keys
 * cannot be fetched to check. */
export class ServiceCallRefused extends Error {
  readonly statusCode: 401 | 403 | 503;
  readonly retryAfterSeconds?: number;
  constructor(statusCode: 401 | 403 | 503, message: string, retryAfterSeconds?: number) {
    super(message);
    this.statusCode = statusCode;
    if (retryAfterSeconds !== undefined) this.retryAfterSeconds = retryAfterSeconds;
  }
}

function refusalOf(error: unknown, caller: string): ServiceCallRefused | undefined {
  if (error instanceof KeysUnavailableError)
    return new ServiceCallRefused(
      503,
      `The ${caller} service's keys cannot be fetched right now; try again shortly.`,
      error.retryAfterSeconds,
    );
  if (error instanceof joseErrors.JWTExpired) return new ServiceCallRefused(401, "The service token has expired.");
  if (error instanceof joseErrors.JWTClaimValidationFailed)
    return new ServiceCallRefused(401, `The service token's ${error.claim} claim is not valid here.`);
  if (error instanceof joseErrors.JOSEError)
    return new ServiceCallRefused(401, `The service token is not signed with a key the ${caller} service publishes.`);
  return undefined;
}

/**
 * Verifies service tokens sent to `service` by `callers` (name → base URL). Each caller's keys
 * are fetched from its SERVICE_KEYS_PATH when first needed, refreshed in the background, refetched
 * on an unknown key id, and kept while the caller cannot be reached (createKeyStore).
 */
export function createServiceTokenVerifier(options: {
  service: string;
  callers: Record<string, string>;
  log: Logger;
  refreshAfterMs?: number;
  timeoutMs?: number;
}) {
  const callers = new Map(
    Object.entries(options.callers).map(([caller, baseUrl]) => {
      const keys = createKeyStore({
        name: `${caller} service-token`,
        url: `${baseUrl}${SERVICE_KEYS_PATH}`,
        log: options.log,
        refreshAfterMs: options.refreshAfterMs,
        timeoutMs: options.timeoutMs,
      });
      return [
        caller,
        {
          keys,
          verified: createVerifiedTokenCache<{ caller: string }>(
            keys,
            VERIFIED_TOKENS_CACHED,
            "verified-service-tokens",
          ),
        },
      ] as const;
    }),
  );

  /** The caller `token` proves, if it is one of `allowed`; else a ServiceCallRefused. */
  async function verify(token: string | undefined, allowed: readonly string[]): Promise<string> {
    if (!token) throw new ServiceCallRefused(401, "A service token is required.");
    let claimed: unknown;
    try {
      claimed = decodeJwt(token).iss;
    } catch {
      throw new ServiceCallRefused(401, "The service token is not a JWT.");
    }
    if (typeof claimed !== "string" || !claimed)
      throw new ServiceCallRefused(401, "The service token names no calling service (iss).");
    // Whoever signed it, a service not declared for the route is refused without a key fetch.
    const known = allowed.includes(claimed) ? callers.get(claimed) : undefined;
    if (!known)
      throw new ServiceCallRefused(403, `The service ${JSON.stringify(claimed.slice(0, 64))} may not call this route.`);
    known.keys.refreshIfDue();
    const remembered = known.verified.get(token);
    if (remembered && remembered !== TOKEN_EXPIRED) return claimed;
    try {
      const { payload } = await jwtVerify(token, known.keys.getKey, {
        algorithms: [ALGORITHM],
        issuer: claimed,
        audience: options.service,
        typ: SERVICE_TOKEN_TYPE,
        requiredClaims: ["iat", "exp"],
        maxTokenAge: `${SERVICE_TOKEN_LIFETIME_SECONDS + 5}s`,
      });
      known.verified.set(
        token,
        { caller: claimed },
        Math.min(payload.exp! * 1000, (payload.iat! + SERVICE_TOKEN_LIFETIME_SECONDS + 5) * 1000),
      );
      return claimed;
    } catch (error) {
      throw refusalOf(error, claimed) ?? error;
    }
  }

  return {
    verify,
    /** Each caller's keys as fetched so far (for /readyz). */
    status: (): Record<string, KeyStoreStatus> =>
      Object.fromEntries([...callers].map(([caller, { keys }]) => [caller, keys.status()])),
  };
}

export type ServiceTokenVerifier = ReturnType<typeof createServiceTokenVerifier>;

/** The service token of a request (the first, if the header is repeated). */
const tokenOf = (request: FastifyRequest) => {
  const header = request.headers[SERVICE_TOKEN_HEADER];
  return Array.isArray(header) ? header[0] : header;
};

const CODES = { 401: "UNAUTHENTICATED", 403: "FORBIDDEN", 503: "SERVICE_UNAVAILABLE" } as const;

/** An onRequest hook: the route answers only a valid service token from one of `callers`. */
export function requireServiceCaller(verifier: ServiceTokenVerifier, callers: readonly string[]): onRequestHookHandler {
  return async function serviceCallerGuard(request: FastifyRequest, reply: FastifyReply) {
    try {
      await verifier.verify(tokenOf(request), callers);
    } catch (error) {
      if (!(error instanceof ServiceCallRefused)) throw error;
      request.log.warn(
        { route: `${request.method} ${request.routeOptions.url}`, status: error.statusCode, reason: error.message },
        "internal call refused",
      );
      if (error.retryAfterSeconds !== undefined) void reply.header("retry-after", String(error.retryAfterSeconds));
      return reply.code(error.statusCode).send(errorBody(error.message, CODES[error.statusCode]));
    }
  };
}

/**
 * Guards every route registered after it under INTERNAL_ROUTE_PREFIX with its declaration in
 * `routes`; registering an undeclared one fails at start, so no internal route goes unguarded.
 */
export function guardInternalRoutes(
  app: FastifyInstance,
  options: { routes: readonly InternalRoute[]; verifier: ServiceTokenVerifier },
) {
  app.addHook("onRoute", (route) => {
    if (!route.url?.startsWith(INTERNAL_ROUTE_PREFIX)) return;
    // HEAD is GET without a body (Fastify adds one per GET route).
    const methods = [route.method].flat().map((method) => (method === "HEAD" ? "GET" : method));
    const declared = options.routes.filter((r) => r.path === route.url && methods.includes(r.method));
    if (declared.length === 0)
      throw new Error(
        `${methods.join(",")} ${route.url} is an internal route with no declared callers (InternalRoute)`,
      );
    const guard = requireServiceCaller(options.verifier, callersOf(declared));
    route.onRequest = [guard, ...[route.onRequest ?? []].flat()];
  });
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
