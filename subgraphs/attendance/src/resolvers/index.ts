import { requireViewer, DateScalar, DateTimeScalar, forbidden, isUuid } from "@pooya/platform";
import type { AttendanceContext } from "../context.ts";
import type { MarkAttendanceInput, MarkCourseAttendanceInput } from "../attendance.ts";
import type { AttendanceRecord } from "../generated/prisma/client.ts";

const ref = <T extends "User" | "Course">(__typename: T, id: string) => ({ __typename, id });

export const resolvers = {
  Date: DateScalar,
  DateTime: DateTimeScalar,

  Query: {
    courseAttendance: (_: unknown, args: { courseId: string; date: Date }, { viewer, attendance, replicaPosition }: AttendanceContext) =>
      attendance.ofCourseOnDay(requireViewer(viewer), args.courseId, args.date, replicaPosition),
  },

  Mutation: {
    markAttendance: (_: unknown, { input }: { input: MarkAttendanceInput }, { viewer, attendance, replicaPosition }: AttendanceContext) =>
      attendance.mark(requireViewer(viewer), input, replicaPosition),
    markCourseAttendance: (_: unknown, { input }: { input: MarkCourseAttendanceInput }, { viewer, attendance, replicaPosition }: AttendanceContext) =>
      attendance.markMany(requireViewer(viewer), input, replicaPosition),
  },

  AttendanceRecord: {
    course: (r: AttendanceRecord) => ref("Course", r.courseId),
    student: (r: AttendanceRecord) => ref("User", r.studentId),
    markedBy: (r: AttendanceRecord) => ref("User", r.markedById),
  },

  Course: {
    __resolveReference: ({ id }: { id: string }) => ({ id }),
    attendanceRate: async ({ id }: { id: string }, _: unknown, { viewer, loaders }: AttendanceContext) => {
      const me = requireViewer(viewer);
      if (!isUuid(id)) return null;
      if (me.role !== "STAFF") {
        const course = await loaders.course.load(id);
        if (me.role !== "TEACHER" || course?.teacherId !== me.userId) throw forbidden("Only the course's teacher and staff can see its attendance rate.");
      }
      return loaders.attendanceRate.load(id);
    },
  },

  User: {
    __resolveReference: ({ id }: { id: string }) => ({ id }),
    attendance: async ({ id }: { id: string }, args: { courseId?: string | null }, { viewer, loaders }: AttendanceContext) => {
      const me = requireViewer(viewer);
      if (me.role === "STUDENT" && me.userId !== id) throw forbidden("Students can only see their own attendance.");
      if (!isUuid(id)) return [];
      let records = await loaders.recordsOfStudent.load(id);
      if (args.courseId) records = records.filter((r) => r.courseId === args.courseId);
      if (me.role === "TEACHER" && me.userId !== id) {
        // Teachers see a student's attendance in the courses they teach.
        const taught = new Set((await loaders.coursesTaughtBy.load(me.userId)).map((c) => c.courseId));
        records = records.filter((r) => taught.has(r.courseId));
      }
      return records;
    },
  },
};
