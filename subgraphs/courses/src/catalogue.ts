// Creating, listing, editing and closing courses.
import { badUserInput, conflict, domainError, forbidden, notFound } from "@pooya/runtime";
import { type Viewer } from "@pooya/identity";
import { asUuid, runQuery } from "@pooya/events";
import {
  afterPosition,
  decodeCursor,
  isUuid,
  pageSize,
  requireIntRange,
  requireText,
  toConnection,
} from "@pooya/subgraph-kit";
import type { UsersDirectory } from "@pooya/users/directory";
import { Prisma, type Course } from "./generated/prisma/client.ts";
import type { CoursesDb, CoursesOutbox, CoursesTransaction } from "./service.ts";
import { courseEvents } from "./events.ts";
import { tables } from "./tables.ts";

const CODE_PATTERN = /^[A-Z0-9][A-Z0-9-]{1,19}$/;
export const MAX_CAPACITY = 1000;

export interface CreateCourseInput {
  code: string;
  title: string;
  description?: string | null;
  capacity: number;
  teacherId?: string | null;
}

export interface UpdateCourseInput {
  title?: string | null;
  description?: string | null;
  capacity?: number | null;
  teacherId?: string | null;
}

/** A CLOSED course refuses enrollments and edits: CONFLICT, told apart by extensions.reason. */
export const courseClosed = (course: Pick<Course, "code">, what: string) =>
  domainError("CONFLICT", `${course.code} is closed: ${what}.`, { reason: "COURSE_CLOSED" });

/**
 * The course's row, locked until the transaction ends: enrollments (their conditional UPDATE of
 * the same row) wait for an edit, and an edit for them, so a capacity is never set below the
 * enrollments counted at commit.
 */
async function lockCourse(tx: CoursesTransaction, courseId: string) {
  if (!isUuid(courseId)) return undefined;
  const [row] = await runQuery(
    tx,
    tables
      .selectFrom("courses")
      .select(["teacher_id as teacherId", "enrollment_count as enrollmentCount", "status", "code"])
      .where("id", "=", asUuid(courseId))
      .forUpdate(),
  );
  return row;
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

    /**
     * The course's teacher changes its title, description and capacity; STAFF those and its
     * teacher. Checked and written under the course's row lock, with CourseUpdated in the same
     * transaction.
     */
    async updateCourse(viewer: NonNullable<Viewer>, courseId: string, input: UpdateCourseInput) {
      const changes: Prisma.CourseUpdateInput = {};
      if (input.title != null) changes.title = requireText(input.title, "title", { max: 200 });
      if (input.description != null)
        changes.description = requireText(input.description, "description", { min: 0, max: 5000 }) || null;
      if (input.capacity != null) changes.capacity = requireIntRange(input.capacity, "capacity", 1, MAX_CAPACITY);
      if (input.teacherId == null && Object.keys(changes).length === 0)
        throw badUserInput("Give at least one of title, description, capacity or teacherId.");
      let newTeacherId: string | undefined;
      if (input.teacherId != null) {
        if (viewer.role !== "STAFF") {
          if (input.teacherId !== viewer.userId) throw forbidden("Only staff can give a course another teacher.");
        } else {
          // Asked before the row is locked: no lock is held across a call to users.
          const teacher = isUuid(input.teacherId) ? await users.find(input.teacherId) : null;
          if (!teacher) throw notFound("User", input.teacherId);
          if (teacher.role !== "TEACHER") throw badUserInput("teacherId must name a TEACHER.", "teacherId");
          newTeacherId = teacher.id;
        }
      }
      return outbox.transaction(async (tx, emit) => {
        const current = await lockCourse(tx, courseId);
        if (!current) throw notFound("Course", courseId);
        if (viewer.role !== "STAFF" && viewer.userId !== current.teacherId)
          throw forbidden("Only the course's teacher or staff can edit it.");
        if (current.status === "CLOSED") throw courseClosed(current, "it can no longer be edited");
        if (typeof changes.capacity === "number" && changes.capacity < current.enrollmentCount)
          throw badUserInput(
            `capacity cannot be below the ${current.enrollmentCount} students enrolled in ${current.code}.`,
            "capacity",
          );
        if (newTeacherId) changes.teacherId = newTeacherId;
        const course = await tx.course.update({ where: { id: courseId }, data: changes });
        emit(
          courseEvents.create("CourseUpdated", {
            courseId: course.id,
            code: course.code,
            title: course.title,
            description: course.description ?? undefined,
            capacity: course.capacity,
            teacherId: course.teacherId,
            previousTeacherId: course.teacherId !== current.teacherId ? current.teacherId : undefined,
          }),
        );
        return course;
      });
    },

    /** STAFF (@requiresScopes): no new enrollments from now on; closing a closed course changes nothing. */
    async closeCourse(courseId: string) {
      return outbox.transaction(async (tx, emit) => {
        const current = await lockCourse(tx, courseId);
        if (!current) throw notFound("Course", courseId);
        if (current.status === "CLOSED") return tx.course.findUniqueOrThrow({ where: { id: courseId } });
        const course = await tx.course.update({ where: { id: courseId }, data: { status: "CLOSED" } });
        emit(courseEvents.create("CourseClosed", { courseId: course.id, code: course.code }));
        return course;
      });
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
