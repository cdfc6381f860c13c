// Entity references across subgraphs are batched: the cost of a query in SQL statements per
// subgraph and in subgraph requests does not grow with the size of the lists it returns.
import { afterAll, beforeAll, expect, test } from "vitest";
import { SERVICE_NAMES, startFederation, type Federation } from "../src/harness.ts";
import { OPS, createCourse, day, insertStudents, topUp } from "../src/fixtures.ts";

let fed: Federation;
beforeAll(async () => {
  fed = await startFederation();
});
afterAll(() => fed?.close());

const COURSE_REPORT = `query($id: ID!) {
  course(id: $id) {
    code
    attendanceRate
    teacher { name email }
    students {
      id name email
      attendance(courseId: $id) { date status markedBy { name } }
      wallet { balance }
      foodOrders { id }
    }
  }
}`;

async function courseWithStudents(size: number) {
  const teacher = await fed.createUser("TEACHER");
  const course = await createCourse(fed, teacher, { capacity: size });
  const students = await insertStudents(fed, size);
  for (let i = 0; i < students.length; i += 20) {
    await Promise.all(
      students
        .slice(i, i + 20)
        .map((s) => fed.execute({ query: OPS.enroll, variables: { c: course.id, s }, token: teacher.token })),
    );
  }
  // Some attendance and some wallets, so every field has rows behind it.
  for (const s of students.slice(0, 10)) {
    await fed.execute({
      query: OPS.mark,
      variables: { i: { courseId: course.id, studentId: s, date: day(-1), status: "PRESENT" } },
      token: teacher.token,
    });
    await topUp(fed, s, 1000);
  }
  return course;
}

async function measure(courseId: string) {
  // Consumers applying the setup's events would add their own statements.
  await fed.eventsSettled();
  const before = Object.fromEntries(SERVICE_NAMES.map((n) => [n, fed.services[n].sqlStatements.count]));
  const requestsBefore = fed.gateway.subgraphRequests.snapshot();
  const response = await fed.execute({ query: COURSE_REPORT, variables: { id: courseId }, token: fed.admin.token });
  const after = fed.gateway.subgraphRequests.snapshot();
  return {
    response,
    sql: Object.fromEntries(SERVICE_NAMES.map((n) => [n, fed.services[n].sqlStatements.count - before[n]!])),
    subgraphRequests: Object.fromEntries(SERVICE_NAMES.map((n) => [n, (after[n] ?? 0) - (requestsBefore[n] ?? 0)])),
  };
}

test("a course with 200 students, their attendance and wallets costs the same as one with 20", async () => {
  const small = await courseWithStudents(20);
  const large = await courseWithStudents(200);
  const a = await measure(small.id);
  const b = await measure(large.id);
  expect(a.response.errors).toBeUndefined();
  expect(b.response.errors).toBeUndefined();
  expect(b.response.data?.course.students).toHaveLength(200);
  expect(b.response.data?.course.students.filter((s: any) => s.wallet?.balance === 1000)).toHaveLength(10);
  expect(b.response.data?.course.students.filter((s: any) => s.attendance.length === 1)).toHaveLength(10);

  expect(b.sql).toEqual(a.sql);
  expect(b.subgraphRequests).toEqual(a.subgraphRequests);
  // The absolute numbers, so that a regression shows as a changed table:
  expect(b.sql).toEqual({ users: 3, courses: 2, attendance: 2, food: 2, notifications: 0 });
  expect(b.subgraphRequests).toEqual({ users: 3, courses: 1, attendance: 2, food: 1, notifications: 0 });
  console.log("200-student course report:", JSON.stringify({ sql: b.sql, subgraphRequests: b.subgraphRequests }));
});
