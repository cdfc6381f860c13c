// Marking attendance and reading it back, authorised against the enrollment replica.
import { domainError, forbidden, isUuid, notFound, type Viewer } from "@pooya/platform";
import type { AttendanceDb } from "./db.ts";
import type { EnrollmentReplica } from "./enrollment-replica.ts";
import type { AttendanceStatus, CourseReplica } from "./generated/prisma/client.ts";

export interface MarkAttendanceInput {
  courseId: string;
  studentId: string;
  date: Date;
  status: AttendanceStatus;
}

const DAY_MS = 24 * 3600 * 1000;

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
      if (input.date.getTime() > Date.now() + DAY_MS) {
        throw domainError("BAD_USER_INPUT", "Attendance cannot be marked for a future day.", { field: "date" });
      }
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

    async ofCourseOnDay(viewer: NonNullable<Viewer>, courseId: string, date: Date, since: number) {
      const course = await courseForManager(viewer, courseId, since);
      return db.prisma.attendanceRecord.findMany({ where: { courseId: course.courseId, date }, orderBy: [{ markedAt: "asc" }, { id: "asc" }] });
    },
  };
}

export type Attendance = ReturnType<typeof createAttendance>;
