// The courses subgraph on its own database (and the users service it asks who a teacher or
// student is), called directly as the gateway calls it: the catalogue, enrollment rules, entities.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  OPS,
  createTenv,
  createTestUser,
  insertTestUsers,
  errorCodes,
  seededAdmin,
  uniqueCode,
  type ServiceHandle,
  type Tenv,
  type TestUser,
} from "@pooya/e2e";

let tenv: Tenv;
let users: ServiceHandle<"users">;
let courses: ServiceHandle<"courses">;
let staff: { userId: string; role: "STAFF" };
let teacher: TestUser;
let student: TestUser;
beforeAll(async () => {
  tenv = await createTenv();
  users = await tenv.service("users");
  courses = await tenv.service("courses");
  staff = await seededAdmin(users);
  teacher = await createTestUser(users, "TEACHER");
  student = await createTestUser(users, "STUDENT");
});
afterAll(() => tenv?.dispose());

const CREATE = `mutation($i: CreateCourseInput!) { createCourse(input: $i) { id code capacity enrollmentCount teacher { id } } }`;
const createCourse = async (input: { capacity?: number; teacherId?: string } = {}) => {
  const r = await courses.execute({
    query: CREATE,
    variables: { i: { code: uniqueCode(), title: "A course", capacity: input.capacity ?? 30, ...input } },
    viewer: input.teacherId ? staff : teacher.viewer,
  });
  if (!r.data?.createCourse) throw new Error(`createCourse failed: ${JSON.stringify(r.errors)}`);
  return r.data.createCourse as { id: string; code: string };
};
const enroll = (who: TestUser, courseId: string) =>
  courses.execute({ query: OPS.enroll, variables: { c: courseId }, viewer: who.viewer });

describe("createCourse", () => {
  test("STAFF names the teacher (users confirms the role); a student as teacher is BAD_USER_INPUT, an unknown user NOT_FOUND", async () => {
    const code = uniqueCode();
    const created = await courses.execute({
      query: CREATE,
      variables: { i: { code, title: "Algebra", capacity: 20, teacherId: teacher.id } },
      viewer: staff,
    });
    expect(created.errors).toBeUndefined();
    expect(created.data?.createCourse).toMatchObject({
      code,
      capacity: 20,
      enrollmentCount: 0,
      teacher: { id: teacher.id },
    });
    const asStudent = await courses.execute({
      query: CREATE,
      variables: { i: { code: uniqueCode(), title: "X", capacity: 5, teacherId: student.id } },
      viewer: staff,
    });
    expect(errorCodes(asStudent)).toEqual(["BAD_USER_INPUT"]);
    const unknown = await courses.execute({
      query: CREATE,
      variables: {
        i: { code: uniqueCode(), title: "X", capacity: 5, teacherId: "00000000-0000-4000-8000-000000000000" },
      },
      viewer: staff,
    });
    expect(errorCodes(unknown)).toEqual(["NOT_FOUND"]);
    const byStudent = await courses.execute({
      query: CREATE,
      variables: { i: { code: uniqueCode(), title: "X", capacity: 5 } },
      viewer: student.viewer,
    });
    expect(errorCodes(byStudent)).toEqual(["FORBIDDEN"]);
  });
});

describe("enrollment rules", () => {
  // The three tests below moved from e2e/test/courses.test.ts: only the courses subgraph is involved.
  test("a full course and a second enrollment are CONFLICT, with no change to the count", async () => {
    const course = await createCourse({ capacity: 1 });
    expect((await enroll(student, course.id)).errors).toBeUndefined();
    expect(errorCodes(await enroll(student, course.id))).toEqual(["CONFLICT"]);
    const other = await createTestUser(users, "STUDENT");
    const full = await enroll(other, course.id);
    expect(errorCodes(full)).toEqual(["CONFLICT"]);
    expect(full.errors?.[0]?.message).toMatch(/full/);
    const row = await courses.db.query("SELECT enrollment_count FROM courses WHERE id = $1", [course.id]);
    expect(row.rows[0].enrollment_count).toBe(1);
  });

  test("two students racing for the last seat: exactly one wins", async () => {
    const course = await createCourse({ capacity: 1 });
    const racers = await insertTestUsers(users, "STUDENT", 8);
    const results = await Promise.all(racers.map((s) => enroll(s, course.id)));
    expect(results.filter((r) => r.data?.enroll).length).toBe(1);
    expect(results.filter((r) => errorCodes(r)[0] === "CONFLICT").length).toBe(7);
    const rows = await courses.db.query("SELECT count(*) FROM enrollments WHERE course_id = $1", [course.id]);
    expect(Number(rows.rows[0].count)).toBe(1);
  });

  test("every enrollment change writes its outbox event in the same transaction", async () => {
    const course = await createCourse();
    const s = await createTestUser(users, "STUDENT");
    expect((await enroll(s, course.id)).errors).toBeUndefined();
    await courses.execute({ query: OPS.drop, variables: { c: course.id, s: s.id }, viewer: s.viewer });
    const { rows } = await courses.db.query(
      "SELECT type, payload FROM outbox_events WHERE payload->>'courseId' = $1 ORDER BY sequence",
      [course.id],
    );
    expect(rows.map((r) => r.type)).toEqual(["CourseCreated", "StudentEnrolled", "EnrollmentDropped"]);
    expect(rows[1].payload).toEqual({
      courseId: course.id,
      studentId: s.id,
      code: course.code,
      title: expect.any(String),
    });
  });
});

describe("entity references and internal routes", () => {
  test("_entities resolves Course references in order, an unknown id to null", async () => {
    const a = await createCourse();
    const b = await createCourse();
    const r = await courses.execute({
      query: `query($r: [_Any!]!) { _entities(representations: $r) { ... on Course { id code } } }`,
      variables: {
        r: [
          { __typename: "Course", id: b.id },
          { __typename: "Course", id: "00000000-0000-4000-8000-000000000000" },
          { __typename: "Course", id: a.id },
        ],
      },
      viewer: student.viewer,
    });
    expect(r.errors).toBeUndefined();
    expect(r.data?._entities).toEqual([{ id: b.id, code: b.code }, null, { id: a.id, code: a.code }]);
  });

  test("the enrollment check answers attendance's service token only", async () => {
    const course = await createCourse();
    const s = await createTestUser(users, "STUDENT");
    await enroll(s, course.id);
    const body = { courseId: course.id, studentIds: [s.id, student.id] };
    const checked = await courses.internal("/internal/enrollments/check", { as: "attendance", body });
    expect(checked.status).toBe(200);
    expect(checked.json).toEqual({
      course: { courseId: course.id, teacherId: teacher.id, code: course.code },
      enrolledStudentIds: [s.id],
    });
    expect((await courses.internal("/internal/enrollments/check", { as: "food", body })).status).toBe(403);
  });
});
