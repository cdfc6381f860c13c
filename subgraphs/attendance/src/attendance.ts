// Marking attendance and reading it back, authorised against the enrollment replica.
import { setTimeout as delay } from "node:timers/promises";
import { badUserInput, domainError, forbidden, notFound } from "@pooya/runtime";
import { type Viewer } from "@pooya/identity";
import { formatDay, isUuid } from "@pooya/subgraph-kit";
import { asUuid, asUuids, runQuery, runStatement, sql } from "@pooya/events";
import type { AttendanceDb, AttendanceOutbox } from "./service.ts";
import type { EnrollmentReplica } from "./enrollment-replica.ts";
import { attendanceEvents } from "./events.ts";
import { tables } from "./tables.ts";
import type { AttendanceRecord, AttendanceStatus, CourseReplica } from "./generated/prisma/client.ts";

export interface MarkAttendanceInput {
  courseId: string;
  studentId: string;
  date: Date;
  status: AttendanceStatus;
}

export interface MarkCourseAttendanceInput {
  courseId: string;
  date: Date;
  marks: { studentId: string; status: AttendanceStatus }[];
}

export const MAX_ROLL_CALL = 500;

const DAY_MS = 24 * 3600 * 1000;

/** The first of `answers` to resolve with facts; null when none does (a failed one counts as none). */
function firstCertain(answers: Promise<Facts | null>[]): Promise<Facts | null> {
  return new Promise((resolve) => {
    let pending = answers.length;
    const settle = (facts: Facts | null) => {
      if (facts) resolve(facts);
      else if (--pending === 0) resolve(null);
    };
    for (const answer of answers) void answer.then(settle, () => settle(null));
  });
}

function refuseFutureDay(date: Date) {
  if (date.getTime() > Date.now() + DAY_MS) {
    throw domainError("BAD_USER_INPUT", "Attendance cannot be marked for a future day.", { field: "date" });
  }
}

/** A course as a decision needs it: who teaches it (and its code, for the events). */
type CourseFacts = Pick<CourseReplica, "courseId" | "teacherId" | "code">;

/** What a decision rests on: the course and who is enrolled, and what could not be confirmed (courses unreachable). */
interface Facts {
  course: CourseFacts | null;
  enrolled: Set<string>;
  /** The course is not in the replica and courses could not be asked: neither NOT_FOUND nor found. */
  courseUnknown: boolean;
  /** Students with no enrollment row in the replica, and courses could not be asked. */
  unknownStudents: string[];
}

