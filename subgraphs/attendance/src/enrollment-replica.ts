// The replica of courses' catalogue and enrollments, fed by courses' outbox feed.
// Each event is applied exactly once (inbox keyed by event id) and never over a newer one
// (each replica row remembers the sequence of the event that last wrote it).
import { TRANSACTION_OPTIONS, createServiceClient, type Logger, type Upstream } from "@pooya/platform";
import { ENROLLMENT_CHECK_PATH, EVENT_FEED_PATH, MAX_FEED_PAGE, type EnrollmentCheck, type FeedEvent, type FeedPage } from "@pooya/courses/internal-api";
import type { AttendanceDb } from "./db.ts";

export const FEED_SOURCE = "courses";
const PAGE_SIZE = MAX_FEED_PAGE;

export interface ReplicaOptions {
  /** The connection to courses (its timeouts and breaker). */
  courses: Upstream;
  serviceSecret: string;
  /** How often the background poller reads the feed. */
  pollIntervalMs: number;
  /** How long a request waits in all for the replica to catch up (however many feed pages that takes). */
  catchUpDeadlineMs: number;
  log: Logger;
}

export function createEnrollmentReplica(db: AttendanceDb, options: ReplicaOptions) {
  const callCourses = createServiceClient({ secret: options.serviceSecret, caller: "attendance", upstream: options.courses });
  // Pulls are numbered as they start. A request that needs fresh data remembers the number at
  // its start; any pull that started later has seen everything committed before the request.
  let pullsStarted = 0;
  let lastCompletedPull = 0;
  let inFlight: { number: number; done: Promise<number> } | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let failures = 0;
  let lastSyncedAt: Date | null = null;

  async function applyEvents(events: FeedEvent[]): Promise<number> {
    let applied = 0;
    await db.prisma.$transaction(async (tx) => {
      for (const event of events) {
        const sequence = BigInt(event.sequence);
        const fresh = await tx.$executeRaw`
          INSERT INTO inbox_events (event_id, sequence, type) VALUES (${event.id}::uuid, ${sequence}, ${event.type})
          ON CONFLICT (event_id) DO NOTHING`;
        if (fresh === 0) continue; // delivered before: already applied
        applied += 1;
        const { courseId, studentId, teacherId, code } = event.payload;
        if (event.type === "CourseCreated" && courseId && teacherId) {
          await tx.$executeRaw`
            INSERT INTO course_replicas (course_id, teacher_id, code, last_sequence) VALUES (${courseId}::uuid, ${teacherId}::uuid, ${code ?? ""}, ${sequence})
            ON CONFLICT (course_id) DO UPDATE SET teacher_id = EXCLUDED.teacher_id, code = EXCLUDED.code, last_sequence = EXCLUDED.last_sequence
            WHERE course_replicas.last_sequence < EXCLUDED.last_sequence`;
        } else if ((event.type === "StudentEnrolled" || event.type === "EnrollmentDropped") && courseId && studentId) {
          const enrolled = event.type === "StudentEnrolled";
          await tx.$executeRaw`
            INSERT INTO enrollment_replicas (course_id, student_id, enrolled, last_sequence) VALUES (${courseId}::uuid, ${studentId}::uuid, ${enrolled}, ${sequence})
            ON CONFLICT (course_id, student_id) DO UPDATE SET enrolled = EXCLUDED.enrolled, last_sequence = EXCLUDED.last_sequence
            WHERE enrollment_replicas.last_sequence < EXCLUDED.last_sequence`;
        } // unknown event types are recorded in the inbox and skipped: newer producers stay compatible
      }
      const last = events.at(-1);
      if (last) {
        await tx.$executeRaw`
          INSERT INTO replication_cursors (source, last_sequence, updated_at) VALUES (${FEED_SOURCE}, ${BigInt(last.sequence)}, now())
          ON CONFLICT (source) DO UPDATE SET last_sequence = GREATEST(replication_cursors.last_sequence, EXCLUDED.last_sequence), updated_at = now()`;
      }
    }, TRANSACTION_OPTIONS);
    return applied;
  }

  async function readCursor(): Promise<bigint> {
    const cursor = await db.prisma.replicationCursor.findUnique({ where: { source: FEED_SOURCE } });
    return cursor?.lastSequence ?? 0n;
  }

  // For the lag: the newest sequence courses reported, the last one applied here, and since when
  // the replica is known to hold everything (null: not in sync, or not known to be).
  let feedHead = 0n;
  let appliedUpTo = 0n;
  let inSyncSince: number | null = null;
  let behindSince = Date.now();

  /** Reads the feed to its end and applies what is new. Returns the number of events applied. */
  async function pull(): Promise<number> {
    let after = await readCursor();
    appliedUpTo = after;
    let applied = 0;
    try {
      for (;;) {
        const page = await callCourses<FeedPage>(`${EVENT_FEED_PATH}?after=${after}&limit=${PAGE_SIZE}`, { idempotent: true });
        if (page.head) feedHead = BigInt(page.head);
        if (page.events.length === 0) break;
        applied += await applyEvents(page.events);
        after = BigInt(page.events.at(-1)!.sequence);
        appliedUpTo = after;
        if (page.events.length < PAGE_SIZE) break;
      }
    } catch (error) {
      if (inSyncSince !== null) behindSince = Date.now();
      inSyncSince = null;
      throw error;
    }
    lastSyncedAt = new Date();
    if (appliedUpTo >= feedHead) inSyncSince ??= Date.now();
    return applied;
  }

  /** One pull at a time; callers that arrive while one runs share the next one. */
  async function catchUp(): Promise<number> {
    const after = pullsStarted;
    while (inFlight && inFlight.number <= after) await inFlight.done.catch(() => undefined);
    if (inFlight) return inFlight.done;
    const number = ++pullsStarted;
    const done = pull()
      .then((applied) => {
        lastCompletedPull = Math.max(lastCompletedPull, number);
        return applied;
      })
      .finally(() => {
        if (inFlight?.number === number) inFlight = undefined;
      });
    inFlight = { number, done };
    return done;
  }

  /** Fresh enough for a request that started when `pullsStarted` was `since`. */
  async function catchUpSince(since: number): Promise<void> {
    if (lastCompletedPull > since) return;
    if (inFlight && inFlight.number > since) {
      await inFlight.done;
      return;
    }
    await catchUp();
  }

  function schedule(delay: number) {
    if (stopped) return;
    timer = setTimeout(() => {
      catchUp().then(
        (applied) => {
          if (failures > 0) options.log.info({ failedPulls: failures, applied }, "enrollment replica in sync again");
          failures = 0;
          schedule(options.pollIntervalMs);
        },
        (error: unknown) => {
          // Courses is down or slow: events wait in its outbox; back off up to 30 s. Logged once per outage.
          if (failures === 0) options.log.warn({ reason: (error as Error).message }, "enrollment replica cannot read the courses feed; retrying with backoff");
          failures += 1;
          schedule(Math.min(30_000, options.pollIntervalMs * 2 ** failures));
        },
      );
    }, delay);
    timer.unref();
  }

  return {
    catchUp,
    /** Where the pull counter stands: a request notes it when it starts. */
    position: () => pullsStarted,
    /**
     * Catch up with everything committed before the request started (at `since`) within the
     * request's deadline, however many feed pages that takes. False when the deadline passed or
     * courses did not answer; the pull goes on in the background either way.
     */
    async tryCatchUp(since: number): Promise<boolean> {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), options.catchUpDeadlineMs)));
      try {
        return await Promise.race([catchUpSince(since).then(() => true, () => false), deadline]);
      } finally {
        clearTimeout(timer);
      }
    },
    /** The truth about a course and some students, asked of courses directly (for when the replica is behind). */
    checkWithCourses: (courseId: string, studentIds: string[]) =>
      callCourses<EnrollmentCheck>(ENROLLMENT_CHECK_PATH, { method: "POST", body: { courseId, studentIds }, idempotent: true }),
    start() {
      stopped = false;
      schedule(0);
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await inFlight?.done.catch(() => undefined);
    },
    status: () => ({ lastSyncedAt, failures }),
    /**
     * How far behind courses the replica is: events in courses' outbox not applied here (as of
     * the last answer from courses), and seconds since it last held everything (0 while it does).
     */
    lag() {
      const events = feedHead > appliedUpTo ? Number(feedHead - appliedUpTo) : 0;
      const seconds = inSyncSince !== null && events === 0 ? 0 : (Date.now() - behindSince) / 1000;
      return { events, seconds };
    },
  };
}

export type EnrollmentReplica = ReturnType<typeof createEnrollmentReplica>;
