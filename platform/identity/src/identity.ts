// The identity a subgraph acts on. Subgraphs never read it from a plain header: the gateway
// signs it per request (an "identity assertion", a short-lived JWT) and subgraphs verify it
// against the gateway's published keys.
import {
  SignJWT,
  exportJWK,
  generateKeyPair,
  importJWK,
  jwtVerify,
  errors as joseErrors,
  type JSONWebKeySet,
  type JWK,
  type JWTVerifyGetKey,
  type CryptoKey,
} from "jose";
import { randomUUID } from "node:crypto";
import { invalidToken, unauthenticated, unavailableRequest } from "@pooya/runtime";
import { KeysUnavailableError, TOKEN_EXPIRED, createVerifiedTokenCache } from "./key-store.ts";

export const ROLES = ["STUDENT", "TEACHER", "STAFF"] as const;
export type Role = (typeof ROLES)[number];

/** Who is calling: a signed-in user, or nobody (anonymous). */
export type Viewer = { userId: string; role: Role } | null;

/** The signed-in viewer, or UNAUTHENTICATED: anonymous callers only register, login, refresh. */
export function requireViewer(viewer: Viewer): NonNullable<Viewer> {
  if (!viewer) throw unauthenticated();
  return viewer;
}

/** The access-token contract between the service that issues tokens and the gateway that checks them. */
export const ACCESS_TOKEN_DEFAULTS = {
  issuer: "pooya-users",
  audience: "pooya-api",
  type: "at+jwt",
  algorithm: "EdDSA",
} as const;

export const IDENTITY_ASSERTION_HEADER = "x-identity-assertion";
export const IDENTITY_ASSERTION_ISSUER = "pooya-gateway";
export const IDENTITY_ASSERTION_AUDIENCE = "pooya-subgraphs";
const SIGNING_ALGORITHM = "EdDSA";
export const ASSERTION_LIFETIME_SECONDS = 60;

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export async function generateSigningKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(SIGNING_ALGORITHM, { crv: "Ed25519", extractable: true });
  const kid = randomUUID();
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: SIGNING_ALGORITHM, use: "sig" };
  return { kid, privateKey, publicJwk };
}

/** A private JWK (as stored in a key file or an environment variable) to a signing key. */
export async function signingKeyFromJwk(jwk: JWK): Promise<SigningKey> {
  if (!jwk.kid || !jwk.d) throw new Error("a signing key needs a private JWK with a kid");
  // Extractable, so that a key read from a file can be written back when keys rotate.
  const privateKey = (await importJWK({ ...jwk, alg: SIGNING_ALGORITHM }, SIGNING_ALGORITHM, {
    extractable: true,
  })) as CryptoKey;
  const { d: _private, ...publicPart } = jwk;
  return { kid: jwk.kid, privateKey, publicJwk: { ...publicPart, alg: SIGNING_ALGORITHM, use: "sig" } };
}

export async function exportPrivateJwk(key: SigningKey): Promise<JWK> {
  return { ...(await exportJWK(key.privateKey)), kid: key.kid };
}

export function publicKeySet(keys: SigningKey[]): JSONWebKeySet {
  return { keys: keys.map((k) => k.publicJwk) };
}

/** Who is calling, as the gateway asserts it: the viewer, and the client's address (for abuse limits). */
export interface Caller {
  viewer: Viewer;
  /** The client's address as the gateway saw it (behind trusted proxies: the forwarded one). */
  clientIp: string | null;
  /** For a long-lived connection (a WebSocket): when the user's access token expires, in epoch seconds. */
  sessionExpiresAt?: number;
}

