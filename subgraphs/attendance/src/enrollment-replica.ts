// The replica of courses' catalogue and enrollments, fed by courses' events (its feed, or
// JetStream with NATS_URL: the same apply code either way). Each event is applied once (the
// inbox) and never over a newer one (each replica row remembers the sequence of the event that
// last wrote it).
import { type Logger, type Metrics, type Upstream } from "@pooya/runtime";
import { withinCallerDeadline, type ServiceIdentity } from "@pooya/identity";
import { asUuid, createEventConsumer, runStatement, type Broker, type EventEnvelope } from "@pooya/events";
import { TRANSACTION_OPTIONS } from "@pooya/subgraph-kit";
import { ENROLLMENT_CHECK_PATH, type EnrollmentCheck } from "@pooya/courses/internal-api";
import { courseEvents } from "@pooya/courses/events";
import type { AttendanceDb, AttendanceTransaction } from "./service.ts";
import { tables } from "./tables.ts";

export const EVENT_SOURCE = "courses";

export interface ReplicaOptions {
  /** The connection to courses (its timeouts and breaker). */
  courses: Upstream;
  broker?: Broker;
  /** attendance's identity: it signs its calls to courses. */
  identity: ServiceIdentity;
  /** How often a feed read that cannot be held open is repeated. */
  pollIntervalMs: number;
  /** How long a request waits in all for the replica to catch up (however many feed pages that takes). */
  catchUpDeadlineMs: number;
  /** How long a request waits for the catch-up before also asking courses directly. */
  directCheckAfterMs: number;
  log: Logger;
  metrics?: Metrics;
}

/** Applies one of courses' events to the replica (other types, CourseClosed too: nothing to do). */
async function applyCourseEvent(tx: AttendanceTransaction, event: EventEnvelope): Promise<void> {
  const sequence = BigInt(event.sequence).toString();
  // A new course, or an edit (its teacher may have changed): the replica row is the course as
  // the event says, unless a newer event already wrote it.
  const created = courseEvents.read(event, "CourseCreated") ?? courseEvents.read(event, "CourseUpdated");
  if (created) {
    await runStatement(
      tx,
      tables
        .insertInto("course_replicas")
        .values({
          course_id: asUuid(created.courseId),
          teacher_id: asUuid(created.teacherId),
          code: created.code,
          last_sequence: sequence,
        })
        .onConflict((oc) =>
          oc
            .column("course_id")
            .doUpdateSet((eb) => ({
              teacher_id: eb.ref("excluded.teacher_id"),
              code: eb.ref("excluded.code"),
              last_sequence: eb.ref("excluded.last_sequence"),
            }))
            .whereRef("course_replicas.last_sequence", "<", "excluded.last_sequence"),
        ),
    );
    return;
  }
  const change = courseEvents.read(event, "StudentEnrolled") ?? courseEvents.read(event, "EnrollmentDropped");
  if (change) {
    const enrolled = event.type === "StudentEnrolled";
    await runStatement(
      tx,
      tables
        .insertInto("enrollment_replicas")
        .values({
          course_id: asUuid(change.courseId),
          student_id: asUuid(change.studentId),
          enrolled,
          last_sequence: sequence,
        })
        .onConflict((oc) =>
          oc
            .columns(["course_id", "student_id"])
            .doUpdateSet((eb) => ({
              enrolled: eb.ref("excluded.enrolled"),
              last_sequence: eb.ref("excluded.last_sequence"),
            }))
            .whereRef("enrollment_replicas.last_sequence", "<", "excluded.last_sequence"),
        ),
    );
  }
}

export function createEnrollmentReplica(db: AttendanceDb, options: ReplicaOptions) {
  const consumer = createEventConsumer<AttendanceTransaction>({
    name: "attendance",
    sources: { [EVENT_SOURCE]: options.courses },
    pool: db.pool,
    transaction: (work) => db.prisma.$transaction(work, TRANSACTION_OPTIONS),
    handle: applyCourseEvent,
    broker: options.broker,
    identity: options.identity,
    pollIntervalMs: options.pollIntervalMs,
    log: options.log,
    metrics: options.metrics,
  });
  const feed = consumer.feed(EVENT_SOURCE);

  return {
    /** Reads courses' feed to its end now (whatever the transport); resolves with the events read. */
    catchUp: feed.catchUp,
    /** Where the pull counter stands: a request notes it when it starts. */
    position: feed.position,
    /**
     * Catch up with everything committed before the request started (at `since`) within the
     * catch-up deadline (less if the request's caller waits less): `fresh`, `behind` (the
     * deadline passed first) or `unreachable` (the pull failed, or courses' breaker is open).
     */
    tryCatchUp: (since: number) => feed.tryCatchUp(since, withinCallerDeadline(options.catchUpDeadlineMs)),
    directCheckAfterMs: options.directCheckAfterMs,
    /**
     * The truth about a course and some students, asked of courses directly (for when the
     * catch-up is slow): a call like any other to courses, ending before the caller gives up.
     */
    checkWithCourses: (courseId: string, studentIds: string[]) =>
      feed.call<EnrollmentCheck>(ENROLLMENT_CHECK_PATH, {
        method: "POST",
        body: { courseId, studentIds },
        idempotent: true,
        timeoutMs: withinCallerDeadline(options.courses.timeoutMs),
      }),
    /** When to ask again about what courses could not confirm: when its breaker may let calls through. */
    retryAfterSeconds: () => options.courses.status().retryAfterSeconds ?? 1,
    start: consumer.start,
    /** Stops receiving in the background (on-demand catch-ups still work); start() resumes. */
    pause: consumer.pause,
    stop: consumer.stop,
    transport: consumer.transport,
    /**
     * How far behind courses the replica is: events not applied here (as of the last answer
     * from courses or the broker), and seconds since it last held everything (0 while it does).
     */
    lag: () => consumer.lag(EVENT_SOURCE),
  };
}

export type EnrollmentReplica = ReturnType<typeof createEnrollmentReplica>;
