// The supergraph and Apollo Gateway: a call client (Upstream) per subgraph the supergraph
// names, the query planner on its bounded cache, the gateway's own data source and result
// shaping. Apollo Gateway loads the static supergraph once Apollo Server starts.
import { ApolloGateway } from "@apollo/gateway";
import type { GraphQLSchema } from "graphql";
import { createUpstream, type Logger, type Metrics, type Upstream } from "@pooya/runtime";
import type { ApolloCaches } from "./caches.ts";
import type { EntityCache } from "./entity-cache/entity-cache.ts";
import { SHAPED_LIKE_APOLLO_GATEWAY, installFastResultShaping, useApolloResultShaping } from "./result-shaping.ts";
import type { GatewaySettings } from "./settings.ts";
import { SubgraphDataSource, type SubgraphRequestCounter } from "./subgraph-data-source.ts";
import { forApolloGateway, subgraphsOf } from "./supergraph.ts";

/** Each subgraph's Upstream (keep-alive pool, timeouts, retries, breaker), by name. */
export function connectSubgraphs(
  settings: Pick<GatewaySettings, "supergraphSdl" | "subgraphUrls" | "calls">,
  { log, metrics }: { log: Logger; metrics: Metrics },
): Map<string, Upstream> {
  const upstreams = new Map<string, Upstream>();
  for (const { name, url } of subgraphsOf(settings.supergraphSdl)) {
    const target = settings.subgraphUrls[name] ?? url;
    upstreams.set(name, createUpstream({ ...settings.calls(name, target), log, metrics }));
  }
  return upstreams;
}

export function createSupergraphGateway(
  settings: Pick<GatewaySettings, "supergraphSdl" | "subgraphUrls" | "limits" | "resultShaping">,
  parts: {
    upstreams: Map<string, Upstream>;
    queryPlans: ApolloCaches["queryPlans"];
    subgraphRequests: SubgraphRequestCounter;
    entityCache?: EntityCache;
    log: Logger;
  },
) {
  const { log } = parts;
  // @apollo/gateway otherwise probes cloud metadata endpoints (AWS, GCP, Azure, Alibaba) and
  // exports usage metrics to Apollo. This gateway talks to its subgraphs and nothing else.
  process.env.APOLLO_TELEMETRY_DISABLED = "true";
  if (settings.resultShaping === "apollo") useApolloResultShaping();
  else if (!installFastResultShaping())
    log.warn(
      { expected: SHAPED_LIKE_APOLLO_GATEWAY },
      "@apollo/gateway is not the version gateway/src/result-shaping.ts was written against: Apollo's own (slower) result shaping is used",
    );
  const gateway = new ApolloGateway({
    supergraphSdl: forApolloGateway(settings.supergraphSdl), // authorization: our plugin enforces it
    logger: log,
    queryPlannerConfig: { cache: parts.queryPlans },
    buildService: ({ name, url }) =>
      new SubgraphDataSource(
        name,
        settings.subgraphUrls[name] ?? url ?? "",
        parts.upstreams.get(name)!,
        parts.subgraphRequests,
        log,
        settings.limits.maxSubgraphRequestBytes,
        parts.entityCache,
      ),
  });
  let apiSchema: GraphQLSchema | undefined;
  gateway.onSchemaLoadOrUpdate((loaded) => {
    apiSchema = loaded.apiSchema;
    parts.entityCache?.useSchema(loaded.apiSchema);
  });
  /** The API schema, once Apollo Server has started (and so the supergraph loaded). */
  return { gateway, apiSchema: () => apiSchema! };
}