/** Gateway side: sign the verified viewer (and the client's address) for one subgraph request. */
export function createIdentityAssertionSigner(key: SigningKey) {
  return async function signIdentityAssertion(
    viewer: Viewer,
    clientIp?: string,
    sessionExpiresAt?: number,
  ): Promise<string> {
    const claims = {
      ...(viewer ? { role: viewer.role } : { anonymous: true }),
      ...(clientIp ? { cip: clientIp } : {}),
      ...(sessionExpiresAt ? { sxp: sessionExpiresAt } : {}),
    };
    const jwt = new SignJWT(claims)
      .setProtectedHeader({ alg: SIGNING_ALGORITHM, kid: key.kid, typ: "identity+jwt" })
      .setIssuer(IDENTITY_ASSERTION_ISSUER)
      .setAudience(IDENTITY_ASSERTION_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(`${ASSERTION_LIFETIME_SECONDS}s`);
    if (viewer) jwt.setSubject(viewer.userId);
    return jwt.sign(key.privateKey);
  };
}

/** Assertions verified once and remembered while valid (bounded: the least recently used go first). */
export const VERIFIED_ASSERTIONS_CACHED = { maxEntries: 10_000, maxBytes: 16 * 1024 * 1024 };

/**
 * Subgraph side: a request without a valid assertion never reaches a resolver. `getKey`: the
 * gateway's keys; `keys`: the key store behind it. With it, an assertion is verified once and remembered
 * until it expires (the gateway reuses one per viewer for half its lifetime, so a subgraph sees
 * the same one many times); an entry counts only for the key set it was checked against, as the
 * gateway's access-token cache does. Refusals are never remembered.
 */
export function createIdentityAssertionVerifier(
  getKey: JWTVerifyGetKey,
  keys?: { fetchedAtMs(): number; refreshIfDue(): void },
) {
  const verified = keys
    ? createVerifiedTokenCache<Caller>(keys, VERIFIED_ASSERTIONS_CACHED, "verified-assertions")
    : undefined;
  return async function verifyIdentityAssertion(token: string | undefined): Promise<Caller> {
    if (!token) throw invalidToken("This service only answers requests forwarded by the gateway.");
    if (verified) {
      keys!.refreshIfDue();
      const known = verified.get(token);
      if (known && known !== TOKEN_EXPIRED) return known;
    }
    // Unknown, or expired: the signature check gives the refusal its exact reason.
    const { caller, validUntilMs } = await verifySignature(token);
    verified?.set(token, caller, validUntilMs);
    return caller;
  };

  async function verifySignature(token: string): Promise<{ caller: Caller; validUntilMs: number }> {
    try {
      const { payload } = await jwtVerify(token, getKey, {
        algorithms: [SIGNING_ALGORITHM],
        issuer: IDENTITY_ASSERTION_ISSUER,
        audience: IDENTITY_ASSERTION_AUDIENCE,
        typ: "identity+jwt",
        maxTokenAge: `${ASSERTION_LIFETIME_SECONDS + 5}s`,
      });
      // Valid until its exp, and no longer than the age verification allows.
      const validUntilMs = Math.min(
        typeof payload.exp === "number" ? payload.exp * 1000 : Infinity,
        ((payload.iat ?? 0) + ASSERTION_LIFETIME_SECONDS + 5) * 1000,
      );
      const clientIp = typeof payload.cip === "string" ? payload.cip : null;
      if (payload.anonymous === true) return { caller: { viewer: null, clientIp }, validUntilMs };
      if (typeof payload.sub !== "string" || !ROLES.includes(payload.role as Role)) {
        throw invalidToken("The gateway credential names no valid identity.");
      }
      const sessionExpiresAt = typeof payload.sxp === "number" ? payload.sxp : undefined;
      return {
        caller: {
          viewer: { userId: payload.sub, role: payload.role as Role },
          clientIp,
          ...(sessionExpiresAt ? { sessionExpiresAt } : {}),
        },
        validUntilMs,
      };
    } catch (error) {
      if (error instanceof KeysUnavailableError)
        throw unavailableRequest(
          "The gateway's keys cannot be fetched right now; try again shortly.",
          error.retryAfterSeconds,
        );
      if (error instanceof joseErrors.JOSEError) throw invalidToken("The gateway credential is not valid.");
      throw error;
    }
  }
}

/** An entity another subgraph owns, as this subgraph knows it: just its key. */
export interface EntityReference {
  id: string;
}
