// Wires the attendance subgraph together; its descriptor (index.ts) starts it from checked variables.
import { fileURLToPath } from "node:url";
import { applyMigrations, callSettings, createMetrics, createUpstream, serveSubgraph, subgraphSettings, type EnvValues, type Logger } from "@pooya/platform";
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
  const metrics = createMetrics("attendance");
  const courses = createUpstream({ ...callSettings(vars, "courses", vars.COURSES_URL), log, metrics });
  const replica = createEnrollmentReplica(db, {
    courses,
    serviceSecret: settings.serviceSecret,
    pollIntervalMs: vars.ENROLLMENT_POLL_INTERVAL_MS,
    catchUpDeadlineMs: vars.ENROLLMENT_CATCH_UP_DEADLINE_MS,
    log,
  });
  const attendance = createAttendance(db, replica);
  metrics.gauge("enrollment_replica_lag_events", "Enrollment events in courses' outbox not yet applied by attendance (as of courses' last answer)", [] as const, (set) => set({}, replica.lag().events));
  metrics.gauge("enrollment_replica_lag_seconds", "Seconds since the enrollment replica last held every event (0 while it does)", [] as const, (set) => set({}, replica.lag().seconds));
  replica.start();

  const service = await serveSubgraph<AttendanceContext>({
    name: "attendance",
    settings,
    log,
    metrics,
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
