// Marking attendance and reading it back, authorised against the enrollment replica.
import { badUserInput, domainError, forbidden, formatDay, isUuid, notFound, type Viewer } from "@pooya/platform";
import type { AttendanceDb } from "./db.ts";
import type { EnrollmentReplica } from "./enrollment-replica.ts";
import type { AttendanceStatus, CourseReplica } from "./generated/prisma/client.ts";

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

export function createAttendance(db: AttendanceDb, replica: EnrollmentReplica) {
  const findCourse = (courseId: string) =>
    isUuid(courseId) ? db.prisma.courseReplica.findUnique({ where: { courseId } }) : Promise.resolve(null);

  function mayManage(viewer: NonNullable<Viewer>, course: CourseReplica): boolean {
    return viewer.role === "STAFF" || (viewer.role === "TEACHER" && viewer.userId === course.teacherId);
  }

  async function courseForManager(viewer: NonNullable<Viewer>, courseId: string, since: number): Promise<CourseReplica> {
    if (viewer.role === "STUDENT") throw forbidden("Only the course's teacher or staff can do this.");
    let course = await findCourse(courseId);
    if (!course && isUuid(courseId) && (await replica.tryCatchUp(since))) course = await findCourse(courseId);
    if (!course) throw notFound("Course", courseId);
    if (!mayManage(viewer, course)) throw forbidden("Only the course's teacher or staff can do this.");
    return course;
  }

  return {
    /** `since`: the replica position when the request started (read-your-writes, see docs/enrollment-sync.md). */
    async mark(viewer: NonNullable<Viewer>, input: MarkAttendanceInput, since: number) {
      // Pull the enrollment changes committed before this request before deciding. If courses
      // does not answer in time, the replica's answer stands.
      if (viewer.role !== "STUDENT") await replica.tryCatchUp(since);
      const course = await courseForManager(viewer, input.courseId, since);
      refuseFutureDay(input.date);
      const enrollment = isUuid(input.studentId)
        ? await db.prisma.enrollmentReplica.findUnique({ where: { courseId_studentId: { courseId: course.courseId, studentId: input.studentId } } })
        : null;
      if (!enrollment?.enrolled) throw domainError("NOT_ENROLLED", "This student is not enrolled in the course.");
      return db.prisma.attendanceRecord.upsert({
        where: { courseId_studentId_date: { courseId: course.courseId, studentId: input.studentId, date: input.date } },
        create: { courseId: course.courseId, studentId: input.studentId, date: input.date, status: input.status, markedById: viewer.userId },
        update: { status: input.status, markedById: viewer.userId, markedAt: new Date() },
      });
    },

    async markMany(viewer: NonNullable<Viewer>, input: MarkCourseAttendanceInput, since: number) {
      if (viewer.role !== "STUDENT") await replica.tryCatchUp(since);
      const course = await courseForManager(viewer, input.courseId, since);
      refuseFutureDay(input.date);
      const { marks } = input;
      if (marks.length < 1 || marks.length > MAX_ROLL_CALL) throw badUserInput(`marks must hold 1 to ${MAX_ROLL_CALL} entries.`, "marks");
      const studentIds = marks.map((m) => m.studentId);
      if (new Set(studentIds).size !== studentIds.length) throw badUserInput("Each student can be marked once per roll call.", "marks");
      const enrolled = await db.prisma.enrollmentReplica.findMany({
        where: { courseId: course.courseId, studentId: { in: studentIds.filter(isUuid) }, enrolled: true },
        select: { studentId: true },
      });
      const known = new Set(enrolled.map((e) => e.studentId));
      const missing = studentIds.filter((id) => !known.has(id));
      if (missing.length) {
        throw domainError("NOT_ENROLLED", `${missing.length} of these students are not enrolled in the course.`, { studentIds: missing });
      }
      // One statement for the whole class: insert, or update the day's existing marks.
      await db.prisma.$executeRaw`
        INSERT INTO attendance_records (id, course_id, student_id, date, status, marked_by_id, marked_at)
        SELECT gen_random_uuid(), ${course.courseId}::uuid, m.student_id, ${formatDay(input.date)}::date, m.status::"AttendanceStatus", ${viewer.userId}::uuid, now()
        FROM unnest(${studentIds}::uuid[], ${marks.map((m) => m.status)}::text[]) AS m(student_id, status)
        ON CONFLICT (course_id, student_id, date)
        DO UPDATE SET status = EXCLUDED.status, marked_by_id = EXCLUDED.marked_by_id, marked_at = EXCLUDED.marked_at`;
      const records = await db.prisma.attendanceRecord.findMany({ where: { courseId: course.courseId, date: input.date, studentId: { in: studentIds } } });
      const byStudent = new Map(records.map((r) => [r.studentId, r]));
      return studentIds.map((id) => byStudent.get(id)!);
    },

    async ofCourseOnDay(viewer: NonNullable<Viewer>, courseId: string, date: Date, since: number) {
      const course = await courseForManager(viewer, courseId, since);
      return db.prisma.attendanceRecord.findMany({ where: { courseId: course.courseId, date }, orderBy: [{ markedAt: "asc" }, { id: "asc" }] });
    },
  };
}

export type Attendance = ReturnType<typeof createAttendance>;
