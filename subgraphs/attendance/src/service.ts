// Wires the attendance subgraph together; its descriptor (index.ts) starts it from checked variables.
import { fileURLToPath } from "node:url";
import { applyMigrations, callSettings, createUpstream, serveSubgraph, subgraphSettings, type EnvValues, type Logger } from "@pooya/platform";
import { connectAttendanceDb } from "./db.ts";
import { createEnrollmentReplica } from "./enrollment-replica.ts";
import { createAttendance } from "./attendance.ts";
import { createLoaders, type AttendanceContext } from "./context.ts";
import { resolvers } from "./resolvers/index.ts";
import type { AttendanceEnv } from "./env.ts";

export const MIGRATIONS_DIR = fileURLToPath(new URL("../../../prisma/attendance/migrations", import.meta.url));

export async function startAttendanceService(vars: EnvValues<AttendanceEnv>, log: Logger) {
  const settings = subgraphSettings("attendance", vars);
  await applyMigrations(settings.databaseUrl, MIGRATIONS_DIR, log);
  const db = connectAttendanceDb(settings.databaseUrl, { poolSize: settings.databasePoolSize, log });
  const courses = createUpstream({ ...callSettings(vars, "courses", vars.COURSES_URL), log });
  const replica = createEnrollmentReplica(db, {
    courses,
    serviceSecret: settings.serviceSecret,
    pollIntervalMs: vars.ENROLLMENT_POLL_INTERVAL_MS,
    catchUpDeadlineMs: vars.ENROLLMENT_CATCH_UP_DEADLINE_MS,
    log,
  });
  const attendance = createAttendance(db, replica);
  replica.start();

  const service = await serveSubgraph<AttendanceContext>({
    name: "attendance",
    settings,
    log,
    schema: new URL("../schema.graphql", import.meta.url),
    resolvers,
    db,
    createContext: (viewer) => ({ viewer, db, attendance, replicaPosition: replica.position(), loaders: createLoaders(db) }),
    beforeStop: replica.stop,
    afterStop: courses.close,
  });
  return { ...service, replica };
}

export type AttendanceService = Awaited<ReturnType<typeof startAttendanceService>>;
