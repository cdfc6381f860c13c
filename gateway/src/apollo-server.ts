// Apollo Server in front of Apollo Gateway: what a query may be (size, depth, aliases, cost,
// argument values, trusted documents are checked before it), per-client limits, errors masked,
// metrics, and the landing page (Sandbox, or Apollo's production page).
import { ApolloServer, type ApolloServerPlugin } from "@apollo/server";
import type { ApolloGateway } from "@apollo/gateway";
import { ApolloArmor } from "@escape.tech/graphql-armor";
import type { GraphQLFormattedError } from "graphql";
import {
  graphqlMetricsPlugin,
  maskUnexpectedErrors,
  operationCounter,
  requestShapePlugin,
  retryAfterPlugin,
  setSubscriptionsHint,
  type Logger,
  type Metrics,
  type RateLimit,
} from "@pooya/runtime";
import { authorizationPlugin } from "./authorization.ts";
import { cachePolicyPlugin } from "./cache-policy.ts";
import type { ApolloCaches } from "./caches.ts";
import { clientLimitsPlugin, tooManyRequestsStatusPlugin } from "./client-limits.ts";
import type { GatewayContext } from "./context.ts";
import { staleDataPlugin } from "./entity-cache/entity-cache.ts";
import { costAccounting, demandControlPlugin, demandDirectivesOf, maxAliasLengthRule } from "./demand-control.ts";
import { graphqlResponseStatusPlugin } from "./graphql-response-status.ts";
import { landingPagePlugin, type Explorer } from "./landing-page.ts";
import type { GatewaySettings } from "./settings.ts";
import { valueLimitsPlugin } from "./value-limits.ts";

/** Longest query the gateway parses, in tokens: refused as GRAPHQL_PARSE_FAILED before any work. */
export const MAX_QUERY_TOKENS = 2000;

/** A subgraph's unexpected error reaches the gateway already masked and logged by that subgraph. */
const fromSubgraph = (formatted: GraphQLFormattedError) => typeof formatted.extensions?.serviceName === "string";

/**
 * Public endpoint: refuse queries built to exhaust the servers before they are planned. The
 * token limit is Apollo Server's own (parseOptions), which answers 400 like any syntax error.
 * The validation rules apply to subscriptions over WebSocket too.
 */
function queryProtection(settings: Pick<GatewaySettings, "production" | "limits">) {
  const armor = new ApolloArmor({
    maxDepth: { n: 10, ignoreIntrospection: true },
    maxDirectives: { n: 20 },
    maxTokens: { enabled: false },
    costLimit: { enabled: false }, // replaced by demand control, which reads @cost and @listSize
    maxAliases: { n: 30 },
    blockFieldSuggestion: { enabled: settings.production },
  }).protect();
  return {
    validationRules: [...armor.validationRules, maxAliasLengthRule(settings.limits.maxAliasLength)],
    // graphql-armor is typed against Apollo's CommonJS declarations; the plugins are the same.
    plugins: armor.plugins as unknown as ApolloServerPlugin<GatewayContext>[],
  };
}

/** Apollo Server, not started yet; `validationRules` and `formatError` serve subscriptions too. */
export function createApolloServer(
  settings: Pick<GatewaySettings, "production" | "limits" | "supergraphSdl" | "authorizationAtGateway">,
  parts: {
    gateway: ApolloGateway;
    caches: Pick<ApolloCaches, "documentStore" | "persistedQueries">;
    clientLimits: Record<string, RateLimit>;
    explorer: Explorer;
    metrics: Metrics;
    log: Logger;
  },
) {
  const { log, explorer } = parts;
  setSubscriptionsHint(
    "Subscriptions are served over WebSocket at this same URL (protocol graphql-transport-ws, access token in connection_init), not over HTTP POST or GET.",
  );
  const protection = queryProtection(settings);
  const formatError = maskUnexpectedErrors({ log, production: settings.production, loggedElsewhere: fromSubgraph });
  // Shared with the compiled operations' path (compiled-operations.ts), which answers without Apollo Server.
  const cost = costAccounting(settings.limits, {
    directives: demandDirectivesOf(settings.supergraphSdl),
    metrics: parts.metrics,
    log,
  });
  const countOperation = operationCounter(parts.metrics);
  const apollo = new ApolloServer<GatewayContext>({
    gateway: parts.gateway,
    logger: log,
    documentStore: parts.caches.documentStore,
    cache: parts.caches.persistedQueries,
    parseOptions: { maxTokens: MAX_QUERY_TOKENS },
    validationRules: protection.validationRules,
    formatError,
    includeStacktraceInErrorResponses: false,
    // Compact JSON (Apollo pretty-prints by default: 7 % of the gateway's time on big answers).
    stringifyResult: (value) => JSON.stringify(value),
    hideSchemaDetailsFromClientErrors: settings.production,
    stopOnTerminationSignals: false, // the process owns shutdown, in order
    introspection: explorer.enabled,
    plugins: [
      requestShapePlugin<GatewayContext>(),
      ...(settings.authorizationAtGateway === false
        ? []
        : [
            authorizationPlugin<GatewayContext>({
              supergraphSdl: settings.supergraphSdl,
              metrics: parts.metrics,
              viewerOf: (c) => c.viewer,
            }),
          ]),
      valueLimitsPlugin<GatewayContext>(settings.limits),
      demandControlPlugin<GatewayContext>(cost),
      clientLimitsPlugin<GatewayContext>(parts.clientLimits),
      retryAfterPlugin<GatewayContext>(),
      tooManyRequestsStatusPlugin<GatewayContext>(),
      graphqlResponseStatusPlugin<GatewayContext>(),
      staleDataPlugin(), // says so when the entity cache served fields past their max-age
      cachePolicyPlugin<GatewayContext>(settings.supergraphSdl), // Cache-Control of GET answers
      graphqlMetricsPlugin<GatewayContext>(parts.metrics, countOperation),
      ...protection.plugins,
      landingPagePlugin<GatewayContext>(explorer),
    ],
  });
  return { apollo, validationRules: protection.validationRules, formatError, cost, countOperation };
}
