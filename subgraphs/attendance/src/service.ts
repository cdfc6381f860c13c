// Wires the attendance subgraph together; main.ts (production) and the test harness both call it.
import { fileURLToPath } from "node:url";
import { applyMigrations, loadSchemaFile, startSubgraph, type SubgraphOptions } from "@pooya/platform";
import { connectAttendanceDb } from "./db.ts";
import { createEnrollmentReplica } from "./enrollment-replica.ts";
import { createAttendance } from "./attendance.ts";
import { createLoaders, type AttendanceContext } from "./context.ts";
import { resolvers } from "./resolvers/index.ts";

export const MIGRATIONS_DIR = fileURLToPath(new URL("../../../prisma/attendance/migrations", import.meta.url));

export interface AttendanceServiceConfig {
  databaseUrl: string;
  /** Connections in the pool (default DATABASE_POOL_SIZE or 10); 1 on embedded Postgres. */
  databasePoolSize?: number;
  port: number;
  host?: string;
  gatewayKeys: SubgraphOptions<AttendanceContext>["gatewayKeys"];
  serviceSecret: string;
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

  const http = await startSubgraph<AttendanceContext>({
    name: "attendance",
    typeDefs: loadSchemaFile(new URL("../schema.graphql", import.meta.url)),
    resolvers,
    port: config.port,
    host: config.host,
    gatewayKeys: config.gatewayKeys,
    createContext: (viewer) => ({ viewer, db, attendance, replicaPosition: replica.position(), loaders: createLoaders(db) }),
    checkReady: async () => ({ database: await db.ping() }),
  });

  return {
    name: "attendance" as const,
    url: http.url,
    graphqlUrl: `${http.url}/graphql`,
    sqlStatements: db.sqlStatements,
    replica,
    async stop() {
      await replica.stop();
      await http.close();
      await db.close();
    },
  };
}
