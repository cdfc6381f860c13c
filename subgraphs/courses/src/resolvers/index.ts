import { forbidden } from "@pooya/runtime";
import { requireViewer } from "@pooya/identity";
import { DateTimeScalar, isUuid, toConnection } from "@pooya/subgraph-kit";
import type { Resolvers } from "../__generated__/resolvers-types.ts";

const userRef = (id: string) => ({ __typename: "User" as const, id });

export const resolvers: Resolvers = {
  DateTime: DateTimeScalar,

  Query: {
    course: (_, { id }, { viewer, loaders }) => {
      requireViewer(viewer);
      return isUuid(id) ? loaders.course.load(id) : null;
    },
    courses: (_, args, { viewer, catalogue }) => {
      requireViewer(viewer);
      return catalogue.listCourses(args);
    },
  },

  Mutation: {
    createCourse: (_, { input }, { viewer, catalogue }) => catalogue.createCourse(requireViewer(viewer), input),
    enroll: (_, { courseId, studentId }, { viewer, enrollment }) =>
      enrollment.enroll(requireViewer(viewer), courseId, studentId),
    dropEnrollment: (_, { courseId, studentId }, { viewer, enrollment }) =>
      enrollment.drop(requireViewer(viewer), courseId, studentId),
  },

  Course: {
    __resolveReference: ({ id }, { viewer, loaders }) => {
      requireViewer(viewer);
      return isUuid(id) ? loaders.course.load(id) : null;
    },
    teacher: (course) => userRef(course.teacherId),
    students: async (course, _, { viewer, loaders }) => {
      const me = requireViewer(viewer);
      if (me.role !== "STAFF" && me.userId !== course.teacherId)
        throw forbidden("Only the course's teacher and staff can see its students.");
      return (await loaders.studentsOfCourse.load(course.id)).map((e) => userRef(e.studentId));
    },
    studentsConnection: async (course, args, { viewer, loaders }) => {
      const me = requireViewer(viewer);
      if (me.role !== "STAFF" && me.userId !== course.teacherId)
        throw forbidden("Only the course's teacher and staff can see its students.");
      const { rows, size } = await loaders.studentsPage(course.id, args);
      // enrollmentCount is kept in the same transaction as the enrollments themselves.
      return toConnection(rows, size, () => Promise.resolve(course.enrollmentCount));
    },
    seatsLeft: (course) => course.capacity - course.enrollmentCount,
  },

  User: {
    __resolveReference: ({ id }) => ({ id }),
    teachingCourses: ({ id }, _, { viewer, loaders }) => {
      requireViewer(viewer);
      return isUuid(id) ? loaders.coursesOfTeacher.load(id) : [];
    },
    enrolledCourses: async ({ id }, _, { viewer, loaders }) => {
      const me = requireViewer(viewer);
      if (me.role === "STUDENT" && me.userId !== id) throw forbidden("Students can only see their own enrollments.");
      if (!isUuid(id)) return [];
      const courses = (await loaders.enrollmentsOfStudent.load(id)).map((e) => e.course);
      // A teacher sees the student's enrollments in the courses they teach, nothing more.
      return me.role === "TEACHER" && me.userId !== id ? courses.filter((c) => c.teacherId === me.userId) : courses;
    },
  },

  // Counted only when asked for. A compiled executor reads a field without a resolver as a plain
  // property (graphql-js would call a function there), so the count has a resolver of its own.
  CourseConnection: {
    totalCount: (page) => page.totalCount(),
  },
  UserConnection: {
    totalCount: (page) => page.totalCount(),
  },
};
