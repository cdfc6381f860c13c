// The connections that replace the unbounded lists: Course.studentsConnection,
// User.attendanceConnection, myOrdersConnection and User.foodOrdersConnection. Walking one with
// first/after yields every item once, in order; totalCount is right; `first` is at most 100 and a
// cursor must be one the API returned (BAD_USER_INPUT otherwise).
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { SERVICE_NAMES, errorCodes, startFederation, type Federation } from "../src/harness.ts";
import { OPS, addMeal, createCourse, enroll, topUp } from "../src/fixtures.ts";
import { largeCourse, type LargeCourse } from "./large-course.ts";

let fed: Federation;
let large: LargeCourse;
beforeAll(async () => {
  fed = await startFederation();
  large = await largeCourse(fed, { size: 1000, days: 2 });
});
afterAll(() => fed?.close());

interface Page<T> {
  totalCount: number;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  edges: { cursor: string; node: T }[];
}

/** Every page of a connection, `first` at a time: the nodes in order, the totalCounts seen, the number of pages. */
async function walk<T>(fetchPage: (after: string | null) => Promise<Page<T>>) {
  const nodes: T[] = [];
  const totals = new Set<number>();
  let after: string | null = null;
  let pages = 0;
  for (;;) {
    const page = await fetchPage(after);
    pages += 1;
    totals.add(page.totalCount);
    nodes.push(...page.edges.map((e) => e.node));
    expect(page.pageInfo.endCursor).toBe(page.edges.at(-1)?.cursor ?? null);
    if (!page.pageInfo.hasNextPage) break;
    after = page.pageInfo.endCursor;
    if (pages > 1000) throw new Error("the connection does not end");
  }
  return { nodes, totals: [...totals], pages };
}

const STUDENTS = `query($id: ID!, $first: Int, $after: String) { course(id: $id) { studentsConnection(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id name } } } } }`;

async function studentsPage(token: string, first: number | undefined, after: string | null) {
  const r = await fed.execute({ query: STUDENTS, variables: { id: large.course.id, first, after }, token });
  expect(r.errors).toBeUndefined();
  return r.data!.course.studentsConnection as Page<{ id: string; name: string }>;
}

describe("Course.studentsConnection", () => {
  test("first/after walks a 1 000-student course in enrollment order: no duplicates, no gaps, totalCount 1 000", async () => {
    const { nodes, totals, pages } = await walk((after) => studentsPage(large.teacher.token, 37, after));
    expect(pages).toBe(Math.ceil(1000 / 37));
    expect(totals).toEqual([1000]);
    expect(nodes.map((n) => n.id)).toEqual(large.students); // enrollment order, ties by student id
    expect(new Set(nodes.map((n) => n.id)).size).toBe(1000);
    expect(nodes.every((n) => n.name.startsWith("Student "))).toBe(true); // names resolved by users
  });

  test("first defaults to 20 and 100 is allowed; the deprecated students list holds the same students", async () => {
    expect((await studentsPage(large.teacher.token, undefined, null)).edges).toHaveLength(20);
    const { nodes } = await walk((after) => studentsPage(fed.admin.token, 100, after));
    const all = await fed.execute({
      query: `query($id: ID!) { course(id: $id) { students { id } } }`,
      variables: { id: large.course.id },
      token: fed.admin.token,
    });
    expect(all.data?.course.students.map((s: { id: string }) => s.id)).toEqual(nodes.map((n) => n.id));
  });

  test("first above 100 or below 0 is BAD_USER_INPUT (first); a cursor the API did not return is BAD_USER_INPUT (after)", async () => {
    for (const first of [101, -1, 1000]) {
      const r = await fed.execute({
        query: STUDENTS,
        variables: { id: large.course.id, first },
        token: fed.admin.token,
      });
      expect(errorCodes(r), `first ${first}`).toEqual(["BAD_USER_INPUT"]);
      expect(r.errors?.[0]?.extensions?.field).toBe("first");
    }
    const forged = Buffer.from(JSON.stringify(["2026-01-01T00:00:00.000Z", "not-a-uuid"])).toString("base64url");
    for (const after of ["garbage!", "", forged, "x".repeat(300)]) {
      const r = await fed.execute({
        query: STUDENTS,
        variables: { id: large.course.id, after },
        token: fed.admin.token,
      });
      expect(errorCodes(r), `after ${after.slice(0, 20)}`).toEqual(["BAD_USER_INPUT"]);
      expect(r.errors?.[0]?.extensions?.field).toBe("after");
      expect(JSON.stringify(r)).not.toMatch(/SELECT|prisma|stack/i);
    }
  });

  test("an empty course: no edges, no next page, totalCount 0; a student may not list a course's students", async () => {
    const teacher = await fed.createUser("TEACHER");
    const empty = await createCourse(fed, teacher);
    const r = await fed.execute({ query: STUDENTS, variables: { id: empty.id, first: 10 }, token: teacher.token });
    expect(r.data?.course.studentsConnection).toEqual({
      totalCount: 0,
      pageInfo: { hasNextPage: false, endCursor: null },
      edges: [],
    });
    const student = await fed.createUser("STUDENT");
    await enroll(fed, student.token, empty.id);
    const refused = await fed.execute({ query: STUDENTS, variables: { id: empty.id }, token: student.token });
    expect(errorCodes(refused)).toEqual(["FORBIDDEN"]);
  });
});

