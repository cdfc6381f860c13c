// The gateway: a static supergraph, user tokens verified here, identity passed on signed.
import { ApolloGateway, RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from "@apollo/gateway";
import { ApolloServer, type ApolloServerPlugin, type BaseContext } from "@apollo/server";
import type { FetcherResponse } from "@apollo/utils.fetcher";
import { GraphQLError } from "graphql";
import { ApolloArmor } from "@escape.tech/graphql-armor";
import { ApolloServerPluginLandingPageLocalDefault, ApolloServerPluginLandingPageProductionDefault } from "@apollo/server/plugin/landingPage/default";
import {
  IDENTITY_ASSERTION_HEADER, createIdentityAssertionSigner, generateSigningKey, healthRoutes, maskUnexpectedErrors, publicKeySet,
  serveHttp, type CorsOrigins, type SigningKey, type Viewer,
} from "@pooya/platform";
import { createAccessTokenVerifier, type AccessTokenPolicy } from "./access-tokens.ts";

export interface GatewayContext extends BaseContext {
  viewer: Viewer;
  identityAssertion: () => Promise<string>;
}

export interface GatewayConfig {
  port: number;
  host?: string;
  supergraphSdl: string;
  /** Subgraph URLs by name; names not given keep the URL composed into the supergraph. */
  subgraphUrls?: Partial<Record<string, string>>;
  accessTokens: AccessTokenPolicy;
  /** Signs identity assertions; generated per process when not given (assertions live 60 s). */
  signingKey?: SigningKey;
  production?: boolean;
  /** Browser origins allowed to call the API (default: any; the API takes bearer tokens, not cookies). */
  corsOrigins?: CorsOrigins;
}

/** Counts requests the gateway sends to each subgraph (tests assert query plans by it). */
export class SubgraphRequestCounter {
  readonly counts = new Map<string, number>();
  record(name: string) {
    this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
  }
  snapshot(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }
}

class AuthenticatedDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  constructor(private readonly subgraphName: string, url: string, private readonly counter: SubgraphRequestCounter) {
    super({ url });
  }
  override async willSendRequest({ request, context }: GraphQLDataSourceProcessOptions<GatewayContext>) {
    this.counter.record(this.subgraphName);
    // Requests the gateway makes on its own (no incoming request) go as anonymous.
    const assertion = "identityAssertion" in context && context.identityAssertion ? await context.identityAssertion() : undefined;
    if (assertion) request.http?.headers.set(IDENTITY_ASSERTION_HEADER, assertion);
  }

  // A subgraph that cannot be reached is a typed, retryable error for the fields it owns;
  // the rest of the query is still answered.
  override async process(options: GraphQLDataSourceProcessOptions<GatewayContext>) {
    try {
      return await super.process(options);
    } catch (error) {
      if (error instanceof GraphQLError) throw error;
      console.warn(`[gateway] ${this.subgraphName} unreachable: ${(error as Error).message}`);
      throw new GraphQLError(`The ${this.subgraphName} service is unavailable right now; try again shortly.`, {
        extensions: { code: "SERVICE_UNAVAILABLE" },
      });
    }
  }

  // A subgraph answers HTTP 400 for variables its scalars reject (e.g. Date "2026-02-30"): pass
  // that on as the client's BAD_USER_INPUT. Anything else is our fault and gets masked, without
  // the subgraph's URL or body that Apollo's default error would carry.
  override async errorFromResponse(response: FetcherResponse) {
    const body = (await this.parseBody(response).catch(() => undefined)) as { errors?: { message?: string; extensions?: { code?: string } }[] } | undefined;
    const first = body?.errors?.[0];
    if (response.status === 400 && first?.extensions?.code === "BAD_USER_INPUT" && first.message) {
      return new GraphQLError(first.message, { extensions: { code: "BAD_USER_INPUT" } });
    }
    return new GraphQLError(`subgraph ${this.subgraphName} answered HTTP ${response.status}`);
  }
}

export async function startGateway(config: GatewayConfig) {
  const signingKey = config.signingKey ?? (await generateSigningKey());
  const signIdentityAssertion = createIdentityAssertionSigner(signingKey);
  const viewerFromAuthorization = createAccessTokenVerifier(config.accessTokens);
  const subgraphRequests = new SubgraphRequestCounter();

  // @apollo/gateway otherwise probes cloud metadata endpoints (AWS, GCP, Azure, Alibaba) and
  // exports usage metrics to Apollo. This gateway talks to its subgraphs and nothing else.
  process.env.APOLLO_TELEMETRY_DISABLED = "true";
  const gateway = new ApolloGateway({
    supergraphSdl: config.supergraphSdl,
    buildService: ({ name, url }) => new AuthenticatedDataSource(name, config.subgraphUrls?.[name] ?? url ?? "", subgraphRequests),
  });
  // Public endpoint: refuse queries built to exhaust the servers before they are planned.
  const armor = new ApolloArmor({
    maxDepth: { n: 10, ignoreIntrospection: true },
    maxAliases: { n: 30 },
    maxDirectives: { n: 20 },
    maxTokens: { n: 2000 },
    costLimit: { maxCost: 5000 },
    blockFieldSuggestion: { enabled: Boolean(config.production) },
  }).protect();
  const apollo = new ApolloServer<GatewayContext>({
    gateway,
    validationRules: armor.validationRules,
    formatError: maskUnexpectedErrors("gateway"),
    includeStacktraceInErrorResponses: false,
    stopOnTerminationSignals: false, // the process owns shutdown (stopOnSignals), in order
    introspection: !config.production,
    plugins: [
      // graphql-armor is typed against Apollo's CommonJS declarations; the plugins are the same.
      ...(armor.plugins as unknown as ApolloServerPlugin<GatewayContext>[]),
      config.production
        ? ApolloServerPluginLandingPageProductionDefault({ footer: false })
        : ApolloServerPluginLandingPageLocalDefault({ embed: true, footer: false }),
    ],
  });
  await apollo.start();

  const http = await serveHttp({
    apollo,
    port: config.port,
    host: config.host,
    cors: config.corsOrigins ?? "*",
    context: async (request) => {
      const viewer = await viewerFromAuthorization(request.headers.authorization);
      let assertion: Promise<string> | undefined;
      return { viewer, identityAssertion: () => (assertion ??= signIdentityAssertion(viewer)) };
    },
    routes: {
      ...healthRoutes(async () => ({
        supergraph: true, // apollo.start() above resolved only once the supergraph loaded
        usersJwks: await fetch(config.accessTokens.jwksUrl, { signal: AbortSignal.timeout(1_000) }).then((r) => r.ok, () => false),
      })),
      "GET /.well-known/jwks.json": async () => ({ status: 200, body: publicKeySet([signingKey]) }),
    },
  });

  return {
    url: http.url,
    graphqlUrl: `${http.url}/graphql`,
    jwksUrl: `${http.url}/.well-known/jwks.json`,
    subgraphRequests,
    stop: () => http.close(),
  };
}
