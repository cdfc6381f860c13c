// The attendance subgraph on its own database, with the courses service whose events feed its
// enrollment replica (and users, which courses asks who is a student), called directly as the
// gateway calls them: marking, and marking decided by the replica.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  OPS,
  createTenv,
  createTestUser,
  day,
  errorCodes,
  metricSum,
  seededAdmin,
  uniqueCode,
  type ServiceHandle,
  type Tenv,
  type TestUser,
} from "@pooya/e2e";

let tenv: Tenv;
let users: ServiceHandle<"users">;
let courses: ServiceHandle<"courses">;
let attendance: ServiceHandle<"attendance">;
let teacher: TestUser;
beforeAll(async () => {
  tenv = await createTenv();
  users = await tenv.service("users");
  courses = await tenv.service("courses");
  attendance = await tenv.service("attendance");
  // No background delivery, so that the tests prove the request-time catch-up, not the feed.
  await attendance.running!.replica.pause();
  teacher = await createTestUser(users, "TEACHER");
});
afterAll(() => tenv?.dispose());

async function createCourse(): Promise<{ id: string; code: string }> {
  const r = await courses.execute({
    query: `mutation($i: CreateCourseInput!) { createCourse(input: $i) { id code } }`,
    variables: { i: { code: uniqueCode(), title: "A course", capacity: 30 } },
    viewer: teacher.viewer,
  });
  if (!r.data?.createCourse) throw new Error(`createCourse failed: ${JSON.stringify(r.errors)}`);
  return r.data.createCourse;
}
async function enroll(student: TestUser, courseId: string) {
  const r = await courses.execute({ query: OPS.enroll, variables: { c: courseId }, viewer: student.viewer });
  if (!r.data?.enroll) throw new Error(`enroll failed: ${JSON.stringify(r.errors)}`);
}
// The Course here is attendance's reference (its id); the code comes from courses through the gateway.
const MARK = `mutation($i: MarkAttendanceInput!) { markAttendance(input: $i) { id date status student { id } markedBy { id } course { id } } }`;
const mark = (by: TestUser, input: Record<string, unknown>) =>
  attendance.execute({ query: MARK, variables: { i: input }, viewer: by.viewer });
/** Calls attendance has made to courses so far (feed reads and enrollment checks; its background delivery is paused here). */
const callsToCourses = () =>
  metricSum(attendance.url, "upstream_request_duration_seconds_count", { upstream: "courses" });
const replicaRows = async () =>
  (
    await attendance.db.query(
      "SELECT course_id, student_id, enrolled, last_sequence FROM enrollment_replicas ORDER BY course_id, student_id",
    )
  ).rows;

describe("markAttendance", () => {
  test("the teacher marks an enrolled student; re-marking the day updates the one record; a stranger is NOT_ENROLLED", async () => {
    const c = await createCourse();
    const s = await createTestUser(users, "STUDENT");
    await enroll(s, c.id);
    const first = await mark(teacher, { courseId: c.id, studentId: s.id, date: day(0), status: "ABSENT" });
    expect(first.errors).toBeUndefined();
    expect(first.data?.markAttendance).toMatchObject({
      status: "ABSENT",
      student: { id: s.id },
      markedBy: { id: teacher.id },
      course: { id: c.id },
    });
    const second = await mark(teacher, { courseId: c.id, studentId: s.id, date: day(0), status: "LATE" });
    expect(second.data?.markAttendance).toMatchObject({ id: first.data?.markAttendance.id, status: "LATE" });
    const { rows } = await attendance.db.query("SELECT status FROM attendance_records WHERE course_id = $1", [c.id]);
    expect(rows).toEqual([{ status: "LATE" }]);
    const stranger = await createTestUser(users, "STUDENT");
    expect(
      errorCodes(await mark(teacher, { courseId: c.id, studentId: stranger.id, date: day(0), status: "PRESENT" })),
    ).toEqual(["NOT_ENROLLED"]);
    expect(
      errorCodes(await mark(stranger, { courseId: c.id, studentId: s.id, date: day(0), status: "PRESENT" })),
    ).toEqual(["FORBIDDEN"]);
  });
});

