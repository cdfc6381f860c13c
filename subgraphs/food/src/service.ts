// Wires the food subgraph together; main.ts (production) and the test harness both call it.
import { fileURLToPath } from "node:url";
import { applyMigrations, createUsersDirectory, loadSchemaFile, startSubgraph, type SubgraphOptions } from "@pooya/platform";
import { connectFoodDb } from "./db.ts";
import { createCanteen } from "./canteen.ts";
import { createLoaders, type FoodContext } from "./context.ts";
import { resolvers } from "./resolvers/index.ts";

export const MIGRATIONS_DIR = fileURLToPath(new URL("../../../prisma/food/migrations", import.meta.url));

export interface FoodServiceConfig {
  databaseUrl: string;
  /** Connections in the pool (default DATABASE_POOL_SIZE or 10); 1 on embedded Postgres. */
  databasePoolSize?: number;
  port: number;
  host?: string;
  gatewayKeys: SubgraphOptions<FoodContext>["gatewayKeys"];
  serviceSecret: string;
  usersUrl: string;
}

export async function startFoodService(config: FoodServiceConfig) {
  await applyMigrations(config.databaseUrl, MIGRATIONS_DIR);
  const db = connectFoodDb(config.databaseUrl, { poolSize: config.databasePoolSize });
  const canteen = createCanteen(db, createUsersDirectory({ usersUrl: config.usersUrl, secret: config.serviceSecret, caller: "food" }));

  const http = await startSubgraph<FoodContext>({
    name: "food",
    typeDefs: loadSchemaFile(new URL("../schema.graphql", import.meta.url)),
    resolvers,
    port: config.port,
    host: config.host,
    gatewayKeys: config.gatewayKeys,
    createContext: (viewer) => ({ viewer, db, canteen, loaders: createLoaders(db) }),
    checkReady: async () => ({ database: await db.ping() }),
  });

  return {
    name: "food" as const,
    url: http.url,
    graphqlUrl: `${http.url}/graphql`,
    sqlStatements: db.sqlStatements,
    async stop() {
      await http.close();
      await db.close();
    },
  };
}
