// A subgraph tells the gateway in its answer which entities a request changed (Apollo Router's
// invalidation by subgraph response): the answer to a request whose writes committed events
// carries extensions.invalidation, one entry per entity those events change, each once. A
// query, or a mutation that was refused (nothing committed), carries none. The courses subgraph,
// over HTTP as the gateway calls it.
import { afterAll, beforeAll, expect, test } from "vitest";
import {
  OPS,
  createTenv,
  createTestUser,
  errorCodes,
  uniqueCode,
  type ServiceHandle,
  type Tenv,
  type TestUser,
} from "@pooya/e2e";

let tenv: Tenv;
let courses: ServiceHandle<"courses">;
let teacher: TestUser;
let student: TestUser;
let other: TestUser;
beforeAll(async () => {
  tenv = await createTenv();
  const users = await tenv.service("users");
  courses = await tenv.service("courses");
  teacher = await createTestUser(users, "TEACHER");
  student = await createTestUser(users, "STUDENT");
  other = await createTestUser(users, "STUDENT");
});
afterAll(() => tenv?.dispose());

const invalidationOf = (response: { extensions?: Record<string, unknown> }) => response.extensions?.invalidation;
const entity = (type: string, id: string) => ({ kind: "entity", subgraph: "courses", type, key: { id } });

test("a mutation that commits events names the entities they change; a query names none", async () => {
  const created = await courses.execute({
    query: `mutation($i: CreateCourseInput!) { createCourse(input: $i) { id } }`,
    variables: { i: { code: uniqueCode(), title: "Caching", capacity: 1 } },
    viewer: teacher.viewer,
  });
  expect(created.errors).toBeUndefined();
  const courseId = (created.data as { createCourse: { id: string } }).createCourse.id;
  expect(invalidationOf(created)).toEqual([entity("Course", courseId), entity("User", teacher.id)]);

  const enrolled = await courses.execute({ query: OPS.enroll, variables: { c: courseId }, viewer: student.viewer });
  expect(enrolled.errors).toBeUndefined();
  expect(invalidationOf(enrolled)).toEqual([entity("Course", courseId), entity("User", student.id)]);

  // The course is full: refused, nothing committed, nothing to evict.
  const refused = await courses.execute({ query: OPS.enroll, variables: { c: courseId }, viewer: other.viewer });
  expect(errorCodes(refused)).toEqual(["CONFLICT"]);
  expect(refused.extensions).toBeUndefined();

  const read = await courses.execute({
    query: `query($id: ID!) { course(id: $id) { id enrollmentCount } }`,
    variables: { id: courseId },
    viewer: student.viewer,
  });
  expect(read.data).toEqual({ course: { id: courseId, enrollmentCount: 1 } });
  expect(read.extensions).toBeUndefined();
});
