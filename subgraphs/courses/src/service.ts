// Wires the courses subgraph together; its descriptor (index.ts) starts it from checked variables.
import { fileURLToPath } from "node:url";
import { HttpError, applyMigrations, createServiceTokenVerifier, requireServiceToken, serveSubgraph, subgraphSettings, type EnvValues, type Logger } from "@pooya/platform";
import { createUsersDirectory } from "@pooya/users/directory";
import { connectCoursesDb } from "./db.ts";
import { createCatalogue } from "./catalogue.ts";
import { createEnrollment } from "./enrollment.ts";
import { createLoaders, type CoursesContext } from "./context.ts";
import { resolvers } from "./resolvers/index.ts";
import { readFeed } from "./outbox.ts";
import { EVENT_FEED_PATH, MAX_FEED_PAGE } from "./feed-contract.ts";
import type { CoursesEnv } from "./env.ts";

export const MIGRATIONS_DIR = fileURLToPath(new URL("../../../prisma/courses/migrations", import.meta.url));

export async function startCoursesService(vars: EnvValues<CoursesEnv>, log: Logger) {
  const settings = subgraphSettings("courses", vars);
  await applyMigrations(settings.databaseUrl, MIGRATIONS_DIR, log);
  const db = connectCoursesDb(settings.databaseUrl, { poolSize: settings.databasePoolSize, log });
  const users = createUsersDirectory({ usersUrl: vars.USERS_URL, secret: settings.serviceSecret, caller: "courses" });
  const catalogue = createCatalogue(db, users);
  const enrollment = createEnrollment(db, users);
  const verifyServiceToken = createServiceTokenVerifier(settings.serviceSecret, "courses");

  return serveSubgraph<CoursesContext>({
    name: "courses",
    settings,
    log,
    schema: new URL("../schema.graphql", import.meta.url),
    resolvers,
    db,
    createContext: (viewer) => ({ viewer, db, catalogue, enrollment, loaders: createLoaders(db) }),
    routes(app) {
      // The outbox as a feed: replicas read events after the last sequence they applied.
      app.get(EVENT_FEED_PATH, { onRequest: requireServiceToken(verifyServiceToken) }, async (request) => {
        const query = request.query as { after?: string; limit?: string };
        const after = query.after ?? "0";
        const limit = Number(query.limit ?? MAX_FEED_PAGE);
        if (!/^\d{1,19}$/.test(after) || !Number.isInteger(limit) || limit < 1 || limit > MAX_FEED_PAGE) {
          throw new HttpError(400, `after must be a sequence number and limit 1..${MAX_FEED_PAGE}`);
        }
        return { events: await readFeed(db, BigInt(after), limit) };
      });
    },
  });
}

export type CoursesService = Awaited<ReturnType<typeof startCoursesService>>;
