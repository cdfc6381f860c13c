// Wires the attendance subgraph together; main.ts (production) and the test harness both call it.
import { fileURLToPath } from "node:url";
import { applyMigrations, serveSubgraph, type SubgraphServiceConfig } from "@pooya/platform";
import { connectAttendanceDb } from "./db.ts";
import { createEnrollmentReplica } from "./enrollment-replica.ts";
import { createAttendance } from "./attendance.ts";
import { createLoaders, type AttendanceContext } from "./context.ts";
import { resolvers } from "./resolvers/index.ts";

export const MIGRATIONS_DIR = fileURLToPath(new URL("../../../prisma/attendance/migrations", import.meta.url));

export interface AttendanceServiceConfig extends SubgraphServiceConfig {
  coursesUrl: string;
  pollIntervalMs?: number;
  catchUpDeadlineMs?: number;
}

export async function startAttendanceService(config: AttendanceServiceConfig) {
  await applyMigrations(config.databaseUrl, MIGRATIONS_DIR);
  const db = connectAttendanceDb(config.databaseUrl, { poolSize: config.databasePoolSize });
  const replica = createEnrollmentReplica(db, {
    coursesUrl: config.coursesUrl,
    serviceSecret: config.serviceSecret,
    pollIntervalMs: config.pollIntervalMs ?? 1_000,
    catchUpDeadlineMs: config.catchUpDeadlineMs ?? 1_500,
  });
  const attendance = createAttendance(db, replica);
  replica.start();

  const service = await serveSubgraph<AttendanceContext>({
    name: "attendance",
    config,
    schema: new URL("../schema.graphql", import.meta.url),
    resolvers,
    db,
    createContext: (viewer) => ({ viewer, db, attendance, replicaPosition: replica.position(), loaders: createLoaders(db) }),
    beforeStop: replica.stop,
  });
  return { name: "attendance" as const, ...service, replica };
}
