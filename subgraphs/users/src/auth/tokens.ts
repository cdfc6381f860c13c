// Access tokens: EdDSA JWTs (kid, iss, aud, sub, role, exp ≈ 15 min).
// Refresh tokens: 256 random bits, stored only as SHA-256, single use, grouped in families;
// presenting a used one revokes its family (a stolen token was replayed).
import { createHash, randomBytes } from "node:crypto";
import { SignJWT } from "jose";
import { ACCESS_TOKEN_DEFAULTS, publicKeySet, type Role, type SigningKey } from "@pooya/identity";

export const ACCESS_TOKEN_TTL_SECONDS = 15 * 60;
export const REFRESH_TOKEN_TTL_MS = 30 * 24 * 3600 * 1000;
export const DEFAULT_TOKEN_ISSUER = ACCESS_TOKEN_DEFAULTS.issuer;
export const DEFAULT_TOKEN_AUDIENCE = ACCESS_TOKEN_DEFAULTS.audience;

export interface TokenSettings {
  issuer: string;
  audience: string;
}

export function createAccessTokenIssuer(keys: SigningKey[], settings: TokenSettings) {
  const [current] = keys;
  if (!current) throw new Error("no signing key");
  return {
    jwks: publicKeySet(keys),
    async issue(user: { id: string; role: Role }): Promise<string> {
      return new SignJWT({ role: user.role })
        .setProtectedHeader({ alg: ACCESS_TOKEN_DEFAULTS.algorithm, kid: current.kid, typ: ACCESS_TOKEN_DEFAULTS.type })
        .setIssuer(settings.issuer)
        .setAudience(settings.audience)
        .setSubject(user.id)
        .setIssuedAt()
        .setExpirationTime(`${ACCESS_TOKEN_TTL_SECONDS}s`)
        .setJti(crypto.randomUUID())
        .sign(current.privateKey);
    },
  };
}

export type AccessTokenIssuer = ReturnType<typeof createAccessTokenIssuer>;

export function newRefreshToken(): { token: string; tokenHash: string } {
  const token = randomBytes(32).toString("base64url");
  return { token, tokenHash: hashRefreshToken(token) };
}

export function hashRefreshToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}