const ATTENDANCE = `query($id: ID!, $course: ID, $first: Int, $after: String) { user(id: $id) { attendanceConnection(courseId: $course, first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id date status course { id } } } } } }`;

const TEACHER_VIEW = `query($id: ID!, $course: ID, $first: Int, $after: String) { course(id: $id) { studentsConnection(first: 1) { edges { node { id attendanceConnection(courseId: $course, first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id date status course { id } } } } } } } } }`;

describe("User.attendanceConnection", () => {
  test("a student's records in two courses, newest day first (same-day records in id order), walked without gaps; a course filter and a teacher's view narrow it", async () => {
    const student = large.students[0]!;
    // A second course with 150 more days of records for the same student (same days as the first's: ties by id).
    const other = await largeCourse(fed, { size: 0, days: 0 });
    await fed.db.courses.query("INSERT INTO enrollments (course_id, student_id) VALUES ($1, $2)", [
      other.course.id,
      student,
    ]);
    await fed.db.attendance.query(
      `INSERT INTO attendance_records (id, course_id, student_id, date, status, marked_by_id)
       SELECT gen_random_uuid(), $1::uuid, $2::uuid, current_date - d, 'PRESENT', $3::uuid FROM generate_series(1, 150) d`,
      [other.course.id, student, other.teacher.id],
    );
    const { rows } = await fed.db.attendance.query(
      "SELECT id::text FROM attendance_records WHERE student_id = $1 ORDER BY date DESC, id ASC",
      [student],
    );
    expect(rows).toHaveLength(152);
    const fetchPage = (token: string, course: string | null, first: number) => async (after: string | null) => {
      const r = await fed.execute({ query: ATTENDANCE, variables: { id: student, course, first, after }, token });
      expect(r.errors).toBeUndefined();
      return r.data!.user.attendanceConnection as Page<{ id: string; course: { id: string } }>;
    };
    // A teacher reaches the student through their course (the first enrolled is this student).
    const throughCourse = (course: string | null, first: number) => async (after: string | null) => {
      const r = await fed.execute({
        query: TEACHER_VIEW,
        variables: { id: large.course.id, course, first, after },
        token: large.teacher.token,
      });
      expect(r.errors).toBeUndefined();
      const [edge] = r.data!.course.studentsConnection.edges;
      expect(edge.node.id).toBe(student);
      return edge.node.attendanceConnection as Page<{ id: string; course: { id: string } }>;
    };
    const staff = await walk(fetchPage(fed.admin.token, null, 40));
    expect(staff.nodes.map((n) => n.id)).toEqual(rows.map((r) => r.id));
    expect(staff.totals).toEqual([152]);
    expect(staff.pages).toBe(4);

    const inOther = await walk(fetchPage(fed.admin.token, other.course.id, 100));
    expect(inOther.totals).toEqual([150]);
    expect(inOther.nodes.every((n) => n.course.id === other.course.id)).toBe(true);

    // The first course's teacher sees the 2 records of their course, not the 150 of the other.
    const teacherView = await walk(throughCourse(null, 1));
    expect(teacherView.totals).toEqual([2]);
    expect(teacherView.nodes.map((n) => n.course.id)).toEqual([large.course.id, large.course.id]);
    const notTheirs = await walk(throughCourse(other.course.id, 10));
    expect(notTheirs).toEqual({ nodes: [], totals: [0], pages: 1 });

    const bad = await fed.execute({
      query: ATTENDANCE,
      variables: { id: student, first: 101 },
      token: fed.admin.token,
    });
    expect(errorCodes(bad)).toEqual(["BAD_USER_INPUT"]);
    const badCursor = await fed.execute({
      query: ATTENDANCE,
      variables: { id: student, after: "bm90LWEtY3Vyc29y" },
      token: fed.admin.token,
    });
    expect(errorCodes(badCursor)).toEqual(["BAD_USER_INPUT"]);
  });
});

