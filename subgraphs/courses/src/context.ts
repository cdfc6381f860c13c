import { groupLoader, rowLoader, type Viewer } from "@pooya/platform";
import type { CoursesDb } from "./db.ts";
import type { Catalogue } from "./catalogue.ts";
import type { Enrollment as EnrollmentService } from "./enrollment.ts";
import type { Course, Enrollment } from "./generated/prisma/client.ts";

export interface CoursesContext {
  viewer: Viewer;
  db: CoursesDb;
  catalogue: Catalogue;
  enrollment: EnrollmentService;
  loaders: ReturnType<typeof createLoaders>;
}

export function createLoaders(db: CoursesDb) {
  return {
    course: rowLoader<string, Course>((ids) => db.prisma.course.findMany({ where: { id: { in: [...ids] } } }), (c) => c.id),
    enrollmentsOfCourse: groupLoader<string, Enrollment>(
      (ids) => db.prisma.enrollment.findMany({ where: { courseId: { in: [...ids] } }, orderBy: [{ enrolledAt: "asc" }, { studentId: "asc" }] }),
      (e) => e.courseId,
    ),
    coursesOfTeacher: groupLoader<string, Course>(
      (ids) => db.prisma.course.findMany({ where: { teacherId: { in: [...ids] } }, orderBy: [{ createdAt: "asc" }, { id: "asc" }] }),
      (c) => c.teacherId,
    ),
    enrollmentsOfStudent: groupLoader<string, Enrollment & { course: Course }>(
      (ids) => db.prisma.enrollment.findMany({ where: { studentId: { in: [...ids] } }, include: { course: true }, orderBy: { enrolledAt: "asc" } }),
      (e) => e.studentId,
    ),
  };
}
