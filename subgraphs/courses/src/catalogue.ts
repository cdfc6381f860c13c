// Creating and listing courses.
import { badUserInput, conflict, forbidden, notFound } from "@pooya/runtime";
import { type Viewer } from "@pooya/identity";
import { afterPosition, decodeCursor, pageSize, requireIntRange, requireText, toConnection } from "@pooya/subgraph-kit";
import type { UsersDirectory } from "@pooya/users/directory";
import { Prisma } from "./generated/prisma/client.ts";
import type { CoursesDb, CoursesOutbox } from "./service.ts";
import { courseEvents } from "./events.ts";

const CODE_PATTERN = /^[A-Z0-9][A-Z0-9-]{1,19}$/;
export const MAX_CAPACITY = 1000;

export interface CreateCourseInput {
  code: string;
  title: string;
  description?: string | null;
  capacity: number;
  teacherId?: string | null;
}

export function createCatalogue(db: CoursesDb, outbox: CoursesOutbox, users: UsersDirectory) {
  async function resolveTeacher(viewer: NonNullable<Viewer>, teacherId: string | null | undefined): Promise<string> {
    if (viewer.role === "TEACHER") {
      if (teacherId && teacherId !== viewer.userId) throw forbidden("A teacher can only create courses they teach.");
      return viewer.userId;
    }
    // Otherwise STAFF (@requiresScopes on Mutation.createCourse), who names the teacher.
    if (!teacherId) throw badUserInput("Staff must name the teacher (teacherId).", "teacherId");
    const teacher = await users.find(teacherId);
    if (!teacher) throw notFound("User", teacherId);
    if (teacher.role !== "TEACHER") throw badUserInput("teacherId must name a TEACHER.", "teacherId");
    return teacher.id;
  }

  return {
    async createCourse(viewer: NonNullable<Viewer>, input: CreateCourseInput) {
      // TEACHER or STAFF: @requiresScopes on Mutation.createCourse.
      const code = input.code.trim().toUpperCase();
      if (!CODE_PATTERN.test(code)) throw badUserInput("code must be 2 to 20 letters, digits or dashes.", "code");
      const title = requireText(input.title, "title", { max: 200 });
      const description =
        input.description == null ? null : requireText(input.description, "description", { min: 0, max: 5000 }) || null;
      const capacity = requireIntRange(input.capacity, "capacity", 1, MAX_CAPACITY);
      const teacherId = await resolveTeacher(viewer, input.teacherId);
      try {
        return await outbox.transaction(async (tx, emit) => {
          const course = await tx.course.create({ data: { code, title, description, capacity, teacherId } });
          emit(courseEvents.create("CourseCreated", { courseId: course.id, teacherId, code, title, capacity }));
          return course;
        });
      } catch (error) {
        if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002") {
          throw conflict(`A course with code ${code} already exists.`);
        }
        throw error;
      }
    },

    async listCourses(args: { first?: number | null; after?: string | null; search?: string | null }) {
      const size = pageSize(args.first);
      const search = args.search?.trim();
      if (search && search.length > 100) throw badUserInput("search must be at most 100 characters.", "search");
      const filter: Prisma.CourseWhereInput = search
        ? {
            OR: [
              { code: { contains: search, mode: "insensitive" } },
              { title: { contains: search, mode: "insensitive" } },
            ],
          }
        : {};
      const rows = await db.prisma.course.findMany({
        where: { AND: [filter, afterPosition(decodeCursor(args.after))] },
        orderBy: [{ createdAt: "asc" }, { id: "asc" }],
        take: size + 1,
      });
      return toConnection(rows, size, () => db.prisma.course.count({ where: filter }));
    },
  };
}

export type Catalogue = ReturnType<typeof createCatalogue>;
