// Verifies users' access tokens against the users service's JWKS: algorithm allow-list,
// issuer, audience, expiry. No token = anonymous; a bad token = HTTP 401.
import { createRemoteJWKSet, errors as joseErrors, jwtVerify } from "jose";
import { ROLES, invalidToken, type Role, type Viewer } from "@pooya/platform";

export interface AccessTokenPolicy {
  jwksUrl: string;
  issuer: string;
  audience: string;
}

export function createAccessTokenVerifier(policy: AccessTokenPolicy) {
  const jwks = createRemoteJWKSet(new URL(policy.jwksUrl), { cooldownDuration: 5_000, cacheMaxAge: 10 * 60_000 });
  return async function viewerFromAuthorization(authorization: string | undefined): Promise<Viewer> {
    if (authorization === undefined || authorization.trim() === "") return null;
    const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
    if (!match?.[1]) throw invalidToken("Authorization must be `Bearer <accessToken>`.");
    try {
      const { payload } = await jwtVerify(match[1], jwks, {
        algorithms: ["EdDSA"],
        issuer: policy.issuer,
        audience: policy.audience,
        typ: "at+jwt",
        requiredClaims: ["exp", "sub"],
      });
      if (!ROLES.includes(payload.role as Role)) throw invalidToken("The access token names no role.");
      return { userId: payload.sub as string, role: payload.role as Role };
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) throw invalidToken("The access token has expired: refresh it.");
      if (error instanceof joseErrors.JOSEError) throw invalidToken("The access token is not valid.");
      if (error instanceof TypeError) throw invalidToken("The access token is not valid."); // malformed input
      throw error;
    }
  };
}
