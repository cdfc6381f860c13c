import { forbidden } from "@pooya/runtime";
import { requireViewer } from "@pooya/identity";
import { DateScalar, DateTimeScalar, decodeCursor, isUuid, pageSize, toConnection } from "@pooya/subgraph-kit";
import type { Resolvers } from "../__generated__/resolvers-types.ts";

const ref = (id: string) => ({ id });

export const resolvers: Resolvers = {
  Date: DateScalar,
  DateTime: DateTimeScalar,

  Query: {
    courseAttendance: (_, { courseId, date }, { viewer, attendance, replicaPosition }) =>
      attendance.ofCourseOnDay(requireViewer(viewer), courseId, date, replicaPosition),
  },

  Mutation: {
    markAttendance: (_, { input }, { viewer, attendance, replicaPosition }) =>
      attendance.mark(requireViewer(viewer), input, replicaPosition),
    markCourseAttendance: (_, { input }, { viewer, attendance, replicaPosition }) =>
      attendance.markMany(requireViewer(viewer), input, replicaPosition),
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
    attendanceRate: async ({ id }, _, { viewer, loaders }) => {
      const me = requireViewer(viewer);
      if (!isUuid(id)) return null;
      if (me.role !== "STAFF") {
        const course = await loaders.course.load(id);
        if (me.role !== "TEACHER" || course?.teacherId !== me.userId)
          throw forbidden("Only the course's teacher and staff can see its attendance rate.");
      }
      return loaders.attendanceRate.load(id);
    },
  },

  User: {
    __resolveReference: ({ id }) => ({ id }),
    attendance: async ({ id }, { courseId }, { viewer, loaders }, info) => {
      const me = requireViewer(viewer);
      if (me.role === "STUDENT" && me.userId !== id) throw forbidden("Students can only see their own attendance.");
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
      const me = requireViewer(viewer);
      if (me.role === "STUDENT" && me.userId !== id) throw forbidden("Students can only see their own attendance.");
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