describe("enrollment replication", () => {
  // The three tests below moved from e2e/test/attendance.test.ts: only attendance and courses are involved.
  test("enroll then mark at once works (no sleeps); an enrollment the replica holds is marked without asking courses", async () => {
    const c = await createCourse();
    const s = await createTestUser(users, "STUDENT");
    await enroll(s, c.id);
    const marked = await mark(teacher, { courseId: c.id, studentId: s.id, date: day(0), status: "PRESENT" });
    expect(marked.errors).toBeUndefined();
    // The first mark caught up (the enrollment was newer than the replica); the next ones need nothing from courses.
    const before = await callsToCourses();
    for (const date of [day(-1), day(-2)])
      expect((await mark(teacher, { courseId: c.id, studentId: s.id, date, status: "LATE" })).errors).toBeUndefined();
    expect(await callsToCourses()).toBe(before);
  });

  test("a drop is refused once it reached the replica; enrolled again, the student is marked at once (no sleeps)", async () => {
    const c = await createCourse();
    const s = await createTestUser(users, "STUDENT");
    await enroll(s, c.id);
    await courses.execute({ query: OPS.drop, variables: { c: c.id, s: s.id }, viewer: s.viewer });
    await attendance.running!.replica.catchUp(); // what the background delivery does within milliseconds
    expect(
      errorCodes(await mark(teacher, { courseId: c.id, studentId: s.id, date: day(-1), status: "PRESENT" })),
    ).toEqual(["NOT_ENROLLED"]);
    // The replica holds a drop: not a positive fact, so the mark catches up and sees the new enrollment.
    await enroll(s, c.id);
    expect(
      (await mark(teacher, { courseId: c.id, studentId: s.id, date: day(-1), status: "PRESENT" })).errors,
    ).toBeUndefined();
  });

  test("the same events delivered twice are applied once", async () => {
    await attendance.running!.replica.catchUp();
    const replicaBefore = await replicaRows();
    const inboxBefore = Number((await attendance.db.query("SELECT count(*) FROM inbox_events")).rows[0].count);
    expect(inboxBefore).toBeGreaterThan(0);
    // Forget how far we read: the whole feed is delivered again.
    await attendance.db.query("UPDATE replication_cursors SET last_sequence = 0");
    const applied = await attendance.running!.replica.catchUp();
    expect(applied).toBe(0);
    expect(Number((await attendance.db.query("SELECT count(*) FROM inbox_events")).rows[0].count)).toBe(inboxBefore);
    expect(await replicaRows()).toEqual(replicaBefore);
  });
});

describe("a course given to another teacher (CourseUpdated)", () => {
  test("the new teacher marks at once (the replica catches up); once it has, the old teacher is FORBIDDEN", async () => {
    const c = await createCourse();
    const s = await createTestUser(users, "STUDENT");
    await enroll(s, c.id);
    await attendance.running!.replica.catchUp();
    const next = await createTestUser(users, "TEACHER");
    const changed = await courses.execute({
      query: `mutation($id: ID!, $i: UpdateCourseInput!) { updateCourse(id: $id, input: $i) { teacher { id } } }`,
      variables: { id: c.id, i: { teacherId: next.id } },
      viewer: await seededAdmin(users),
    });
    expect(changed.data?.updateCourse.teacher.id).toBe(next.id);
    // Background delivery is paused: the replica still names the old teacher, so refusing the
    // new one would be a guess; the mark catches up first.
    const byNext = await mark(next, { courseId: c.id, studentId: s.id, date: day(0), status: "PRESENT" });
    expect(byNext.errors).toBeUndefined();
    expect(byNext.data?.markAttendance.markedBy.id).toBe(next.id);
    const { rows } = await attendance.db.query("SELECT teacher_id, code FROM course_replicas WHERE course_id = $1", [
      c.id,
    ]);
    expect(rows).toEqual([{ teacher_id: next.id, code: c.code }]);
    expect(
      errorCodes(await mark(teacher, { courseId: c.id, studentId: s.id, date: day(-1), status: "PRESENT" })),
    ).toEqual(["FORBIDDEN"]);
  });
});
