import { type Viewer } from "@pooya/identity";
import { groupLoader, ownedPages, rowLoader, type Connection } from "@pooya/subgraph-kit";
import { asUuid, asUuids, sql } from "@pooya/events";
import { tables } from "./tables.ts";
import type { CoursesDb } from "./service.ts";
import type { Catalogue } from "./catalogue.ts";
import type { Enrollment as EnrollmentService } from "./enrollment.ts";
import type { Course, Enrollment } from "./generated/prisma/client.ts";

/** A page of a course's students: user references positioned by (enrolledAt, student id). */
export type StudentsPage = Connection<{ createdAt: Date; id: string }>;

export interface CoursesContext {
  viewer: Viewer;
  db: CoursesDb;
  catalogue: Catalogue;
  enrollment: EnrollmentService;
  loaders: ReturnType<typeof createLoaders>;
}

export function createLoaders(db: CoursesDb) {
  return {
    /**
     * Courses by id, every column, straight from the pool: the first fetch of every course page
     * and report. Through Prisma (its query compiler and result mapping) this one-row read was
     * 16 % of this subgraph's CPU on the 200-student dashboard.
     */
    course: rowLoader<string, Course>(
      (ids) =>
        db.read(
          tables
            .selectFrom("courses")
            .select([
              "id",
              "code",
              "title",
              "description",
              "capacity",
              "teacher_id as teacherId",
              "enrollment_count as enrollmentCount",
              "created_at as createdAt",
              "status",
            ])
            .where((eb) => eb("id", "=", eb.fn.any(asUuids(ids)))),
        ),
      (c) => c.id,
    ),
    /** Each course's students in enrollment order: two columns straight from the pool (a class can be large). */
    studentsOfCourse: groupLoader<string, Pick<Enrollment, "courseId" | "studentId">>(
      (ids) =>
        db.read(
          tables
            .selectFrom("enrollments")
            .select(["course_id as courseId", "student_id as studentId"])
            .where((eb) => eb("course_id", "=", eb.fn.any(asUuids(ids))))
            .orderBy("enrolled_at", "asc")
            .orderBy("student_id", "asc"),
        ),
      (e) => e.courseId,
    ),
    /** A page of each course's students in enrollment order, for a batch of courses in one SELECT. */
    studentsPage: ownedPages<{ createdAt: Date; id: string }>((courseIds, take, after) =>
      db.read(
        tables
          .selectFrom((eb) =>
            eb
              .selectFrom("enrollments")
              .select((e) => [
                "course_id as owner",
                "student_id as id",
                "enrolled_at as createdAt",
                sql<string>`row_number() OVER (PARTITION BY ${e.ref("course_id")} ORDER BY ${e.ref("enrolled_at")} ASC, ${e.ref("student_id")} ASC)`.as(
                  "n",
                ),
              ])
              .where((e) => e("course_id", "=", e.fn.any(asUuids(courseIds))))
              .$if(after !== null, (q) =>
                q.where((e) =>
                  e(e.refTuple("enrolled_at", "student_id"), ">", e.tuple(after!.createdAt, asUuid(after!.id))),
                ),
              )
              .as("page"),
          )
          .select(["owner", "id", "createdAt"])
          .where("n", "<=", String(take))
          .orderBy("owner")
          .orderBy("n"),
      ),
    ),
    coursesOfTeacher: groupLoader<string, Course>(
      (ids) =>
        db.prisma.course.findMany({
          where: { teacherId: { in: [...ids] } },
          orderBy: [{ createdAt: "asc" }, { id: "asc" }],
        }),
      (c) => c.teacherId,
    ),
    enrollmentsOfStudent: groupLoader<string, Enrollment & { course: Course }>(
      (ids) =>
        db.prisma.enrollment.findMany({
          where: { studentId: { in: [...ids] } },
          include: { course: true },
          orderBy: { enrolledAt: "asc" },
        }),
      (e) => e.studentId,
    ),
  };
}
