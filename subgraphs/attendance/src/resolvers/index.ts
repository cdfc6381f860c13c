import { DateScalar, DateTimeScalar, decodeCursor, isUuid, pageSize, toConnection } from "@pooya/subgraph-kit";
import type { Resolvers } from "../__generated__/resolvers-types.ts";

const ref = (id: string) => ({ id });

// Who may call what is declared in schema.graphql (@requiresScopes, @policy) and checked by the
// subgraph kit before these run; `viewer!` is signed in wherever a field says so. Whether a
// teacher teaches the course a root field names depends on its input: checked by the domain.

export const resolvers: Resolvers = {
  Date: DateScalar,
  DateTime: DateTimeScalar,

  Query: {
    courseAttendance: (_, { courseId, date }, { viewer, attendance, replicaPosition }) =>
      attendance.ofCourseOnDay(viewer!, courseId, date, replicaPosition),
  },

  Mutation: {
    markAttendance: (_, { input }, { viewer, attendance, replicaPosition }) =>
      attendance.mark(viewer!, input, replicaPosition),
    markCourseAttendance: (_, { input }, { viewer, attendance, replicaPosition }) =>
      attendance.markMany(viewer!, input, replicaPosition),
  },

  AttendanceRecord: {
    course: (r) => ref(r.courseId),
    student: (r) => ref(r.studentId),
    markedBy: (r) => ref(r.markedById!), // selected whenever markedBy is
  },

  AttendanceRecordConnection: {
    totalCount: (page) => page.totalCount(),
  },

  Course: {
    __resolveReference: ({ id }) => ({ id }),
    attendanceRate: ({ id }, _, { loaders }) => (isUuid(id) ? loaders.attendanceRate.load(id) : null),
  },

  User: {
    __resolveReference: ({ id }) => ({ id }),
    attendance: async ({ id }, { courseId }, { viewer, loaders }, info) => {
      const me = viewer!;
      if (!isUuid(id) || (courseId != null && !isUuid(courseId))) return [];
      // Teachers see a student's attendance in the courses they teach.
      const taught =
        me.role === "TEACHER" && me.userId !== id
          ? new Set((await loaders.coursesTaughtBy.load(me.userId)).map((c) => c.courseId))
          : null;
      if (taught && courseId && !taught.has(courseId)) return [];
      const records = await loaders.recordsOfStudents(info, courseId ?? null).load(id);
      return taught && !courseId ? records.filter((r) => taught.has(r.courseId)) : records;
    },
    attendanceConnection: async ({ id }, { courseId, first, after }, { viewer, loaders }) => {
      const me = viewer!; // the policy self_or_teacher_or_staff (schema.graphql) was checked by the kit
      const size = pageSize(first);
      decodeCursor(after); // a bad cursor is BAD_USER_INPUT even when the page is empty
      // Teachers see a student's attendance in the courses they teach.
      const taught =
        me.role === "TEACHER" && me.userId !== id
          ? (await loaders.coursesTaughtBy.load(me.userId)).map((c) => c.courseId)
          : null;
      if (!isUuid(id) || (courseId != null && (!isUuid(courseId) || (taught && !taught.includes(courseId)))))
        return toConnection([], size, () => Promise.resolve(0));
      const scope = { courseId: courseId ?? null, courseIds: courseId ? null : taught };
      const page = await loaders.recordPages(scope)(id, { first, after });
      return toConnection(page.rows, page.size, () => loaders.recordCounts(scope).load(id));
    },
  },
};
