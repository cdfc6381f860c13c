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

describe("updateCourse and closeCourse", () => {
  const UPDATE = `mutation($id: ID!, $i: UpdateCourseInput!) { updateCourse(id: $id, input: $i) { id title description capacity status teacher { id } } }`;
  const CLOSE = `mutation($id: ID!) { closeCourse(id: $id) { id status enrollmentCount } }`;
  const update = (viewer: TestUser["viewer"], id: string, i: Record<string, unknown>) =>
    courses.execute({ query: UPDATE, variables: { id, i }, viewer });
  const eventsOf = async (courseId: string) =>
    (
      await courses.db.query(
        "SELECT type, payload FROM outbox_events WHERE payload->>'courseId' = $1 ORDER BY sequence",
        [courseId],
      )
    ).rows as { type: string; payload: Record<string, unknown> }[];

  test("the course's teacher renames it and changes its description; CourseUpdated is written with the change", async () => {
    const course = await createCourse();
    const r = await update(teacher.viewer, course.id, { title: "Linear algebra", description: "Vectors." });
    expect(r.errors).toBeUndefined();
    expect(r.data?.updateCourse).toEqual({
      id: course.id,
      title: "Linear algebra",
      description: "Vectors.",
      capacity: 30,
      status: "OPEN",
      teacher: { id: teacher.id },
    });
    const read = await courses.execute({
      query: `query($id: ID!) { course(id: $id) { title description } }`,
      variables: { id: course.id },
      viewer: student.viewer,
    });
    expect(read.data?.course).toEqual({ title: "Linear algebra", description: "Vectors." });
    // An empty description removes it; what is left out stays.
    const cleared = await update(teacher.viewer, course.id, { description: "" });
    expect(cleared.data?.updateCourse).toMatchObject({ title: "Linear algebra", description: null });
    const events = await eventsOf(course.id);
    expect(events.map((e) => e.type)).toEqual(["CourseCreated", "CourseUpdated", "CourseUpdated"]);
    expect(events[1]!.payload).toEqual({
      courseId: course.id,
      code: course.code,
      title: "Linear algebra",
      description: "Vectors.",
      capacity: 30,
      teacherId: teacher.id,
    });
    expect(events[2]!.payload).not.toHaveProperty("description");
  });

  test("another teacher and a student are FORBIDDEN, a teacher naming another teacher FORBIDDEN; an unknown course NOT_FOUND; no field or a bad one BAD_USER_INPUT; nothing written", async () => {
    const course = await createCourse();
    const other = await createTestUser(users, "TEACHER");
    const before = await eventsOf(course.id);
    expect(errorCodes(await update(other.viewer, course.id, { title: "Mine now" }))).toEqual(["FORBIDDEN"]);
    expect(errorCodes(await update(student.viewer, course.id, { title: "Mine now" }))).toEqual(["FORBIDDEN"]);
    expect(errorCodes(await update(teacher.viewer, course.id, { teacherId: other.id }))).toEqual(["FORBIDDEN"]);
    for (const id of ["00000000-0000-4000-8000-000000000000", "not-an-id"])
      expect(errorCodes(await update(staff, id, { title: "X" }))).toEqual(["NOT_FOUND"]);
    for (const bad of [{}, { title: null }, { title: " " }, { capacity: 0 }, { capacity: 1001 }]) {
      const r = await update(teacher.viewer, course.id, bad);
      expect(errorCodes(r)).toEqual(["BAD_USER_INPUT"]);
    }
    expect(await eventsOf(course.id)).toEqual(before);
    const row = await courses.db.query("SELECT title, capacity, teacher_id FROM courses WHERE id = $1", [course.id]);
    expect(row.rows[0]).toEqual({ title: "A course", capacity: 30, teacher_id: teacher.id });
  });

  test("capacity below the enrollments is BAD_USER_INPUT at capacity; equal to them is fine", async () => {
    const course = await createCourse({ capacity: 5 });
    for (const s of await insertTestUsers(users, "STUDENT", 3))
      expect((await enroll(s, course.id)).errors).toBeUndefined();
    const below = await update(teacher.viewer, course.id, { capacity: 2 });
    expect(errorCodes(below)).toEqual(["BAD_USER_INPUT"]);
    expect(below.errors?.[0]?.extensions?.field).toBe("capacity");
    expect(below.errors?.[0]?.message).toMatch(/3 students/);
    expect((await update(teacher.viewer, course.id, { capacity: 3 })).data?.updateCourse.capacity).toBe(3);
  });

  test("lowering the capacity while students enrol: every answer typed, never more students than seats", async () => {
    const course = await createCourse({ capacity: 6 });
    for (const s of await insertTestUsers(users, "STUDENT", 2)) await enroll(s, course.id);
    const racers = await insertTestUsers(users, "STUDENT", 6);
    const [lowered, ...enrolled] = await Promise.all([
      update(staff, course.id, { capacity: 4 }),
      ...racers.map((s) => enroll(s, course.id)),
    ]);
    const codes = [lowered, ...enrolled].flatMap((r) => errorCodes(r));
    expect(codes.every((c) => c === "CONFLICT" || c === "BAD_USER_INPUT")).toBe(true);
    const { rows } = await courses.db.query(
      "SELECT capacity, enrollment_count, (SELECT count(*)::int FROM enrollments WHERE course_id = $1) AS enrolled FROM courses WHERE id = $1",
      [course.id],
    );
    const taken = enrolled.filter((r) => r.data?.enroll).length;
    expect(rows[0].enrolled).toBe(2 + taken);
    expect(rows[0].enrollment_count).toBe(2 + taken);
    expect(rows[0].enrollment_count).toBeLessThanOrEqual(rows[0].capacity);
    if (lowered.data?.updateCourse) expect(rows[0].capacity).toBe(4);
    else expect(errorCodes(lowered)).toEqual(["BAD_USER_INPUT"]);
  });

  test("STAFF gives the course another TEACHER (a student BAD_USER_INPUT, an unknown user NOT_FOUND); the event names both", async () => {
    const course = await createCourse();
    const next = await createTestUser(users, "TEACHER");
    expect(errorCodes(await update(staff, course.id, { teacherId: student.id }))).toEqual(["BAD_USER_INPUT"]);
    expect(errorCodes(await update(staff, course.id, { teacherId: "00000000-0000-4000-8000-000000000000" }))).toEqual([
      "NOT_FOUND",
    ]);
    const r = await update(staff, course.id, { teacherId: next.id, capacity: 40 });
    expect(r.data?.updateCourse).toMatchObject({ capacity: 40, teacher: { id: next.id } });
    const events = await eventsOf(course.id);
    expect(events.map((e) => e.type)).toEqual(["CourseCreated", "CourseUpdated"]);
    expect(events[1]!.payload).toMatchObject({ teacherId: next.id, previousTeacherId: teacher.id, capacity: 40 });
    // The old teacher no longer edits it; the new one does.
    expect(errorCodes(await update(teacher.viewer, course.id, { title: "Old" }))).toEqual(["FORBIDDEN"]);
    expect((await update(next.viewer, course.id, { title: "New" })).errors).toBeUndefined();
    const taught = await courses.execute({
      query: `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { teachingCourses { id } } } }`,
      variables: {
        r: [
          { __typename: "User", id: next.id },
          { __typename: "User", id: teacher.id },
        ],
      },
      viewer: staff,
    });
    const [nextCourses, oldCourses] = taught.data?._entities as { teachingCourses: { id: string }[] }[];
    expect(nextCourses!.teachingCourses.map((c) => c.id)).toContain(course.id);
    expect(oldCourses!.teachingCourses.map((c) => c.id)).not.toContain(course.id);
  });

  test("STAFF closes a course: enrollments stay, new ones and edits are CONFLICT (COURSE_CLOSED), closing again changes nothing; a teacher may not close", async () => {
    const course = await createCourse();
    const s = await createTestUser(users, "STUDENT");
    await enroll(s, course.id);
    expect(
      errorCodes(await courses.execute({ query: CLOSE, variables: { id: course.id }, viewer: teacher.viewer })),
    ).toEqual(["FORBIDDEN"]);
    const closed = await courses.execute({ query: CLOSE, variables: { id: course.id }, viewer: staff });
    expect(closed.data?.closeCourse).toEqual({ id: course.id, status: "CLOSED", enrollmentCount: 1 });
    const refused = await enroll(student, course.id);
    expect(errorCodes(refused)).toEqual(["CONFLICT"]);
    expect(refused.errors?.[0]?.extensions?.reason).toBe("COURSE_CLOSED");
    const byTeacher = await courses.execute({
      query: OPS.enroll,
      variables: { c: course.id, s: student.id },
      viewer: teacher.viewer,
    });
    expect(byTeacher.errors?.[0]?.extensions?.reason).toBe("COURSE_CLOSED");
    const edit = await update(teacher.viewer, course.id, { title: "Too late" });
    expect(errorCodes(edit)).toEqual(["CONFLICT"]);
    expect(edit.errors?.[0]?.extensions?.reason).toBe("COURSE_CLOSED");
    expect(
      (await courses.execute({ query: CLOSE, variables: { id: course.id }, viewer: staff })).errors,
    ).toBeUndefined();
    expect(
      errorCodes(
        await courses.execute({
          query: CLOSE,
          variables: { id: "00000000-0000-4000-8000-000000000000" },
          viewer: staff,
        }),
      ),
    ).toEqual(["NOT_FOUND"]);
    const events = await eventsOf(course.id);
    expect(events.map((e) => e.type)).toEqual(["CourseCreated", "StudentEnrolled", "CourseClosed"]);
    expect(events[2]!.payload).toEqual({ courseId: course.id, code: course.code });
    const read = await courses.execute({
      query: `query($id: ID!) { course(id: $id) { status enrollmentCount students { id } } }`,
      variables: { id: course.id },
      viewer: teacher.viewer,
    });
    expect(read.data?.course).toEqual({ status: "CLOSED", enrollmentCount: 1, students: [{ id: s.id }] });
  });
});
