import DataLoader from "dataloader";
import { groupLoader, rowLoader, type Viewer } from "@pooya/platform";
import type { AttendanceDb } from "./db.ts";
import type { Attendance } from "./attendance.ts";
import type { AttendanceRecord, CourseReplica } from "./generated/prisma/client.ts";

export interface AttendanceContext {
  viewer: Viewer;
  db: AttendanceDb;
  attendance: Attendance;
  /** The enrollment replica's pull counter when this request started. */
  replicaPosition: number;
  loaders: ReturnType<typeof createLoaders>;
}

export interface AttendanceRate {
  courseId: string;
  rate: number | null;
}

export function createLoaders(db: AttendanceDb) {
  return {
    course: rowLoader<string, CourseReplica>((ids) => db.prisma.courseReplica.findMany({ where: { courseId: { in: [...ids] } } }), (c) => c.courseId),
    coursesTaughtBy: groupLoader<string, CourseReplica>(
      (ids) => db.prisma.courseReplica.findMany({ where: { teacherId: { in: [...ids] } } }),
      (c) => c.teacherId,
    ),
    recordsOfStudent: groupLoader<string, AttendanceRecord>(
      (ids) => db.prisma.attendanceRecord.findMany({ where: { studentId: { in: [...ids] } }, orderBy: [{ date: "desc" }, { courseId: "asc" }] }),
      (r) => r.studentId,
    ),
    attendanceRate: new DataLoader<string, number | null>(async (courseIds) => {
      const rows = await db.prisma.attendanceRecord.groupBy({
        by: ["courseId", "status"],
        where: { courseId: { in: [...courseIds] } },
        _count: { _all: true },
      });
      return courseIds.map((id) => {
        const mine = rows.filter((r) => r.courseId === id);
        const total = mine.reduce((n, r) => n + r._count._all, 0);
        const attended = mine.filter((r) => r.status === "PRESENT" || r.status === "LATE").reduce((n, r) => n + r._count._all, 0);
        return total === 0 ? null : attended / total;
      });
    }),
  };
}
