import { DateTimeScalar, isUuid, toConnection } from "@pooya/subgraph-kit";
import type { Resolvers } from "../__generated__/resolvers-types.ts";

const userRef = (id: string) => ({ __typename: "User" as const, id });

// Who may call what is declared in schema.graphql (@authenticated, @requiresScopes, @policy) and
// checked by the subgraph kit before these run; `viewer!` is signed in wherever a field says so.

export const resolvers: Resolvers = {
  DateTime: DateTimeScalar,

  Query: {
    course: (_, { id }, { loaders }) => (isUuid(id) ? loaders.course.load(id) : null),
    courses: (_, args, { catalogue }) => catalogue.listCourses(args),
  },

  Mutation: {
    // Who the course is for, or whom a teacher may enrol or drop, depends on the input: checked by the domain.
    createCourse: (_, { input }, { viewer, catalogue }) => catalogue.createCourse(viewer!, input),
    enroll: (_, { courseId, studentId }, { viewer, enrollment }) => enrollment.enroll(viewer!, courseId, studentId),
    dropEnrollment: (_, { courseId, studentId }, { viewer, enrollment }) =>
      enrollment.drop(viewer!, courseId, studentId),
    // Whether the viewer teaches the course, and who may change its teacher: checked by the domain.
    updateCourse: (_, { id, input }, { viewer, catalogue }) => catalogue.updateCourse(viewer!, id, input),
    closeCourse: (_, { id }, { catalogue }) => catalogue.closeCourse(id),
  },

  Course: {
    __resolveReference: ({ id }, { loaders }) => (isUuid(id) ? loaders.course.load(id) : null),
    teacher: (course) => userRef(course.teacherId),
    students: async (course, _, { loaders }) => {
      return (await loaders.studentsOfCourse.load(course.id)).map((e) => userRef(e.studentId));
    },
    studentsConnection: async (course, args, { loaders }) => {
      const { rows, size } = await loaders.studentsPage(course.id, args);
      // enrollmentCount is kept in the same transaction as the enrollments themselves.
      return toConnection(rows, size, () => Promise.resolve(course.enrollmentCount));
    },
    seatsLeft: (course) => course.capacity - course.enrollmentCount,
  },

  User: {
    __resolveReference: ({ id }) => ({ id }),
    teachingCourses: ({ id }, _, { loaders }) => (isUuid(id) ? loaders.coursesOfTeacher.load(id) : []),
    enrolledCourses: async ({ id }, _, { viewer, loaders }) => {
      const me = viewer!;
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
