import DataLoader from "dataloader";
import type { GraphQLResolveInfo } from "graphql";
import { groupLoader, loaderPerKey, rowLoader, selectColumns, type Viewer } from "@pooya/platform";
import type { AttendanceDb } from "./db.ts";
import type { Attendance } from "./attendance.ts";
import type { AttendanceRecord, CourseReplica } from "./generated/prisma/client.ts";

/**
 * An attendance record as its resolvers read it: a whole Prisma row (after a write), or only
 * the columns a query's selection asked for (entity batches, see `recordsOfStudents`).
 */
export type AttendanceRecordRow = Pick<AttendanceRecord, "studentId" | "courseId"> & Partial<Omit<AttendanceRecord, "date">> & { date?: Date | string };

/** The column behind each AttendanceRecord field, named as its resolver reads it. */
const RECORD_COLUMNS = {
  id: "id",
  date: "to_char(date, 'YYYY-MM-DD') AS date",
  status: "status",
  markedAt: `marked_at AS "markedAt"`,
  markedBy: `marked_by_id AS "markedById"`,
} as const;
const RECORD_KEYS = [`student_id AS "studentId"`, `course_id AS "courseId"`];

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
  const recordLoaders = loaderPerKey<DataLoader<string, AttendanceRecordRow[], unknown>>();
  return {
    course: rowLoader<string, CourseReplica>((ids) => db.prisma.courseReplica.findMany({ where: { courseId: { in: [...ids] } } }), (c) => c.courseId),
    coursesTaughtBy: groupLoader<string, CourseReplica>(
      (ids) => db.prisma.courseReplica.findMany({ where: { teacherId: { in: [...ids] } } }),
      (c) => c.teacherId,
    ),
    /**
     * Students' records, newest first, in one course or all: one SELECT per request for all the
     * students of an entity batch, with only the columns the selection asks for.
     */
    recordsOfStudents: (info: GraphQLResolveInfo, courseId: string | null) => {
      const columns = selectColumns(info, RECORD_COLUMNS, RECORD_KEYS);
      return recordLoaders(`${courseId}\u0000${columns}`, () =>
        groupLoader<string, AttendanceRecordRow>(
          (ids) =>
            courseId
              ? db.read(`SELECT ${columns} FROM attendance_records WHERE course_id = $1::uuid AND student_id = ANY($2::uuid[]) ORDER BY date DESC`, [courseId, ids])
              : db.read(`SELECT ${columns} FROM attendance_records WHERE student_id = ANY($1::uuid[]) ORDER BY date DESC, course_id ASC`, [ids]),
          (r) => r.studentId,
        ));
    },
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
