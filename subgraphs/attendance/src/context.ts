import DataLoader from "dataloader";
import type { GraphQLResolveInfo } from "graphql";
import { type Viewer } from "@pooya/identity";
import { groupLoader, loaderPerKey, rowLoader, selectedColumns } from "@pooya/subgraph-kit";
import { asUuid, asUuids, sql, type ExpressionBuilder, type RawBuilder } from "@pooya/events";
import type { AttendanceDb } from "./service.ts";
import type { Attendance } from "./attendance.ts";
import type { AttendanceRecord, CourseReplica } from "./generated/prisma/client.ts";
import type { DB } from "./generated/kysely/database.ts";
import { tables } from "./tables.ts";

/**
 * An attendance record as its resolvers read it: a whole Prisma row (after a write), or only
 * the columns a query's selection asked for (entity batches, see `recordsOfStudents`).
 */
export type AttendanceRecordRow = Pick<AttendanceRecord, "studentId" | "courseId"> &
  Partial<Omit<AttendanceRecord, "date">> & { date?: Date | string };

/**
 * The value behind each AttendanceRecord field, as a key and value of json_build_object, named
 * as its resolver reads it (markedAt formatted as Date#toISOString would).
 */
type RecordJson = (eb: ExpressionBuilder<DB, "attendance_records">) => RawBuilder<unknown>;
const RECORD_JSON: Record<string, RecordJson> = {
  id: (eb) => sql`'id', ${eb.ref("id")}`,
  date: (eb) => sql`'date', to_char(${eb.ref("date")}, 'YYYY-MM-DD')`,
  status: (eb) => sql`'status', ${eb.ref("status")}`,
  markedAt: (eb) =>
    sql`'markedAt', to_char(${eb.ref("marked_at")} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`,
  markedBy: (eb) => sql`'markedById', ${eb.ref("marked_by_id")}`,
};
/** Besides the fields asked for, in reads across courses: each record's course. */
const NO_KEYS: RecordJson[] = [];
const COURSE_KEYS: RecordJson[] = [(eb) => sql`'courseId', ${eb.ref("course_id")}`];

/** One student's records, aggregated by Postgres into one JSON array. */
interface StudentRecords {
  studentId: string;
  records: AttendanceRecordRow[];
}

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
    course: rowLoader<string, CourseReplica>(
      (ids) => db.prisma.courseReplica.findMany({ where: { courseId: { in: [...ids] } } }),
      (c) => c.courseId,
    ),
    coursesTaughtBy: groupLoader<string, CourseReplica>(
      (ids) => db.prisma.courseReplica.findMany({ where: { teacherId: { in: [...ids] } } }),
      (c) => c.teacherId,
    ),
    /**
     * Students' records, newest first, in one course or all: one SELECT per request for all the
     * students of an entity batch, with only the fields the selection asks for. Postgres returns
     * one row per student holding that student's records as a JSON array: 200 rows and one
     * JSON.parse each for a class of 200, not 2 000 rows of separately decoded columns (the
     * largest cost of the attendance subgraph on a teacher's course report).
     */
    recordsOfStudents: (info: GraphQLResolveInfo, courseId: string | null) => {
      const fields = selectedColumns(info, RECORD_JSON, courseId ? NO_KEYS : COURSE_KEYS);
      return recordLoaders(
        `${courseId}\u0000${fields.key}`,
        () =>
          new DataLoader<string, AttendanceRecordRow[]>(
            async (ids) => {
              const records = tables
                .selectFrom("attendance_records")
                .where((eb) => eb("student_id", "=", eb.fn.any(asUuids(ids))))
                .groupBy("student_id");
              const object = (eb: ExpressionBuilder<DB, "attendance_records">) =>
                sql`json_build_object(${sql.join(fields.list.map((field) => field(eb)))})`;
              const rows: StudentRecords[] = courseId
                ? await db.read(
                    records
                      .select((eb) => [
                        "student_id as studentId",
                        sql<AttendanceRecordRow[]>`json_agg(${object(eb)} ORDER BY ${eb.ref("date")} DESC)`.as(
                          "records",
                        ),
                      ])
                      .where("course_id", "=", asUuid(courseId)),
                  )
                : await db.read(
                    records.select((eb) => [
                      "student_id as studentId",
                      sql<
                        AttendanceRecordRow[]
                      >`json_agg(${object(eb)} ORDER BY ${eb.ref("date")} DESC, ${eb.ref("course_id")} ASC)`.as(
                        "records",
                      ),
                    ]),
                  );
              const course = courseId?.toLowerCase(); // as Postgres writes a uuid
              const byStudent = new Map<string, AttendanceRecordRow[]>();
              for (const { studentId, records } of rows) {
                for (const record of records) {
                  record.studentId = studentId;
                  if (course) record.courseId = course;
                }
                byStudent.set(studentId, records);
              }
              return ids.map((id) => byStudent.get(id) ?? []);
            },
            { maxBatchSize: 1000 },
          ),
      );
    },
    /** Share of a course's records that are PRESENT or LATE (null before its first roll call): counted by Postgres, one row per course. */
    attendanceRate: new DataLoader<string, number | null>(async (courseIds) => {
      const rows = await db.read(
        tables
          .selectFrom("attendance_records")
          .select((eb) => [
            "course_id as courseId",
            sql<number>`${eb.fn.countAll()}::int`.as("total"),
            sql<number>`(${eb.fn.countAll().filterWhere("status", "in", ["PRESENT", "LATE"])})::int`.as("attended"),
          ])
          .where((eb) => eb("course_id", "=", eb.fn.any(asUuids(courseIds))))
          .groupBy("course_id"),
      );
      const byCourse = new Map(rows.map((r) => [r.courseId, r]));
      return courseIds.map((id) => {
        const counts = byCourse.get(id);
        return counts && counts.total > 0 ? counts.attended / counts.total : null;
      });
    }),
  };
}
