// Marking attendance and reading it back, authorised against the enrollment replica.
import { badUserInput, domainError, forbidden, formatDay, isUuid, notFound, type Viewer } from "@pooya/platform";
import type { AttendanceDb } from "./db.ts";
import type { EnrollmentReplica } from "./enrollment-replica.ts";
import type { AttendanceOutbox } from "./outbox.ts";
import { attendanceEvents } from "./events.ts";
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

function refuseFutureDay(date: Date) {
  if (date.getTime() > Date.now() + DAY_MS) {
    throw domainError("BAD_USER_INPUT", "Attendance cannot be marked for a future day.", { field: "date" });
  }
}

/** A course as a decision needs it: who teaches it (and its code, for the events). */
type CourseFacts = Pick<CourseReplica, "courseId" | "teacherId" | "code">;

export function createAttendance(db: AttendanceDb, outbox: AttendanceOutbox, replica: EnrollmentReplica) {
  const findCourse = (courseId: string): Promise<CourseFacts | null> =>
    isUuid(courseId) ? db.prisma.courseReplica.findUnique({ where: { courseId }, select: { courseId: true, teacherId: true, code: true } }) : Promise.resolve(null);

  /** AttendanceMarked for each record written, with the status it replaced. */
  const markedEvents = (course: CourseFacts, records: { record: AttendanceRecord; previousStatus: AttendanceStatus | null }[]) =>
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

  async function enrolledInReplica(courseId: string, studentIds: string[]): Promise<Set<string>> {
    const rows = await db.prisma.enrollmentReplica.findMany({
      where: { courseId, studentId: { in: studentIds.filter(isUuid) }, enrolled: true },
      select: { studentId: true },
    });
    return new Set(rows.map((r) => r.studentId));
  }

  /**
   * What a request decides on (see docs/enrollment-sync.md): the replica, once it has caught up
   * with everything committed before the request started (`since`); if it cannot within the
   * deadline, courses' own answer; if courses does not answer either, the replica as it is.
   */
  async function facts(courseId: string, studentIds: string[], since: number): Promise<{ course: CourseFacts | null; enrolled: Set<string> }> {
    if (!isUuid(courseId)) return { course: null, enrolled: new Set() };
    if (!(await replica.tryCatchUp(since))) {
      const fresh = await replica.checkWithCourses(courseId, studentIds.filter(isUuid)).catch(() => null);
      if (fresh) return { course: fresh.course, enrolled: new Set(fresh.enrolledStudentIds) };
    }
    const course = await findCourse(courseId);
    return { course, enrolled: course ? await enrolledInReplica(courseId, studentIds) : new Set() };
  }

  function mayManage(viewer: NonNullable<Viewer>, course: CourseFacts): boolean {
    return viewer.role === "STAFF" || (viewer.role === "TEACHER" && viewer.userId === course.teacherId);
  }

  function requireManager(viewer: NonNullable<Viewer>): void {
    if (viewer.role === "STUDENT") throw forbidden("Only the course's teacher or staff can do this.");
  }

  function requireManagedCourse(viewer: NonNullable<Viewer>, courseId: string, course: CourseFacts | null): CourseFacts {
    if (!course) throw notFound("Course", courseId);
    if (!mayManage(viewer, course)) throw forbidden("Only the course's teacher or staff can do this.");
    return course;
  }

  return {
    /** `since`: the replica position when the request started (read-your-writes, see docs/enrollment-sync.md). */
    async mark(viewer: NonNullable<Viewer>, input: MarkAttendanceInput, since: number) {
      requireManager(viewer);
      const { course: found, enrolled } = await facts(input.courseId, [input.studentId], since);
      const course = requireManagedCourse(viewer, input.courseId, found);
      refuseFutureDay(input.date);
      if (!enrolled.has(input.studentId)) throw domainError("NOT_ENROLLED", "This student is not enrolled in the course.");
      return outbox.transaction(async (tx, emit) => {
        const key = { courseId_studentId_date: { courseId: course.courseId, studentId: input.studentId, date: input.date } };
        const previous = await tx.attendanceRecord.findUnique({ where: key, select: { status: true } });
        const record = await tx.attendanceRecord.upsert({
          where: key,
          create: { courseId: course.courseId, studentId: input.studentId, date: input.date, status: input.status, markedById: viewer.userId },
          update: { status: input.status, markedById: viewer.userId, markedAt: new Date() },
        });
        emit(markedEvents(course, [{ record, previousStatus: previous?.status ?? null }]));
        return record;
      });
    },

    async markMany(viewer: NonNullable<Viewer>, input: MarkCourseAttendanceInput, since: number) {
      requireManager(viewer);
      const { marks } = input;
      if (marks.length < 1 || marks.length > MAX_ROLL_CALL) throw badUserInput(`marks must hold 1 to ${MAX_ROLL_CALL} entries.`, "marks");
      const studentIds = marks.map((m) => m.studentId);
      if (new Set(studentIds).size !== studentIds.length) throw badUserInput("Each student can be marked once per roll call.", "marks");
      const { course: found, enrolled } = await facts(input.courseId, studentIds, since);
      const course = requireManagedCourse(viewer, input.courseId, found);
      refuseFutureDay(input.date);
      const missing = studentIds.filter((id) => !enrolled.has(id));
      if (missing.length) {
        throw domainError("NOT_ENROLLED", `${missing.length} of these students are not enrolled in the course.`, { studentIds: missing });
      }
      return outbox.transaction(async (tx, emit) => {
        // The day's marks there already (locked: a concurrent roll call waits), then one
        // statement for the whole class: insert, or update them.
        const previous = await tx.$queryRaw<{ student_id: string; status: AttendanceStatus }[]>`
          SELECT student_id::text, status::text FROM attendance_records
          WHERE course_id = ${course.courseId}::uuid AND date = ${formatDay(input.date)}::date AND student_id = ANY(${studentIds}::uuid[])
          FOR UPDATE`;
        await tx.$executeRaw`
          INSERT INTO attendance_records (id, course_id, student_id, date, status, marked_by_id, marked_at)
          SELECT gen_random_uuid(), ${course.courseId}::uuid, m.student_id, ${formatDay(input.date)}::date, m.status::"AttendanceStatus", ${viewer.userId}::uuid, now()
          FROM unnest(${studentIds}::uuid[], ${marks.map((m) => m.status)}::text[]) AS m(student_id, status)
          ON CONFLICT (course_id, student_id, date)
          DO UPDATE SET status = EXCLUDED.status, marked_by_id = EXCLUDED.marked_by_id, marked_at = EXCLUDED.marked_at`;
        const records = await tx.attendanceRecord.findMany({ where: { courseId: course.courseId, date: input.date, studentId: { in: studentIds } } });
        const byStudent = new Map(records.map((r) => [r.studentId, r]));
        const before = new Map(previous.map((p) => [p.student_id, p.status]));
        const written = studentIds.map((id) => byStudent.get(id)!);
        emit(markedEvents(course, written.map((record) => ({ record, previousStatus: before.get(record.studentId) ?? null }))));
        return written;
      });
    },

    async ofCourseOnDay(viewer: NonNullable<Viewer>, courseId: string, date: Date, since: number) {
      requireManager(viewer);
      // A course's teacher never changes: only a course the replica does not know yet needs fresh facts.
      const known = await findCourse(courseId);
      const course = requireManagedCourse(viewer, courseId, known ?? (await facts(courseId, [], since)).course);
      return db.prisma.attendanceRecord.findMany({ where: { courseId: course.courseId, date }, orderBy: [{ markedAt: "asc" }, { id: "asc" }] });
    },
  };
}

export type Attendance = ReturnType<typeof createAttendance>;
