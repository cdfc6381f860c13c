// Boots one subgraph: schema from its SDL, identity from the gateway's assertion, health routes.
import { ApolloServer } from "@apollo/server";
import { ApolloServerPluginInlineTraceDisabled, ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import { buildSubgraphSchema } from "@apollo/subgraph";
import type { GraphQLResolverMap } from "@apollo/subgraph/dist/schema-helper/resolverMap.js";
import type { DocumentNode } from "graphql";
import { readFileSync } from "node:fs";
import { gql } from "graphql-tag";
import { maskUnexpectedErrors } from "./errors.ts";
import { IDENTITY_ASSERTION_HEADER, createIdentityAssertionVerifier, type Viewer } from "./identity.ts";
import { healthRoutes, serveHttp, type HttpService, type Routes } from "./http.ts";
import type { JSONWebKeySet } from "jose";
import type { SqlStatementCounter } from "./database.ts";

export interface SubgraphOptions<TContext> {
  name: string;
  typeDefs: DocumentNode;
  /** Typed where they are written (generated `Resolvers` from schema.graphql); any resolver map here. */
  resolvers: object;
  port: number;
  host?: string;
  /** Where the gateway publishes the keys that sign identity assertions. */
  gatewayKeys: { jwksUrl: string } | { jwks: JSONWebKeySet };
  /** A fresh context per request, for the verified viewer (DataLoaders live here). */
  createContext: (viewer: Viewer) => TContext;
  checkReady: () => Promise<Record<string, boolean>>;
  routes?: Routes;
}

export function loadSchemaFile(url: URL): DocumentNode {
  return gql(readFileSync(url, "utf8"));
}

export async function startSubgraph<TContext extends { viewer: Viewer }>(options: SubgraphOptions<TContext>): Promise<HttpService> {
  const verifyIdentityAssertion = createIdentityAssertionVerifier(options.gatewayKeys);
  const apollo = new ApolloServer<TContext>({
    schema: buildSubgraphSchema({ typeDefs: options.typeDefs, resolvers: options.resolvers as GraphQLResolverMap<unknown> }),
    formatError: maskUnexpectedErrors(options.name),
    includeStacktraceInErrorResponses: false,
    stopOnTerminationSignals: false, // the process owns shutdown (stopOnSignals), in order
    // No GraphOS here: federated traces (ftv1) would only cost time.
    plugins: [ApolloServerPluginLandingPageDisabled(), ApolloServerPluginInlineTraceDisabled()],
  });
  await apollo.start();
  return serveHttp({
    apollo,
    port: options.port,
    host: options.host,
    context: async (request) => {
      const header = request.headers[IDENTITY_ASSERTION_HEADER];
      const viewer = await verifyIdentityAssertion(Array.isArray(header) ? header[0] : header);
      return options.createContext(viewer);
    },
    routes: {
      ...healthRoutes(async () => ({ schema: true, ...(await options.checkReady()) })),
      ...options.routes,
    },
  });
}

/** What every subgraph service needs from its configuration. */
export interface SubgraphServiceConfig {
  databaseUrl: string;
  /** Connections in the pool (default DATABASE_POOL_SIZE or 10); 1 on embedded Postgres. */
  databasePoolSize?: number;
  port: number;
  host?: string;
  gatewayKeys: { jwksUrl: string } | { jwks: JSONWebKeySet };
  serviceSecret: string;
}

interface ServiceDatabase {
  sqlStatements: SqlStatementCounter;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** Starts a service's subgraph on its config and database; stop() closes both (and `beforeStop` first). */
export async function serveSubgraph<TContext extends { viewer: Viewer }>(options: {
  name: string;
  config: SubgraphServiceConfig;
  schema: URL;
  resolvers: object;
  db: ServiceDatabase;
  createContext: (viewer: Viewer) => TContext;
  routes?: Routes;
  beforeStop?: () => Promise<void>;
}) {
  const { config, db } = options;
  const http = await startSubgraph<TContext>({
    name: options.name,
    typeDefs: loadSchemaFile(options.schema),
    resolvers: options.resolvers,
    port: config.port,
    host: config.host,
    gatewayKeys: config.gatewayKeys,
    createContext: options.createContext,
    checkReady: async () => ({ database: await db.ping() }),
    routes: options.routes,
  });
  return {
    url: http.url,
    graphqlUrl: `${http.url}/graphql`,
    sqlStatements: db.sqlStatements,
    async stop() {
      await options.beforeStop?.();
      await http.close();
      await db.close();
    },
  };
}