const MY_ORDERS = `query($first: Int, $after: String) { myOrdersConnection(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id totalPrice status meal { id } } } } }`;
const FOOD_ORDERS = `query($id: ID!, $first: Int, $after: String) { user(id: $id) { foodOrdersConnection(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id } } } } }`;

describe("myOrdersConnection and User.foodOrdersConnection", () => {
  test("45 orders (some made at the same instant) newest first, walked without gaps; another student is FORBIDDEN", async () => {
    const student = await fed.createUser("STUDENT");
    await topUp(fed, student.id, 100_000);
    const meal = await addMeal(fed, { stock: 1000 });
    for (let i = 0; i < 5; i++) {
      const r = await fed.execute({
        query: OPS.buy,
        variables: { i: { mealId: meal.id, quantity: 1, idempotencyKey: `buy-${i}` } },
        token: student.token,
      });
      expect(r.errors).toBeUndefined();
    }
    // 40 more, in groups of 8 at the same instant.
    await fed.db.food.query(
      `INSERT INTO food_orders (id, user_id, meal_id, quantity, total_price, status, idempotency_key, created_at)
       SELECT gen_random_uuid(), $1::uuid, $2::uuid, 1, 500, 'CONFIRMED', 'bulk-' || n, now() - make_interval(secs => n / 8) FROM generate_series(1, 40) n`,
      [student.id, meal.id],
    );
    const { rows } = await fed.db.food.query(
      "SELECT id::text FROM food_orders WHERE user_id = $1 ORDER BY created_at DESC, id DESC",
      [student.id],
    );
    const mine = await walk(async (after) => {
      const r = await fed.execute({ query: MY_ORDERS, variables: { first: 20, after }, token: student.token });
      expect(r.errors).toBeUndefined();
      return r.data!.myOrdersConnection as Page<{ id: string; meal: { id: string } }>;
    });
    expect(mine.nodes.map((n) => n.id)).toEqual(rows.map((r) => r.id));
    expect(mine.totals).toEqual([45]);
    expect(mine.pages).toBe(3);
    const deprecated = await fed.execute({ query: `{ myOrders { id } }`, token: student.token });
    expect(deprecated.data?.myOrders.map((o: { id: string }) => o.id)).toEqual(rows.map((r) => r.id));

    const asStaff = await walk(async (after) => {
      const r = await fed.execute({
        query: FOOD_ORDERS,
        variables: { id: student.id, first: 7, after },
        token: fed.admin.token,
      });
      expect(r.errors).toBeUndefined();
      return r.data!.user.foodOrdersConnection as Page<{ id: string }>;
    });
    expect(asStaff.nodes.map((n) => n.id)).toEqual(rows.map((r) => r.id));

    const other = await fed.createUser("STUDENT");
    const refused = await fed.execute({ query: FOOD_ORDERS, variables: { id: student.id }, token: other.token });
    expect(errorCodes(refused)).toEqual(["FORBIDDEN"]);
    const tooMany = await fed.execute({ query: MY_ORDERS, variables: { first: 101 }, token: student.token });
    expect(errorCodes(tooMany)).toEqual(["BAD_USER_INPUT"]);
    const badCursor = await fed.execute({ query: MY_ORDERS, variables: { after: "%%%" }, token: student.token });
    expect(errorCodes(badCursor)).toEqual(["BAD_USER_INPUT"]);
  });
});

describe("batching", () => {
  const PAGE = `query($id: ID!, $first: Int) { course(id: $id) { studentsConnection(first: $first) { edges { node { name attendanceConnection(courseId: $id, first: 5) { totalCount edges { node { date status } } } foodOrdersConnection(first: 5) { totalCount edges { node { totalPrice } } } } } } } }`;

  async function sqlFor(first: number) {
    await fed.eventsSettled();
    const before = Object.fromEntries(SERVICE_NAMES.map((n) => [n, fed.services[n].sqlStatements.count]));
    const r = await fed.execute({ query: PAGE, variables: { id: large.course.id, first }, token: fed.admin.token });
    expect(r.errors).toBeUndefined();
    expect(r.data?.course.studentsConnection.edges).toHaveLength(first);
    return Object.fromEntries(SERVICE_NAMES.map((n) => [n, fed.services[n].sqlStatements.count - before[n]!]));
  }

  test("a page of 100 students with their attendance and orders pages costs the SQL statements of a page of 10", async () => {
    const small = await sqlFor(10);
    const large100 = await sqlFor(100);
    expect(large100).toEqual(small);
    // course + its students' page; their names; their records' pages and counts; their orders' pages and counts.
    expect(large100).toEqual({ users: 1, courses: 2, attendance: 2, food: 2, notifications: 0 });
  });
});
