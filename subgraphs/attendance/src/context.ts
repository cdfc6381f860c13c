import DataLoader from "dataloader";
import type { GraphQLResolveInfo } from "graphql";
import { type Viewer } from "@pooya/identity";
import {
  groupLoader,
  loaderPerKey,
  ownedPages,
  rowLoader,
  selectedColumns,
  type Connection,
  type OwnedRow,
} from "@pooya/subgraph-kit";
import { asUuid, asUuids, sql, type ExpressionBuilder, type RawBuilder, type SelectQueryBuilder } from "@pooya/events";
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

/** A record in a page: positioned by (date, id), newest day first. */
export type PagedRecord = AttendanceRecordRow & { id: string; createdAt: Date };
/** A page of a student's records. */
export type AttendanceRecordPage = Connection<PagedRecord>;

/** Which of a student's records a page holds: one course or all, only the taught courses (a teacher's view) or all. */
export interface RecordScope {
  courseId: string | null;
  courseIds: string[] | null;
}

/** Narrows a read of attendance_records to a scope. */
function inScope<Q extends SelectQueryBuilder<DB, "attendance_records", object>>(query: Q, scope: RecordScope): Q {
  let q = query;
  if (scope.courseId !== null) q = q.where("course_id", "=", asUuid(scope.courseId)) as Q;
  if (scope.courseIds !== null) q = q.where((e) => e("course_id", "=", e.fn.any(asUuids(scope.courseIds!)))) as Q;
  return q;
}

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
  const pagesByScope = loaderPerKey<ReturnType<typeof ownedPages<PagedRecord>>>();
  const countsByScope = loaderPerKey<DataLoader<string, number>>();
  const scopeKey = (scope: RecordScope) => `${scope.courseId}\u0000${scope.courseIds?.join(",")}`;
  return {
    /** A page of each student's records (newest day first), for a batch of students in one SELECT. */
    recordPages: (scope: RecordScope) =>
      pagesByScope(scopeKey(scope), () =>
        ownedPages<PagedRecord>((studentIds, take, after) =>
          db.read<OwnedRow<PagedRecord>>(
            tables
              .selectFrom((eb) =>
                inScope(eb.selectFrom("attendance_records"), scope)
                  .select((e) => [
                    "student_id as owner",
                    "id",
                    "student_id as studentId",
                    "course_id as courseId",
                    sql<string>`to_char(${e.ref("date")}, 'YYYY-MM-DD')`.as("date"),
                    sql<Date>`(${e.ref("date")}::timestamp AT TIME ZONE 'UTC')`.as("createdAt"),
                    "status",
                    "marked_by_id as markedById",
                    "marked_at as markedAt",
                    sql<string>`row_number() OVER (PARTITION BY ${e.ref("student_id")} ORDER BY ${e.ref("date")} DESC, ${e.ref("id")} ASC)`.as(
                      "n",
                    ),
                  ])
                  .where((e) => e("student_id", "=", e.fn.any(asUuids(studentIds))))
                  .$if(after !== null, (q) => {
                    const day = after!.createdAt.toISOString().slice(0, 10);
                    return q.where((e) =>
                      e.or([
                        e("date", "<", sql<Date>`${day}::date`),
                        e.and([e("date", "=", sql<Date>`${day}::date`), e("id", ">", asUuid(after!.id))]),
                      ]),
                    );
                  })
                  .as("page"),
              )
              .selectAll()
              .where("n", "<=", String(take))
              .orderBy("owner")
              .orderBy("n"),
          ),
        ),
      ),
    /** How many records each student has in the scope (a page's totalCount), one SELECT per batch. */
    recordCounts: (scope: RecordScope) =>
      countsByScope(
        scopeKey(scope),
        () =>
          new DataLoader<string, number>(async (studentIds) => {
            const rows = await db.read(
              inScope(tables.selectFrom("attendance_records"), scope)
                .select(["student_id as studentId", sql<number>`count(*)::int`.as("count")])
                .where((e) => e("student_id", "=", e.fn.any(asUuids(studentIds))))
                .groupBy("student_id"),
            );
            const byStudent = new Map(rows.map((r) => [r.studentId, r.count]));
            return studentIds.map((id) => byStudent.get(id) ?? 0);
          }),
      ),
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
