// What every GraphQL request over HTTP carries through the gateway: who asks (from the bearer
// token), from where, and the identity assertion its subgraph calls send (signed on first use).
import type { BaseContext } from "@apollo/server";
import type { FastifyRequest } from "fastify";
import type { Viewer } from "@pooya/identity";
import type { DeactivatedAccounts } from "./deactivated-accounts.ts";
import type { GatewayKeys } from "./keys.ts";

export interface GatewayContext extends BaseContext {
  viewer: Viewer;
  requestId: string;
  /** The client's address (the forwarded one, behind trusted proxies). */
  clientIp: string;
  identityAssertion: () => Promise<string>;
}

export function requestContext({ accessTokens, identityAssertionFor }: GatewayKeys, deactivated?: DeactivatedAccounts) {
  return async (request: FastifyRequest): Promise<GatewayContext> => {
    let viewer = await accessTokens.viewerFromAuthorization(request.headers.authorization);
    if (deactivated) viewer = deactivated.check(viewer);
    let assertion: Promise<string> | undefined;
    return {
      viewer,
      requestId: request.id,
      clientIp: request.ip,
      identityAssertion: () => (assertion ??= identityAssertionFor(viewer, request.ip)),
    };
  };
}
