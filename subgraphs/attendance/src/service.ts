// Wires the attendance subgraph together; its descriptor (index.ts) starts it from checked variables.
import { fileURLToPath } from "node:url";
import { applyMigrations, brokerFor, callSettings, callerUrls, createMetrics, createUpstream, eventSettings, loadServiceIdentity, serveSubgraph, startEventProducer, subgraphSettings, type EnvValues, type Logger } from "@pooya/platform";
import { connectAttendanceDb } from "./db.ts";
import { createEnrollmentReplica } from "./enrollment-replica.ts";
import { createAttendance } from "./attendance.ts";
import { createAttendanceOutbox } from "./outbox.ts";
import { createLoaders, type AttendanceContext } from "./context.ts";
import { resolvers } from "./resolvers/index.ts";
import { attendanceInternalRoutes } from "./internal-routes.ts";
import type { AttendanceEnv } from "./env.ts";

export const MIGRATIONS_DIR = fileURLToPath(new URL("../../../prisma/attendance/migrations", import.meta.url));

export async function startAttendanceService(vars: EnvValues<AttendanceEnv>, log: Logger) {
  const settings = subgraphSettings("attendance", vars);
  await applyMigrations(settings.databaseUrl, MIGRATIONS_DIR, log);
  const db = connectAttendanceDb(settings.databaseUrl, { poolSize: settings.databasePoolSize, log });
  const metrics = createMetrics("attendance");
  const identity = await loadServiceIdentity("attendance", vars);
  const courses = createUpstream({ ...callSettings(vars, "courses", vars.COURSES_URL), log, metrics });
  const events = eventSettings(vars);
  const broker = brokerFor("attendance", events, log);
  const outbox = createAttendanceOutbox(db);
  const producer = startEventProducer({ service: "attendance", outbox, pool: db.pool, broker, settings: events, log, metrics });
  const replica = createEnrollmentReplica(db, {
    courses,
    broker,
    identity,
    pollIntervalMs: events.pollIntervalMs,
    catchUpDeadlineMs: vars.ENROLLMENT_CATCH_UP_DEADLINE_MS,
    directCheckAfterMs: vars.ENROLLMENT_DIRECT_CHECK_AFTER_MS,
    log,
    metrics,
  });
  const attendance = createAttendance(db, outbox, replica);
  metrics.gauge("enrollment_replica_lag_events", "Enrollment events in courses' outbox not yet applied by attendance (as of the last answer from courses or the broker)", [] as const, (set) => set({}, replica.lag().events));
  metrics.gauge("enrollment_replica_lag_seconds", "Seconds since the enrollment replica last held every event (0 while it does)", [] as const, (set) => set({}, replica.lag().seconds));

  const service = await serveSubgraph<AttendanceContext>({
    name: "attendance",
    settings,
    log,
    metrics,
    schema: new URL("../schema.graphql", import.meta.url),
    resolvers,
    db,
    identity,
    internalRoutes: attendanceInternalRoutes,
    callerUrls: callerUrls(attendanceInternalRoutes, vars),
    createContext: (viewer) => ({ viewer, db, attendance, replicaPosition: replica.position(), loaders: createLoaders(db) }),
    routes: (app) => producer.routes(app),
    readinessDetails: () => ({ events: { ...producer.status(), consuming: replica.transport() } }),
    async beforeStop() {
      producer.closeFeed();
      await replica.stop();
    },
    async afterStop() {
      await producer.stop();
      await Promise.all([courses.close(), broker?.close()]);
    },
  });
  // Once it listens: the sources verify its reads with the keys it publishes there.
  replica.start();
  return { ...service, replica };
}

export type AttendanceService = Awaited<ReturnType<typeof startAttendanceService>>;
