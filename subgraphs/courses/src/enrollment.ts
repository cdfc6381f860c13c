// Enrolling and dropping students. Seats are taken with one conditional UPDATE
// (enrollment_count < capacity): of two students racing for the last seat, one wins.
// A GraphQLError thrown inside a transaction rolls it back and reaches the client as is.
import { badUserInput, conflict, domainError, forbidden, notFound } from "@pooya/runtime";
import { type Viewer } from "@pooya/identity";
import { isUuid } from "@pooya/subgraph-kit";
import type { UsersDirectory } from "@pooya/users/directory";
import { Prisma, type Course } from "./generated/prisma/client.ts";
import type { CoursesDb, CoursesOutbox } from "./service.ts";
import { courseEvents } from "./events.ts";
import { courseClosed } from "./catalogue.ts";

export function createEnrollment(db: CoursesDb, outbox: CoursesOutbox, users: UsersDirectory) {
  async function findCourse(courseId: string): Promise<Course> {
    const course = isUuid(courseId) ? await db.prisma.course.findUnique({ where: { id: courseId } }) : null;
    if (!course) throw notFound("Course", courseId);
    return course;
  }

  function mayManage(viewer: NonNullable<Viewer>, course: Course): boolean {
    return viewer.role === "STAFF" || (viewer.role === "TEACHER" && viewer.userId === course.teacherId);
  }

  return {
    async enroll(viewer: NonNullable<Viewer>, courseId: string, studentId: string | null | undefined): Promise<Course> {
      const course = await findCourse(courseId);
      if (course.status === "CLOSED") throw courseClosed(course, "it takes no new enrollments");
      let target: string;
      if (viewer.role === "STUDENT") {
        if (studentId && studentId !== viewer.userId) throw forbidden("Students can only enrol themselves.");
        target = viewer.userId;
      } else {
        if (!mayManage(viewer, course)) throw forbidden("Only the course's teacher or staff can enrol other students.");
        if (!studentId) throw badUserInput("studentId is required when enrolling someone else.", "studentId");
        const student = isUuid(studentId) ? await users.find(studentId) : null;
        if (!student) throw notFound("User", studentId);
        if (student.role !== "STUDENT") throw badUserInput("Only STUDENT users can be enrolled.", "studentId");
        target = student.id;
      }
      return outbox.transaction(async (tx, emit) => {
        try {
          await tx.enrollment.create({ data: { courseId: course.id, studentId: target } });
        } catch (error) {
          if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002") {
            throw conflict("This student is already enrolled in the course.");
          }
          throw error;
        }
        // One statement decides: a seat is left and the course is still open (closeCourse and
        // updateCourse lock the row, so this waits for them and sees what they committed).
        const seat = await tx.course.updateMany({
          where: { id: course.id, status: "OPEN", enrollmentCount: { lt: tx.course.fields.capacity } },
          data: { enrollmentCount: { increment: 1 } },
        });
        if (seat.count !== 1) {
          const now = await tx.course.findUniqueOrThrow({ where: { id: course.id } });
          if (now.status === "CLOSED") throw courseClosed(now, "it takes no new enrollments");
          throw conflict(`${course.code} is full (${now.capacity} seats).`);
        }
        emit(
          courseEvents.create("StudentEnrolled", {
            courseId: course.id,
            studentId: target,
            code: course.code,
            title: course.title,
          }),
        );
        return tx.course.findUniqueOrThrow({ where: { id: course.id } });
      });
    },

    async drop(viewer: NonNullable<Viewer>, courseId: string, studentId: string): Promise<Course> {
      const course = await findCourse(courseId);
      const self = viewer.role === "STUDENT" && viewer.userId === studentId;
      if (!self && !mayManage(viewer, course))
        throw forbidden("Only the student, the course's teacher or staff can drop an enrollment.");
      return outbox.transaction(async (tx, emit) => {
        const removed = isUuid(studentId)
          ? await tx.enrollment.deleteMany({ where: { courseId: course.id, studentId } })
          : { count: 0 };
        if (removed.count !== 1) throw domainError("NOT_ENROLLED", "This student is not enrolled in the course.");
        await tx.course.update({ where: { id: course.id }, data: { enrollmentCount: { decrement: 1 } } });
        emit(
          courseEvents.create("EnrollmentDropped", {
            courseId: course.id,
            studentId,
            code: course.code,
            title: course.title,
          }),
        );
        return tx.course.findUniqueOrThrow({ where: { id: course.id } });
      });
    },
  };
}

export type Enrollment = ReturnType<typeof createEnrollment>;
