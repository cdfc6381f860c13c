// Wires the food subgraph together; its descriptor (index.ts) starts it from checked variables.
import { fileURLToPath } from "node:url";
import { brokerFor, callSettings, callerUrls, createMetrics, createUpstream, applyMigrations, eventSettings, loadServiceIdentity, serveSubgraph, startEventProducer, subgraphSettings, type EnvValues, type Logger } from "@pooya/platform";
import { createUsersDirectory } from "@pooya/users/directory";
import { connectFoodDb } from "./db.ts";
import { createCanteen } from "./canteen.ts";
import { createFoodOutbox } from "./outbox.ts";
import { createLoaders, type FoodContext } from "./context.ts";
import { resolvers } from "./resolvers/index.ts";
import { foodInternalRoutes } from "./internal-routes.ts";
import type { FoodEnv } from "./env.ts";

export const MIGRATIONS_DIR = fileURLToPath(new URL("../../../prisma/food/migrations", import.meta.url));

export async function startFoodService(vars: EnvValues<FoodEnv>, log: Logger) {
  const settings = subgraphSettings("food", vars);
  await applyMigrations(settings.databaseUrl, MIGRATIONS_DIR, log);
  const metrics = createMetrics("food");
  const identity = await loadServiceIdentity("food", vars);
  const users = createUpstream({ ...callSettings(vars, "users", vars.USERS_URL), log, metrics });
  const purchases = metrics.counter("food_purchases_total", "buyMeal calls, by outcome: ok, replayed (same idempotency key) or the error code", ["outcome"] as const);
  const db = connectFoodDb(settings.databaseUrl, { poolSize: settings.databasePoolSize, log });
  const outbox = createFoodOutbox(db);
  const events = eventSettings(vars);
  const broker = brokerFor("food", events, log);
  const producer = startEventProducer({ service: "food", outbox, pool: db.pool, broker, settings: events, log, metrics });
  const canteen = createCanteen(db, outbox, createUsersDirectory({ upstream: users, identity }), { purchase: (outcome) => purchases.inc({ outcome }) });

  return serveSubgraph<FoodContext>({
    name: "food",
    settings,
    log,
    metrics,
    schema: new URL("../schema.graphql", import.meta.url),
    resolvers,
    db,
    identity,
    internalRoutes: foodInternalRoutes,
    callerUrls: callerUrls(foodInternalRoutes, vars),
    createContext: (viewer) => ({ viewer, db, canteen, loaders: createLoaders(db) }),
    routes: (app) => producer.routes(app),
    readinessDetails: () => ({ events: producer.status() }),
    beforeStop: async () => producer.closeFeed(),
    async afterStop() {
      await producer.stop();
      await Promise.all([users.close(), broker?.close()]);
    },
  });
}

export type FoodService = Awaited<ReturnType<typeof startFoodService>>;
