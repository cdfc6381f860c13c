import DataLoader from "dataloader";
import type { GraphQLResolveInfo } from "graphql";
import { type Viewer } from "@pooya/identity";
import {
  groupLoader,
  loaderPerKey,
  ownedPages,
  rowLoader,
  selectColumns,
  type Connection,
  type OwnedRow,
} from "@pooya/subgraph-kit";
import type { AttendanceDb } from "./service.ts";
import type { Attendance } from "./attendance.ts";
import type { AttendanceRecord, CourseReplica } from "./generated/prisma/client.ts";

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
const RECORD_JSON = {
  id: `'id', id`,
  date: `'date', to_char(date, 'YYYY-MM-DD')`,
  status: `'status', status`,
  markedAt: `'markedAt', to_char(marked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`,
  markedBy: `'markedById', marked_by_id`,
} as const;

/** A record in a page: positioned by (date, id), newest day first. */
export type PagedRecord = AttendanceRecordRow & { id: string; createdAt: Date };
/** A page of a student's records. */
export type AttendanceRecordPage = Connection<PagedRecord>;

/** Which of a student's records a page holds: one course or all, only the taught courses (a teacher's view) or all. */
export interface RecordScope {
  courseId: string | null;
  courseIds: string[] | null;
}

const RECORD_SCOPE = `($2::uuid IS NULL OR course_id = $2::uuid) AND ($3::uuid[] IS NULL OR course_id = ANY($3::uuid[]))`;

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
            `SELECT * FROM (
               SELECT student_id AS "owner", id, student_id AS "studentId", course_id AS "courseId",
                      to_char(date, 'YYYY-MM-DD') AS date, (date::timestamp AT TIME ZONE 'UTC') AS "createdAt",
                      status, marked_by_id AS "markedById", marked_at AS "markedAt",
                      row_number() OVER (PARTITION BY student_id ORDER BY date DESC, id ASC) AS n
               FROM attendance_records
               WHERE student_id = ANY($1::uuid[]) AND ${RECORD_SCOPE}
                 AND ($4::date IS NULL OR date < $4::date OR (date = $4::date AND id > $5::uuid))
             ) page WHERE n <= $6 ORDER BY "owner", n`,
            [
              studentIds,
              scope.courseId,
              scope.courseIds,
              after?.createdAt.toISOString().slice(0, 10) ?? null,
              after?.id ?? null,
              take,
            ],
          ),
        ),
      ),
    /** How many records each student has in the scope (a page's totalCount), one SELECT per batch. */
    recordCounts: (scope: RecordScope) =>
      countsByScope(
        scopeKey(scope),
        () =>
          new DataLoader<string, number>(async (studentIds) => {
            const rows = await db.read<{ studentId: string; count: number }>(
              `SELECT student_id AS "studentId", count(*)::int AS count FROM attendance_records WHERE student_id = ANY($1::uuid[]) AND ${RECORD_SCOPE} GROUP BY student_id`,
              [studentIds, scope.courseId, scope.courseIds],
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
      const fields = selectColumns(info, RECORD_JSON, courseId ? [] : [`'courseId', course_id`]);
      return recordLoaders(
        `${courseId}\u0000${fields}`,
        () =>
          new DataLoader<string, AttendanceRecordRow[]>(
            async (ids) => {
              const rows = courseId
                ? await db.read<StudentRecords>(
                    `SELECT student_id AS "studentId", json_agg(json_build_object(${fields}) ORDER BY date DESC) AS records FROM attendance_records WHERE course_id = $1::uuid AND student_id = ANY($2::uuid[]) GROUP BY student_id`,
                    [courseId, ids],
                  )
                : await db.read<StudentRecords>(
                    `SELECT student_id AS "studentId", json_agg(json_build_object(${fields}) ORDER BY date DESC, course_id ASC) AS records FROM attendance_records WHERE student_id = ANY($1::uuid[]) GROUP BY student_id`,
                    [ids],
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
      const rows = await db.read<{ courseId: string; total: number; attended: number }>(
        `SELECT course_id AS "courseId", count(*)::int AS total, (count(*) FILTER (WHERE status IN ('PRESENT', 'LATE')))::int AS attended
         FROM attendance_records WHERE course_id = ANY($1::uuid[]) GROUP BY course_id`,
        [courseIds],
      );
      const byCourse = new Map(rows.map((r) => [r.courseId, r]));
      return courseIds.map((id) => {
        const counts = byCourse.get(id);
        return counts && counts.total > 0 ? counts.attended / counts.total : null;
      });
    }),
  };
}
