// Wires the food subgraph together; main.ts (production) and the test harness both call it.
import { fileURLToPath } from "node:url";
import { applyMigrations, createUsersDirectory, serveSubgraph, type SubgraphServiceConfig } from "@pooya/platform";
import { connectFoodDb } from "./db.ts";
import { createCanteen } from "./canteen.ts";
import { createLoaders, type FoodContext } from "./context.ts";
import { resolvers } from "./resolvers/index.ts";

export const MIGRATIONS_DIR = fileURLToPath(new URL("../../../prisma/food/migrations", import.meta.url));

export interface FoodServiceConfig extends SubgraphServiceConfig {
  usersUrl: string;
}

export async function startFoodService(config: FoodServiceConfig) {
  await applyMigrations(config.databaseUrl, MIGRATIONS_DIR);
  const db = connectFoodDb(config.databaseUrl, { poolSize: config.databasePoolSize });
  const canteen = createCanteen(db, createUsersDirectory({ usersUrl: config.usersUrl, secret: config.serviceSecret, caller: "food" }));

  const service = await serveSubgraph<FoodContext>({
    name: "food",
    config,
    schema: new URL("../schema.graphql", import.meta.url),
    resolvers,
    db,
    createContext: (viewer) => ({ viewer, db, canteen, loaders: createLoaders(db) }),
  });
  return { name: "food" as const, ...service };
}
