// Attendance through the gateway, on a replica of enrollment fed by courses' outbox.
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import { errorCodes, startFederation, type Federation } from "../src/harness.ts";
import { OPS, createCourse, day, enroll } from "../src/fixtures.ts";

let fed: Federation;
let teacher: Awaited<ReturnType<Federation["createUser"]>>;
let otherTeacher: typeof teacher;
let student: typeof teacher;
let course: { id: string; code: string };
beforeAll(async () => {
  fed = await startFederation();
  // No background delivery, so that the tests prove the request-time catch-up, not the feed.
  await fed.services.attendance.replica.pause();
  teacher = await fed.createUser("TEACHER");
  otherTeacher = await fed.createUser("TEACHER");
  student = await fed.createUser("STUDENT");
  course = await createCourse(fed, teacher);
  await enroll(fed, student.token, course.id);
});
afterAll(() => fed?.close());

const mark = (token: string, input: Record<string, unknown>) =>
  fed.execute({ query: OPS.mark, variables: { i: input }, token });
const replicaRows = async () =>
  (
    await fed.db.attendance.query(
      "SELECT course_id, student_id, enrolled, last_sequence FROM enrollment_replicas ORDER BY course_id, student_id",
    )
  ).rows;

describe("markAttendance", () => {
  test("the teacher marks an enrolled student; re-marking the same day updates the one record", async () => {
    const first = await mark(teacher.token, {
      courseId: course.id,
      studentId: student.id,
      date: day(0),
      status: "ABSENT",
    });
    expect(first.errors).toBeUndefined();
    expect(first.data?.markAttendance).toMatchObject({
      status: "ABSENT",
      date: day(0),
      student: { id: student.id },
      markedBy: { id: teacher.id },
      course: { id: course.id, code: course.code },
    });
    const second = await mark(fed.admin.token, {
      courseId: course.id,
      studentId: student.id,
      date: day(0),
      status: "LATE",
    });
    expect(second.data?.markAttendance).toMatchObject({
      id: first.data?.markAttendance.id,
      status: "LATE",
      markedBy: { id: fed.admin.userId },
    });
    const { rows } = await fed.db.attendance.query(
      "SELECT count(*) FROM attendance_records WHERE course_id = $1 AND student_id = $2",
      [course.id, student.id],
    );
    expect(Number(rows[0].count)).toBe(1);
    // Read back through the student (entity batches aggregate records in SQL): every field as the write answered it.
    const fields = "id date status markedAt markedBy { id } course { id } student { id }";
    const written = (
      await fed.execute({
        query: `mutation($i: MarkAttendanceInput!) { markAttendance(input: $i) { ${fields} } }`,
        variables: { i: { courseId: course.id, studentId: student.id, date: day(0), status: "LATE" } },
        token: fed.admin.token,
      })
    ).data?.markAttendance;
    expect(written?.markedAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    for (const courseId of [course.id, null]) {
      const read = await fed.execute({
        query: `query($c: ID) { me { attendance(courseId: $c) { ${fields} } } }`,
        variables: { c: courseId },
        token: student.token,
      });
      expect(read.errors).toBeUndefined();
      expect(read.data?.me.attendance).toEqual([written]);
    }
  });

  test("unknown course NOT_FOUND; not enrolled NOT_ENROLLED; another teacher or a student FORBIDDEN", async () => {
    const stranger = await fed.createUser("STUDENT");
    expect(
      errorCodes(
        await mark(teacher.token, {
          courseId: "00000000-0000-4000-8000-000000000000",
          studentId: student.id,
          date: day(0),
          status: "PRESENT",
        }),
      ),
    ).toEqual(["NOT_FOUND"]);
    expect(
      errorCodes(
        await mark(teacher.token, { courseId: course.id, studentId: stranger.id, date: day(0), status: "PRESENT" }),
      ),
    ).toEqual(["NOT_ENROLLED"]);
    expect(
      errorCodes(
        await mark(otherTeacher.token, { courseId: course.id, studentId: student.id, date: day(0), status: "PRESENT" }),
      ),
    ).toEqual(["FORBIDDEN"]);
    expect(
      errorCodes(
        await mark(student.token, { courseId: course.id, studentId: student.id, date: day(0), status: "PRESENT" }),
      ),
    ).toEqual(["FORBIDDEN"]);
  });

  test("a malformed or future date is BAD_USER_INPUT", async () => {
    expect(
      errorCodes(
        await mark(teacher.token, {
          courseId: course.id,
          studentId: student.id,
          date: "2026-02-30",
          status: "PRESENT",
        }),
      ),
    ).toEqual(["BAD_USER_INPUT"]);
    expect(
      errorCodes(
        await mark(teacher.token, { courseId: course.id, studentId: student.id, date: "yesterday", status: "PRESENT" }),
      ),
    ).toEqual(["BAD_USER_INPUT"]);
    expect(
      errorCodes(
        await mark(teacher.token, { courseId: course.id, studentId: student.id, date: day(5), status: "PRESENT" }),
      ),
    ).toEqual(["BAD_USER_INPUT"]);
  });
});

describe("reading attendance", () => {
  test("courseAttendance and attendanceRate for the teacher and STAFF only", async () => {
    const c = await createCourse(fed, teacher);
    const s2 = await fed.createUser("STUDENT");
    await enroll(fed, student.token, c.id);
    await enroll(fed, s2.token, c.id);
    await mark(teacher.token, { courseId: c.id, studentId: student.id, date: day(-1), status: "PRESENT" });
    await mark(teacher.token, { courseId: c.id, studentId: s2.id, date: day(-1), status: "ABSENT" });
    await mark(teacher.token, { courseId: c.id, studentId: s2.id, date: day(-2), status: "LATE" });
    await mark(teacher.token, { courseId: c.id, studentId: student.id, date: day(-2), status: "EXCUSED" });

    const Q = `query($c: ID!, $d: Date!) { courseAttendance(courseId: $c, date: $d) { student { id } status } course(id: $c) { attendanceRate } }`;
    const r = await fed.execute({ query: Q, variables: { c: c.id, d: day(-1) }, token: teacher.token });
    expect(r.errors).toBeUndefined();
    expect(r.data?.courseAttendance).toHaveLength(2);
    expect(r.data?.course.attendanceRate).toBeCloseTo(0.5); // PRESENT + LATE of 4 marks
    expect(
      errorCodes(await fed.execute({ query: Q, variables: { c: c.id, d: day(-1) }, token: otherTeacher.token })),
    ).toContain("FORBIDDEN");
    expect(
      errorCodes(
        await fed.execute({
          query: `query($c: ID!, $d: Date!) { courseAttendance(courseId: $c, date: $d) { id } }`,
          variables: { c: "00000000-0000-4000-8000-000000000000", d: day(0) },
          token: fed.admin.token,
        }),
      ),
    ).toEqual(["NOT_FOUND"]);
    const fresh = await createCourse(fed, teacher);
    expect(
      (
        await fed.execute({
          query: `query($c: ID!) { course(id: $c) { attendanceRate } }`,
          variables: { c: fresh.id },
          token: teacher.token,
        })
      ).data?.course.attendanceRate,
    ).toBeNull();
  });

  test("User.attendance: the student themself, their teacher (own courses only), STAFF; never another student", async () => {
    const own = await fed.execute({ query: `{ me { attendance { course { id } status } } }`, token: student.token });
    expect(own.errors).toBeUndefined();
    expect(own.data?.me.attendance.length).toBeGreaterThan(0);

    // Teachers and other students reach the student as a User reference through a course.
    const viaCourse = `query($c: ID!) { course(id: $c) { students { id attendance { course { id } } } } }`;
    const asTeacher = await fed.execute({ query: viaCourse, variables: { c: course.id }, token: teacher.token });
    expect(asTeacher.errors).toBeUndefined();
    const records = asTeacher.data?.course.students.find((s: any) => s.id === student.id).attendance;
    expect(records.length).toBeGreaterThan(0);
    const taught = await fed.execute({ query: `{ me { teachingCourses { id } } }`, token: teacher.token });
    const taughtIds = new Set(taught.data?.me.teachingCourses.map((c: any) => c.id));
    expect(records.every((r: any) => taughtIds.has(r.course.id))).toBe(true);

    const otherCourse = await createCourse(fed, otherTeacher);
    await enroll(fed, student.token, otherCourse.id);
    await mark(otherTeacher.token, {
      courseId: otherCourse.id,
      studentId: student.id,
      date: day(0),
      status: "PRESENT",
    });
    const asOther = await fed.execute({
      query: viaCourse,
      variables: { c: otherCourse.id },
      token: otherTeacher.token,
    });
    const seenByOther = asOther.data?.course.students.find((s: any) => s.id === student.id).attendance;
    expect(seenByOther).toEqual([{ course: { id: otherCourse.id } }]); // not the records of other teachers' courses

    const classmate = await fed.createUser("STUDENT");
    const peek = await fed.execute({
      query: `query($c: ID!) { course(id: $c) { id } }`,
      variables: { c: course.id },
      token: classmate.token,
    });
    expect(peek.data?.course.id).toBe(course.id);
    // Through an entity reference, as the gateway would send it:
    const direct = await fed.callSubgraph("attendance", {
      query: `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { attendance { id } } } }`,
      variables: { r: [{ __typename: "User", id: student.id }] },
      viewer: { userId: classmate.id, role: "STUDENT" },
    });
    expect(errorCodes(direct)).toEqual(["FORBIDDEN"]);
    expect(JSON.stringify(direct.data)).not.toContain(student.id);
  });
});

describe("enrollment replication", () => {
  // "enroll then mark at once works …", "a drop is refused once it reached the replica …" and "the same
  // events delivered twice are applied once" moved to subgraphs/attendance/test/attendance.test.ts.
  test("attendance down during enrollments: events wait in the outbox and the replica converges when it is back", async () => {
    const c = await createCourse(fed, teacher);
    const students = await Promise.all([1, 2, 3].map(() => fed.createUser("STUDENT")));
    await fed.services.attendance.replica.catchUp();
    await fed.stopService("attendance");

    for (const s of students) await enroll(fed, s.token, c.id);
    await fed.execute({ query: OPS.drop, variables: { c: c.id, s: students[0]!.id }, token: teacher.token });
    const whileDown = await fed.execute({
      query: `query($c: ID!) { course(id: $c) { enrollmentCount attendanceRate } }`,
      variables: { c: c.id },
      token: teacher.token,
    });
    expect(whileDown.data?.course.enrollmentCount).toBe(2); // courses answers; only attendance's field fails
    expect(errorCodes(whileDown)).toEqual(["SERVICE_UNAVAILABLE"]);

    // Back up: the start-up pull brings the replica up to date without any request asking.
    await fed.startService("attendance");
    await vi.waitFor(
      async () => {
        const rows = (await replicaRows()).filter((r) => r.course_id === c.id);
        expect(rows.map((r) => [r.student_id, r.enrolled]).sort()).toEqual(
          students.map((s, i) => [s.id, i !== 0]).sort(),
        );
      },
      { timeout: 10_000, interval: 100 },
    );
  });

  test("a long backlog after an outage: a mark waits at most the catch-up deadline and decides with courses' own answer", async () => {
    const c = await createCourse(fed, teacher);
    const kid = await fed.createUser("STUDENT");
    await fed.services.attendance.replica.catchUp();
    await fed.stopService("attendance");
    // 6 000 enrollment events pile up in courses' outbox while attendance is down, then the one that matters.
    await fed.db.courses.query(
      `INSERT INTO outbox_events (id, type, payload)
       SELECT gen_random_uuid(), 'StudentEnrolled', jsonb_build_object('courseId', gen_random_uuid()::text, 'studentId', gen_random_uuid()::text)
       FROM generate_series(1, 6000)`,
    );
    await enroll(fed, kid.token, c.id);
    await fed.startService("attendance");

    const started = Date.now();
    const r = await mark(teacher.token, { courseId: c.id, studentId: kid.id, date: day(0), status: "PRESENT" });
    const tookMs = Date.now() - started;
    expect(r.errors).toBeUndefined();
    expect(r.data?.markAttendance.status).toBe("PRESENT");
    // The deadline (1.5 s) and one direct question to courses, not the whole backlog.
    expect(tookMs).toBeLessThan(3_000);
    const behind = await fed.db.attendance.query(
      `SELECT last_sequence FROM replication_cursors WHERE source = 'courses'`,
    );
    const newest = await fed.db.courses.query(`SELECT max(sequence) AS max FROM outbox_events`);
    expect(BigInt(behind.rows[0]?.last_sequence ?? 0)).toBeLessThan(BigInt(newest.rows[0].max)); // it answered before the replica caught up
  }, 60_000);
});

describe("markCourseAttendance (roll call)", () => {
  const ROLL = `mutation($i: MarkCourseAttendanceInput!) { markCourseAttendance(input: $i) { student { id } status date } }`;

  test("marks a whole class at once, in order, updating marks already there", async () => {
    const c = await createCourse(fed, teacher);
    const kids = await Promise.all([1, 2, 3].map(() => fed.createUser("STUDENT")));
    for (const k of kids) await enroll(fed, k.token, c.id);
    await mark(teacher.token, { courseId: c.id, studentId: kids[0]!.id, date: day(0), status: "ABSENT" });
    const r = await fed.execute({
      query: ROLL,
      variables: {
        i: {
          courseId: c.id,
          date: day(0),
          marks: kids.map((k, i) => ({ studentId: k.id, status: i === 2 ? "LATE" : "PRESENT" })),
        },
      },
      token: teacher.token,
    });
    expect(r.errors).toBeUndefined();
    expect(r.data?.markCourseAttendance).toEqual(
      kids.map((k, i) => ({ student: { id: k.id }, status: i === 2 ? "LATE" : "PRESENT", date: day(0) })),
    );
    const { rows } = await fed.db.attendance.query("SELECT count(*) FROM attendance_records WHERE course_id = $1", [
      c.id,
    ]);
    expect(Number(rows[0].count)).toBe(3);
  });

  test("one student not enrolled: NOT_ENROLLED naming them, and nothing is written", async () => {
    const c = await createCourse(fed, teacher);
    const k = await fed.createUser("STUDENT");
    const stranger = await fed.createUser("STUDENT");
    await enroll(fed, k.token, c.id);
    const r = await fed.execute({
      query: ROLL,
      variables: {
        i: {
          courseId: c.id,
          date: day(0),
          marks: [
            { studentId: k.id, status: "PRESENT" },
            { studentId: stranger.id, status: "PRESENT" },
          ],
        },
      },
      token: teacher.token,
    });
    expect(errorCodes(r)).toEqual(["NOT_ENROLLED"]);
    expect(r.errors?.[0]?.extensions?.studentIds).toEqual([stranger.id]);
    const { rows } = await fed.db.attendance.query("SELECT count(*) FROM attendance_records WHERE course_id = $1", [
      c.id,
    ]);
    expect(Number(rows[0].count)).toBe(0);
  });

  test("another teacher FORBIDDEN; empty or duplicate marks BAD_USER_INPUT", async () => {
    const input = (marks: unknown[]) => ({ i: { courseId: course.id, date: day(0), marks } });
    expect(
      errorCodes(
        await fed.execute({
          query: ROLL,
          variables: input([{ studentId: student.id, status: "PRESENT" }]),
          token: otherTeacher.token,
        }),
      ),
    ).toEqual(["FORBIDDEN"]);
    expect(errorCodes(await fed.execute({ query: ROLL, variables: input([]), token: teacher.token }))).toEqual([
      "BAD_USER_INPUT",
    ]);
    expect(
      errorCodes(
        await fed.execute({
          query: ROLL,
          variables: input([
            { studentId: student.id, status: "PRESENT" },
            { studentId: student.id, status: "LATE" },
          ]),
          token: teacher.token,
        }),
      ),
    ).toEqual(["BAD_USER_INPUT"]);
  });
});
