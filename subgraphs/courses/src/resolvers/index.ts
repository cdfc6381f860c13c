import { requireViewer, DateTimeScalar, forbidden, isUuid } from "@pooya/platform";
import type { CoursesContext } from "../context.ts";
import type { CreateCourseInput } from "../catalogue.ts";
import type { Course } from "../generated/prisma/client.ts";

const userRef = (id: string) => ({ __typename: "User" as const, id });

export const resolvers = {
  DateTime: DateTimeScalar,

  Query: {
    course: (_: unknown, { id }: { id: string }, { viewer, loaders }: CoursesContext) => {
      requireViewer(viewer);
      return isUuid(id) ? loaders.course.load(id) : null;
    },
    courses: (_: unknown, args: { first?: number | null; after?: string | null; search?: string | null }, { viewer, catalogue }: CoursesContext) => {
      requireViewer(viewer);
      return catalogue.listCourses(args);
    },
  },

  Mutation: {
    createCourse: (_: unknown, { input }: { input: CreateCourseInput }, { viewer, catalogue }: CoursesContext) =>
      catalogue.createCourse(requireViewer(viewer), input),
    enroll: (_: unknown, args: { courseId: string; studentId?: string | null }, { viewer, enrollment }: CoursesContext) =>
      enrollment.enroll(requireViewer(viewer), args.courseId, args.studentId),
    dropEnrollment: (_: unknown, args: { courseId: string; studentId: string }, { viewer, enrollment }: CoursesContext) =>
      enrollment.drop(requireViewer(viewer), args.courseId, args.studentId),
  },

  Course: {
    __resolveReference: ({ id }: { id: string }, { viewer, loaders }: CoursesContext) => {
      requireViewer(viewer);
      return isUuid(id) ? loaders.course.load(id) : null;
    },
    teacher: (course: Course) => userRef(course.teacherId),
    students: async (course: Course, _: unknown, { viewer, loaders }: CoursesContext) => {
      const me = requireViewer(viewer);
      if (me.role !== "STAFF" && me.userId !== course.teacherId) throw forbidden("Only the course's teacher and staff can see its students.");
      return (await loaders.enrollmentsOfCourse.load(course.id)).map((e) => userRef(e.studentId));
    },
    seatsLeft: (course: Course) => course.capacity - course.enrollmentCount,
  },

  User: {
    __resolveReference: ({ id }: { id: string }) => ({ id }),
    teachingCourses: ({ id }: { id: string }, _: unknown, { viewer, loaders }: CoursesContext) => {
      requireViewer(viewer);
      return isUuid(id) ? loaders.coursesOfTeacher.load(id) : [];
    },
    enrolledCourses: async ({ id }: { id: string }, _: unknown, { viewer, loaders }: CoursesContext) => {
      const me = requireViewer(viewer);
      if (me.role === "STUDENT" && me.userId !== id) throw forbidden("Students can only see their own enrollments.");
      if (!isUuid(id)) return [];
      const courses = (await loaders.enrollmentsOfStudent.load(id)).map((e) => e.course);
      // A teacher sees the student's enrollments in the courses they teach, nothing more.
      return me.role === "TEACHER" && me.userId !== id ? courses.filter((c) => c.teacherId === me.userId) : courses;
    },
  },
};
