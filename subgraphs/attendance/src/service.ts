// Wires the attendance domain into the subgraph kit (the definition is index.ts).
import { type Outbox } from "@pooya/events";
import { wireSubgraph, type DatabaseOf, type TransactionOf } from "@pooya/subgraph-kit";
import { PrismaClient } from "./generated/prisma/client.ts";
import { createEnrollmentReplica } from "./enrollment-replica.ts";
import { createAttendance } from "./attendance.ts";
import { createLoaders, type AttendanceContext } from "./context.ts";
import { resolvers } from "./resolvers/index.ts";
import { policies } from "./resolvers/policies.ts";
import { attendanceEnv } from "./env.ts";

export type AttendanceDb = DatabaseOf<typeof PrismaClient>;
export type AttendanceTransaction = TransactionOf<AttendanceDb>;
export type AttendanceOutbox = Outbox<AttendanceTransaction>;

export default wireSubgraph(
  { client: PrismaClient, resolvers, policies, env: attendanceEnv },
  ({ vars, db, outbox, identity, upstream, broker, events, log, metrics }) => {
    const replica = createEnrollmentReplica(db, {
      courses: upstream("courses"),
      broker,
      identity,
      pollIntervalMs: events.pollIntervalMs,
      catchUpDeadlineMs: vars.ENROLLMENT_CATCH_UP_DEADLINE_MS,
      directCheckAfterMs: vars.ENROLLMENT_DIRECT_CHECK_AFTER_MS,
      log,
      metrics,
    });
    const attendance = createAttendance(db, outbox, replica);
    metrics.gauge(
      "enrollment_replica_lag_events",
      "Enrollment events in courses' outbox not yet applied by attendance (as of the last answer from courses or the broker)",
      [] as const,
      (set) => set({}, replica.lag().events),
    );
    metrics.gauge(
      "enrollment_replica_lag_seconds",
      "Seconds since the enrollment replica last held every event (0 while it does)",
      [] as const,
      (set) => set({}, replica.lag().seconds),
    );
    return {
      context: ({ viewer }): AttendanceContext => ({
        viewer,
        db,
        attendance,
        replicaPosition: replica.position(),
        loaders: createLoaders(db),
      }),
      readiness: () => ({ events: { consuming: replica.transport() } }),
      // Once it listens: courses verifies its reads with the keys it publishes there.
      listening({ onStop }) {
        replica.start();
        onStop("enrollment replica", () => replica.stop());
      },
      expose: () => ({ replica }),
    };
  },
);
