// Verifies users' access tokens against the published access-token keys: algorithm allow-list,
// issuer, audience, expiry. Over HTTP: no token = anonymous; a bad token = HTTP 401; keys that
// cannot be fetched while a token needs them = HTTP 503 (an outage of the key publisher signs
// nobody out). Over WebSocket the same checks decide how the connection is closed.
import { errors as joseErrors, jwtVerify } from "jose";
import { bearerChallenge, invalidToken, unavailableRequest, type CacheBounds } from "@pooya/runtime";
import {
  ACCESS_TOKEN_DEFAULTS,
  KeysUnavailableError,
  ROLES,
  TOKEN_EXPIRED,
  createVerifiedTokenCache,
  type KeyStore,
  type Role,
  type Viewer,
} from "@pooya/identity";

export interface AccessTokenPolicy {
  jwksUrl: string;
  issuer: string;
  audience: string;
}

/** Why a token was refused: `invalid` (malformed, forged, wrong issuer…), `expired`, or `keys-unavailable` (cannot be checked now). */
export class AccessTokenError extends Error {
  readonly reason: "invalid" | "expired" | "keys-unavailable";
  readonly retryAfterSeconds: number;
  constructor(reason: AccessTokenError["reason"], message: string, retryAfterSeconds = 1) {
    super(message);
    this.reason = reason;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export interface VerifiedAccessToken {
  viewer: NonNullable<Viewer>;
  /** The token's `exp`, in epoch seconds. */
  expiresAt: number;
}

/** The token of an `Authorization: Bearer <token>` value; undefined when it is not one. */
export const bearerToken = (authorization: string) => /^Bearer\s+(\S+)$/i.exec(authorization.trim())?.[1];

/** Tokens verified once and remembered while valid (bounded: the least recently used go first; TOKEN_CACHE_MAX_*). */
export const VERIFIED_TOKENS_CACHED: CacheBounds = { maxEntries: 10_000, maxBytes: 16 * 1024 * 1024 };

export function createAccessTokenVerifier(
  policy: AccessTokenPolicy,
  keys: KeyStore,
  bounds: CacheBounds = VERIFIED_TOKENS_CACHED,
) {
  // A token's signature and claims are checked once; until its `exp` the answer is the same, so
  // a client's next requests skip the EdDSA verification. An entry counts only for the key set it
  // was checked against (createVerifiedTokenCache), and the keys are refreshed on the same
  // schedule as when every token was verified (so a withdrawn key stops working as soon as it did
  // before). Refusals are not remembered.
  const verified = createVerifiedTokenCache<VerifiedAccessToken>(keys, bounds, "access-tokens");

  async function verify(token: string): Promise<VerifiedAccessToken> {
    keys.refreshIfDue();
    const known = verified.get(token);
    if (known === TOKEN_EXPIRED) throw new AccessTokenError("expired", "The access token has expired: refresh it.");
    if (known) return known;
    const result = await verifySignature(token);
    verified.set(token, result, result.expiresAt * 1000);
    return result;
  }

  async function verifySignature(token: string): Promise<VerifiedAccessToken> {
    try {
      const { payload } = await jwtVerify(token, keys.getKey, {
        algorithms: [ACCESS_TOKEN_DEFAULTS.algorithm],
        issuer: policy.issuer,
        audience: policy.audience,
        typ: ACCESS_TOKEN_DEFAULTS.type,
        requiredClaims: ["exp", "sub"],
      });
      if (!ROLES.includes(payload.role as Role))
        throw new AccessTokenError("invalid", "The access token names no role.");
      return {
        viewer: { userId: payload.sub as string, role: payload.role as Role },
        expiresAt: payload.exp as number,
      };
    } catch (error) {
      if (error instanceof AccessTokenError) throw error;
      if (error instanceof KeysUnavailableError)
        throw new AccessTokenError(
          "keys-unavailable",
          "Access tokens cannot be checked right now; try again shortly.",
          error.retryAfterSeconds,
        );
      if (error instanceof joseErrors.JWTExpired)
        throw new AccessTokenError("expired", "The access token has expired: refresh it.");
      if (error instanceof joseErrors.JOSEError || error instanceof TypeError)
        throw new AccessTokenError("invalid", "The access token is not valid.");
      throw error;
    }
  }

  return {
    /** The verified tokens (for their gauges). */
    cache: verified.cache,
    verify,
    /** For HTTP requests: the viewer of the Authorization header (null: none), or a typed GraphQL error. */
    async viewerFromAuthorization(authorization: string | undefined): Promise<Viewer> {
      if (authorization === undefined || authorization.trim() === "") return null;
      const token = bearerToken(authorization);
      // RFC 6750: a malformed Bearer header is invalid_request; another scheme gets the bare challenge.
      if (!token) {
        const challenge = bearerChallenge(/^bearer\b/i.test(authorization.trim()) ? "invalid_request" : undefined);
        throw invalidToken("Authorization must be `Bearer <accessToken>`.", challenge);
      }
      try {
        return (await verify(token)).viewer;
      } catch (error) {
        if (!(error instanceof AccessTokenError)) throw error;
        if (error.reason === "keys-unavailable") throw unavailableRequest(error.message, error.retryAfterSeconds);
        throw invalidToken(error.message, bearerChallenge("invalid_token", error.message));
      }
    },
  };
}

export type AccessTokenVerifier = ReturnType<typeof createAccessTokenVerifier>;