export function createAttendance(db: AttendanceDb, outbox: AttendanceOutbox, replica: EnrollmentReplica) {
  const findCourse = (courseId: string): Promise<CourseFacts | null> =>
    isUuid(courseId)
      ? db.prisma.courseReplica.findUnique({
          where: { courseId },
          select: { courseId: true, teacherId: true, code: true },
        })
      : Promise.resolve(null);

  /** AttendanceMarked for each record written, with the status it replaced. */
  const markedEvents = (
    course: CourseFacts,
    records: { record: AttendanceRecord; previousStatus: AttendanceStatus | null }[],
  ) =>
    records.map(({ record, previousStatus }) =>
      attendanceEvents.create("AttendanceMarked", {
        recordId: record.id,
        courseId: course.courseId,
        courseCode: course.code,
        studentId: record.studentId,
        date: formatDay(record.date),
        status: record.status,
        previousStatus,
        markedBy: record.markedById,
      }),
    );

  /** What the replica holds: the course (null: unknown to it) and, of these students, who is enrolled and who dropped. */
  async function fromReplica(courseId: string, studentIds: string[]): Promise<Facts> {
    const course = await findCourse(courseId);
    const rows = studentIds.length
      ? await db.prisma.enrollmentReplica.findMany({
          where: { courseId, studentId: { in: studentIds.filter(isUuid) } },
          select: { studentId: true, enrolled: true },
        })
      : [];
    const enrolled = new Set(rows.filter((r) => r.enrolled).map((r) => r.studentId));
    const known = new Set(rows.map((r) => r.studentId));
    // A malformed id can never be enrolled: the replica knows that much.
    const unknown = studentIds.filter((id) => isUuid(id) && !known.has(id));
    return { course, enrolled, courseUnknown: !course, unknownStudents: unknown };
  }

  /** Facts that are the truth as of the request (after a catch-up, or courses' own answer): nothing left unknown. */
  const certain = (course: CourseFacts | null, enrolled: Iterable<string>): Facts => ({
    course,
    enrolled: new Set(enrolled),
    courseUnknown: false,
    unknownStudents: [],
  });

  /**
   * What a request decides on (see docs/enrollment-sync.md). Replica first: a course it holds
   * with the viewer as its teacher (or a STAFF viewer) and students it holds as enrolled are
   * trusted as they are, without asking courses. Only what it cannot know yet — a course or
   * enrollment newer than its cursor, a re-enrollment after a drop it holds, or a course given
   * to this teacher since (CourseUpdated) — sends the request to courses: a catch-up
   * with everything committed before the request started (`since`) within the deadline and,
   * when that is not over within `directCheckAfterMs`, courses' direct answer as well: the first
   * certain answer decides (a long backlog, or a busy courses serving it, does not make the mark
   * wait for it). When courses cannot be asked (down, or its breaker open), the replica's answer
   * stands where it has one; the rest stays unknown.
   */
  async function facts(
    viewer: NonNullable<Viewer>,
    courseId: string,
    studentIds: string[],
    since: number,
  ): Promise<Facts> {
    if (!isUuid(courseId)) return certain(null, []);
    const local = await fromReplica(courseId, studentIds);
    if (local.course && mayManage(viewer, local.course) && studentIds.every((id) => local.enrolled.has(id)))
      return local;
    const caughtUp = replica.tryCatchUp(since).then(async (outcome) => {
      if (outcome !== "fresh") return null;
      const fresh = await fromReplica(courseId, studentIds);
      return certain(fresh.course, fresh.enrolled);
    });
    const quick = await Promise.race([
      caughtUp,
      delay(replica.directCheckAfterMs, undefined, { ref: false }).then(() => undefined),
    ]);
    if (quick) return quick;
    // Courses down or its breaker open: the direct question fails at once too.
    const direct = replica
      .checkWithCourses(courseId, studentIds.filter(isUuid))
      .then((answer) => certain(answer.course, answer.enrolledStudentIds))
      .catch(() => null);
    return (await firstCertain([caughtUp, direct])) ?? local;
  }

  /** Courses could not be asked about what the replica does not know: retryable, never a guess. */
  const cannotTellYet = (what: string, extensions: Record<string, unknown> = {}) =>
    domainError(
      "SERVICE_UNAVAILABLE",
      `${what} The courses service cannot be reached to confirm it; try again shortly.`,
      {
        ...extensions,
        retryAfterSeconds: replica.retryAfterSeconds(),
      },
    );

  /** Throws the typed error when any of `studentIds` may not be marked (or cannot be confirmed now). */
  function requireEnrolled(studentIds: string[], facts: Facts): void {
    // What the replica knows is said first: a known drop is NOT_ENROLLED even while others are unknown.
    const unknown = new Set(facts.unknownStudents);
    const notEnrolled = studentIds.filter((id) => !facts.enrolled.has(id) && !unknown.has(id));
    if (notEnrolled.length) {
      if (studentIds.length === 1) throw domainError("NOT_ENROLLED", "This student is not enrolled in the course.");
      throw domainError("NOT_ENROLLED", `${notEnrolled.length} of these students are not enrolled in the course.`, {
        studentIds: notEnrolled,
      });
    }
    if (unknown.size) {
      if (studentIds.length === 1)
        throw cannotTellYet("This student's enrollment is newer than attendance's copy of it.");
      throw cannotTellYet(`${unknown.size} of these students' enrollments are newer than attendance's copy of them.`, {
        studentIds: [...unknown],
      });
    }
  }

  function mayManage(viewer: NonNullable<Viewer>, course: CourseFacts): boolean {
    return viewer.role === "STAFF" || (viewer.role === "TEACHER" && viewer.userId === course.teacherId);
  }

  function requireManagedCourse(
    viewer: NonNullable<Viewer>,
    courseId: string,
    { course, courseUnknown }: Pick<Facts, "course" | "courseUnknown">,
  ): CourseFacts {
    if (!course && courseUnknown) throw cannotTellYet("This course is newer than attendance's copy of the catalogue.");
    if (!course) throw notFound("Course", courseId);
    if (!mayManage(viewer, course)) throw forbidden("Only the course's teacher or staff can do this.");
    return course;
  }

  return {
    /** `since`: the replica position when the request started (read-your-writes, see docs/enrollment-sync.md). */
    async mark(viewer: NonNullable<Viewer>, input: MarkAttendanceInput, since: number) {
      const known = await facts(viewer, input.courseId, [input.studentId], since);
      const course = requireManagedCourse(viewer, input.courseId, known);
      refuseFutureDay(input.date);
      requireEnrolled([input.studentId], known);
      return outbox.transaction(async (tx, emit) => {
        const key = {
          courseId_studentId_date: { courseId: course.courseId, studentId: input.studentId, date: input.date },
        };
        const previous = await tx.attendanceRecord.findUnique({ where: key, select: { status: true } });
        const record = await tx.attendanceRecord.upsert({
          where: key,
          create: {
            courseId: course.courseId,
            studentId: input.studentId,
            date: input.date,
            status: input.status,
            markedById: viewer.userId,
          },
          update: { status: input.status, markedById: viewer.userId, markedAt: new Date() },
        });
        emit(markedEvents(course, [{ record, previousStatus: previous?.status ?? null }]));
        return record;
      });
    },

    async markMany(viewer: NonNullable<Viewer>, input: MarkCourseAttendanceInput, since: number) {
      const { marks } = input;
      if (marks.length < 1 || marks.length > MAX_ROLL_CALL)
        throw badUserInput(`marks must hold 1 to ${MAX_ROLL_CALL} entries.`, "marks");
      const studentIds = marks.map((m) => m.studentId);
      if (new Set(studentIds).size !== studentIds.length)
        throw badUserInput("Each student can be marked once per roll call.", "marks");
      const known = await facts(viewer, input.courseId, studentIds, since);
      const course = requireManagedCourse(viewer, input.courseId, known);
      refuseFutureDay(input.date);
      requireEnrolled(studentIds, known);
      return outbox.transaction(async (tx, emit) => {
        // The day's marks there already (locked: a concurrent roll call waits), then one
        // statement for the whole class: insert, or update them.
        const day = sql<Date>`${formatDay(input.date)}::date`;
        const previous = await runQuery(
          tx,
          tables
            .selectFrom("attendance_records")
            .select((eb) => [
              eb.cast<string>("student_id", "text").as("student_id"),
              eb.cast<AttendanceStatus>("status", "text").as("status"),
            ])
            .where("course_id", "=", asUuid(course.courseId))
            .where("date", "=", day)
            .where((eb) => eb("student_id", "=", eb.fn.any(asUuids(studentIds))))
            .forUpdate(),
        );
        await runStatement(
          tx,
          tables
            .insertInto("attendance_records")
            .columns(["id", "course_id", "student_id", "date", "status", "marked_by_id", "marked_at"])
            .expression(
              tables
                .selectFrom(
                  sql<{
                    student_id: string;
                    status: string;
                  }>`unnest(${asUuids(studentIds)}, ${marks.map((m) => m.status)}::text[])`.as<"m">(
                    sql`m(student_id, status)`,
                  ),
                )
                .select((eb) => [
                  sql<string>`gen_random_uuid()`.as("id"),
                  asUuid(course.courseId).as("course_id"),
                  "m.student_id",
                  day.as("date"),
                  sql<AttendanceStatus>`${eb.ref("m.status")}::"AttendanceStatus"`.as("status"),
                  asUuid(viewer.userId).as("marked_by_id"),
                  sql<Date>`now()`.as("marked_at"),
                ]),
            )
            .onConflict((oc) =>
              oc.columns(["course_id", "student_id", "date"]).doUpdateSet((eb) => ({
                status: eb.ref("excluded.status"),
                marked_by_id: eb.ref("excluded.marked_by_id"),
                marked_at: eb.ref("excluded.marked_at"),
              })),
            ),
        );
        const records = await tx.attendanceRecord.findMany({
          where: { courseId: course.courseId, date: input.date, studentId: { in: studentIds } },
        });
        const byStudent = new Map(records.map((r) => [r.studentId, r]));
        const before = new Map(previous.map((p) => [p.student_id, p.status]));
        const written = studentIds.map((id) => byStudent.get(id)!);
        emit(
          markedEvents(
            course,
            written.map((record) => ({ record, previousStatus: before.get(record.studentId) ?? null })),
          ),
        );
        return written;
      });
    },

    async ofCourseOnDay(viewer: NonNullable<Viewer>, courseId: string, date: Date, since: number) {
      // Fresh facts only for a course the replica does not know yet, or one it says this teacher does not teach.
      const course = requireManagedCourse(viewer, courseId, await facts(viewer, courseId, [], since));
      return db.prisma.attendanceRecord.findMany({
        where: { courseId: course.courseId, date },
        orderBy: [{ markedAt: "asc" }, { id: "asc" }],
      });
    },
  };
}

export type Attendance = ReturnType<typeof createAttendance>;
