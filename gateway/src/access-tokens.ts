// Verifies users' access tokens against the published access-token keys: algorithm allow-list,
// issuer, audience, expiry. No token = anonymous; a bad token = HTTP 401. Keys that cannot be
// fetched while a token needs them = HTTP 503: an outage of the key publisher signs nobody out.
import { errors as joseErrors, jwtVerify } from "jose";
import { ACCESS_TOKEN_DEFAULTS, KeysUnavailableError, ROLES, invalidToken, unavailableRequest, type KeyStore, type Role, type Viewer } from "@pooya/platform";

export interface AccessTokenPolicy {
  jwksUrl: string;
  issuer: string;
  audience: string;
}

export function createAccessTokenVerifier(policy: AccessTokenPolicy, keys: KeyStore) {
  return async function viewerFromAuthorization(authorization: string | undefined): Promise<Viewer> {
    if (authorization === undefined || authorization.trim() === "") return null;
    const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
    if (!match?.[1]) throw invalidToken("Authorization must be `Bearer <accessToken>`.");
    try {
      const { payload } = await jwtVerify(match[1], keys.getKey, {
        algorithms: [ACCESS_TOKEN_DEFAULTS.algorithm],
        issuer: policy.issuer,
        audience: policy.audience,
        typ: ACCESS_TOKEN_DEFAULTS.type,
        requiredClaims: ["exp", "sub"],
      });
      if (!ROLES.includes(payload.role as Role)) throw invalidToken("The access token names no role.");
      return { userId: payload.sub as string, role: payload.role as Role };
    } catch (error) {
      if (error instanceof KeysUnavailableError) throw unavailableRequest("Access tokens cannot be checked right now; try again shortly.", error.retryAfterSeconds);
      if (error instanceof joseErrors.JWTExpired) throw invalidToken("The access token has expired: refresh it.");
      if (error instanceof joseErrors.JOSEError) throw invalidToken("The access token is not valid.");
      if (error instanceof TypeError) throw invalidToken("The access token is not valid."); // malformed input
      throw error;
    }
  };
}
