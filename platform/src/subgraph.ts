// Boots one subgraph: schema from its SDL, identity from the gateway's assertion, health routes,
// its own database; stop() closes everything in order.
import { ApolloServer } from "@apollo/server";
import { ApolloServerPluginInlineTraceDisabled, ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import { buildSubgraphSchema } from "@apollo/subgraph";
import type { GraphQLResolverMap } from "@apollo/subgraph/dist/schema-helper/resolverMap.js";
import type { DocumentNode } from "graphql";
import { readFileSync } from "node:fs";
import { gql } from "graphql-tag";
import type { JSONWebKeySet } from "jose";
import { maskUnexpectedErrors } from "./errors.ts";
import { IDENTITY_ASSERTION_HEADER, createIdentityAssertionVerifier, type Viewer } from "./identity.ts";
import { healthRoutes, serveHttp, type Routes } from "./http.ts";
import type { SqlStatementCounter } from "./database.ts";

export function loadSchemaFile(url: URL): DocumentNode {
  return gql(readFileSync(url, "utf8"));
}

/** What every subgraph service needs from its configuration. */
export interface SubgraphServiceConfig {
  databaseUrl: string;
  /** Connections in the pool (default DATABASE_POOL_SIZE or 10); 1 on embedded Postgres. */
  databasePoolSize?: number;
  port: number;
  host?: string;
  /** Where the gateway publishes the keys that sign identity assertions. */
  gatewayKeys: { jwksUrl: string } | { jwks: JSONWebKeySet };
  serviceSecret: string;
}

interface ServiceDatabase {
  sqlStatements: SqlStatementCounter;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export async function serveSubgraph<TContext extends { viewer: Viewer }>(options: {
  name: string;
  config: SubgraphServiceConfig;
  schema: URL;
  /** Typed where they are written (generated `Resolvers` from schema.graphql); any resolver map here. */
  resolvers: object;
  db: ServiceDatabase;
  /** A fresh context per request, for the verified viewer (DataLoaders live here). */
  createContext: (viewer: Viewer) => TContext;
  routes?: Routes;
  beforeStop?: () => Promise<void>;
}) {
  const { config, db } = options;
  const verifyIdentityAssertion = createIdentityAssertionVerifier(config.gatewayKeys);
  const apollo = new ApolloServer<TContext>({
    schema: buildSubgraphSchema({ typeDefs: loadSchemaFile(options.schema), resolvers: options.resolvers as GraphQLResolverMap<unknown> }),
    formatError: maskUnexpectedErrors(options.name),
    includeStacktraceInErrorResponses: false,
    stopOnTerminationSignals: false, // the process owns shutdown (stopOnSignals), in order
    // No GraphOS here: federated traces (ftv1) would only cost time.
    plugins: [ApolloServerPluginLandingPageDisabled(), ApolloServerPluginInlineTraceDisabled()],
  });
  await apollo.start();
  const http = await serveHttp({
    apollo,
    port: config.port,
    host: config.host,
    context: async (request) => {
      const header = request.headers[IDENTITY_ASSERTION_HEADER];
      return options.createContext(await verifyIdentityAssertion(Array.isArray(header) ? header[0] : header));
    },
    routes: {
      ...healthRoutes(async () => ({ schema: true, database: await db.ping() })),
      ...options.routes,
    },
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
