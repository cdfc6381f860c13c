// Wires the courses subgraph together; main.ts (production) and the test harness both call it.
import { fileURLToPath } from "node:url";
import { HttpError, applyMigrations, createServiceTokenVerifier, createUsersDirectory, serveSubgraph, serviceRoute, type SubgraphServiceConfig } from "@pooya/platform";
import { connectCoursesDb } from "./db.ts";
import { createCatalogue } from "./catalogue.ts";
import { createEnrollment } from "./enrollment.ts";
import { createLoaders, type CoursesContext } from "./context.ts";
import { resolvers } from "./resolvers/index.ts";
import { readFeed } from "./outbox.ts";

export const MIGRATIONS_DIR = fileURLToPath(new URL("../../../prisma/courses/migrations", import.meta.url));
const MAX_FEED_PAGE = 500;

export interface CoursesServiceConfig extends SubgraphServiceConfig {
  usersUrl: string;
}

export async function startCoursesService(config: CoursesServiceConfig) {
  await applyMigrations(config.databaseUrl, MIGRATIONS_DIR);
  const db = connectCoursesDb(config.databaseUrl, { poolSize: config.databasePoolSize });
  const users = createUsersDirectory({ usersUrl: config.usersUrl, secret: config.serviceSecret, caller: "courses" });
  const catalogue = createCatalogue(db, users);
  const enrollment = createEnrollment(db, users);
  const verifyServiceToken = createServiceTokenVerifier(config.serviceSecret, "courses", ["attendance"]);

  const service = await serveSubgraph<CoursesContext>({
    name: "courses",
    config,
    schema: new URL("../schema.graphql", import.meta.url),
    resolvers,
    db,
    createContext: (viewer) => ({ viewer, db, catalogue, enrollment, loaders: createLoaders(db) }),
    routes: {
      // The outbox as a feed: replicas read events after the last sequence they applied.
      "GET /internal/events": serviceRoute(verifyServiceToken, async (request) => {
        const url = new URL(request.url ?? "/", "http://localhost");
        const after = url.searchParams.get("after") ?? "0";
        const limit = Number(url.searchParams.get("limit") ?? MAX_FEED_PAGE);
        if (!/^\d{1,19}$/.test(after) || !Number.isInteger(limit) || limit < 1 || limit > MAX_FEED_PAGE) {
          throw new HttpError(400, `after must be a sequence number and limit 1..${MAX_FEED_PAGE}`);
        }
        return { status: 200, body: { events: await readFeed(db, BigInt(after), limit) } };
      }),
    },
  });
  return { name: "courses" as const, ...service };
}
