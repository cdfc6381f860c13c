// The gateway's keys: its own signing key (identity assertions to the subgraphs, published at
// /.well-known/jwks.json) and the access-token keys it verifies users' tokens with.
import type { Logger } from "@pooya/runtime";
import { createIdentityAssertionSigner, createKeyStore, generateSigningKey } from "@pooya/identity";
import { createAccessTokenVerifier } from "./access-tokens.ts";
import { reusingAssertionSigner } from "./identity-assertions.ts";
import type { GatewayCacheBounds, GatewaySettings } from "./settings.ts";

export async function loadKeys(
  settings: Pick<GatewaySettings, "signingKey" | "accessTokens" | "keysRefreshMs">,
  caches: Pick<GatewayCacheBounds, "assertions" | "tokens">,
  log: Logger,
) {
  const signingKey = settings.signingKey ?? (await generateSigningKey());
  const signIdentityAssertion = createIdentityAssertionSigner(signingKey);
  /** A request's assertion, reused for the same viewer and client address (see identity-assertions.ts). */
  const identityAssertionFor = reusingAssertionSigner((viewer, clientIp) => signIdentityAssertion(viewer, clientIp), {
    bounds: caches.assertions,
  });
  const accessTokenKeys = createKeyStore({
    name: "access-token",
    url: settings.accessTokens.jwksUrl,
    log,
    refreshAfterMs: settings.keysRefreshMs,
  });
  await accessTokenKeys.load(); // if this fails, readiness says so and tokens are checked once the keys can be fetched
  const accessTokens = createAccessTokenVerifier(settings.accessTokens, accessTokenKeys, caches.tokens);
  return { signingKey, signIdentityAssertion, identityAssertionFor, accessTokenKeys, accessTokens };
}

export type GatewayKeys = Awaited<ReturnType<typeof loadKeys>>;
