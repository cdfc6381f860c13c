// Wires the courses domain into the subgraph kit (the definition is index.ts).
import { HttpError } from "@pooya/runtime";
import { type Outbox } from "@pooya/events";
import { isUuid, wireSubgraph, type DatabaseOf, type TransactionOf } from "@pooya/subgraph-kit";
import { createUsersDirectory } from "@pooya/users/directory";
import { PrismaClient } from "./generated/prisma/client.ts";
import { createCatalogue } from "./catalogue.ts";
import { createEnrollment } from "./enrollment.ts";
import { createLoaders, type CoursesContext } from "./context.ts";
import { resolvers } from "./resolvers/index.ts";
import { policies } from "./resolvers/policies.ts";
import { ENROLLMENT_CHECK_PATH, MAX_CHECKED_STUDENTS, type EnrollmentCheck } from "./internal-api.ts";

export type CoursesDb = DatabaseOf<typeof PrismaClient>;
export type CoursesTransaction = TransactionOf<CoursesDb>;
export type CoursesOutbox = Outbox<CoursesTransaction>;

export default wireSubgraph({ client: PrismaClient, resolvers, policies }, ({ db, outbox, identity, upstream }) => {
  const directory = createUsersDirectory({ upstream: upstream("users"), identity });
  const catalogue = createCatalogue(db, outbox, directory);
  const enrollment = createEnrollment(db, outbox, directory);
  return {
    context: ({ viewer }): CoursesContext => ({ viewer, db, catalogue, enrollment, loaders: createLoaders(db) }),
    routes(app) {
      app.post(ENROLLMENT_CHECK_PATH, async (request): Promise<EnrollmentCheck> => {
        const { courseId, studentIds } = (request.body ?? {}) as { courseId?: unknown; studentIds?: unknown };
        if (
          typeof courseId !== "string" ||
          !Array.isArray(studentIds) ||
          studentIds.length > MAX_CHECKED_STUDENTS ||
          !studentIds.every((id) => typeof id === "string")
        ) {
          throw new HttpError(
            400,
            `courseId must be a string and studentIds an array of at most ${MAX_CHECKED_STUDENTS} strings`,
          );
        }
        if (!isUuid(courseId)) return { course: null, enrolledStudentIds: [] };
        const course = await db.prisma.course.findUnique({
          where: { id: courseId },
          select: { id: true, teacherId: true, code: true },
        });
        if (!course) return { course: null, enrolledStudentIds: [] };
        const enrolled = await db.prisma.enrollment.findMany({
          where: { courseId, studentId: { in: (studentIds as string[]).filter(isUuid) } },
          select: { studentId: true },
        });
        return {
          course: { courseId: course.id, teacherId: course.teacherId, code: course.code },
          enrolledStudentIds: enrolled.map((e) => e.studentId),
        };
      });
    },
  };
});
