// Who may do what: every role × every operation and entity field of the contract, as one table.
// A missing or loosened rule shows up as a changed cell, not as a forgotten test.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { randomBytes } from "node:crypto";
import type { Viewer } from "@pooya/identity";
import {
  REFUSAL_REASON,
  SUPERGRAPH_PATH,
  authorizationRules,
  readSupergraph,
  refusal,
  type AccessRequirement as Requirement,
} from "@pooya/gateway";
import { startFederation, type Federation, type GraphQLResponse, type ServiceName } from "../src/harness.ts";
import { OPS, addMeal, createCourse, day, enroll, topUp, uniqueCode } from "../src/fixtures.ts";
import { connectRaw } from "../src/live.ts";
import { metricSum } from "../src/metrics.ts";

const ROLES = ["anonymous", "student", "otherStudent", "teacher", "otherTeacher", "staff"] as const;
type Actor = (typeof ROLES)[number];
type Outcome = "ok" | string;

let fed: Federation;
let people: Record<
  Exclude<Actor, "anonymous">,
  { id: string; token: string; role: "STUDENT" | "TEACHER" | "STAFF"; email: string; password: string }
>;
let course: { id: string };
let meal: { id: string };

beforeAll(async () => {
  fed = await startFederation();
  const [student, otherStudent, teacher, otherTeacher] = await Promise.all([
    fed.createUser("STUDENT"),
    fed.createUser("STUDENT"),
    fed.createUser("TEACHER"),
    fed.createUser("TEACHER"),
  ]);
  const admin = { id: fed.admin.userId, token: fed.admin.token, role: "STAFF" as const, email: "", password: "" };
  people = { student, otherStudent, teacher, otherTeacher, staff: admin };
  course = await createCourse(fed, teacher, { capacity: 100 });
  await enroll(fed, student.token, course.id);
  await enroll(fed, otherStudent.token, course.id);
  await fed.execute({
    query: OPS.mark,
    variables: { i: { courseId: course.id, studentId: student.id, date: day(0), status: "PRESENT" } },
    token: teacher.token,
  });
  await topUp(fed, student.id, 100_000);
  await topUp(fed, otherStudent.id, 100_000);
  meal = await addMeal(fed, { price: 10, stock: 1000, servingDate: day(5) });
  await fed.execute({
    query: OPS.buy,
    variables: { i: { mealId: meal.id, quantity: 1, idempotencyKey: "setup" } },
    token: student.token,
  });
  await fed.eventsSettled(); // the student's notifications exist
});
afterAll(() => fed?.close());

const token = (actor: Actor) => (actor === "anonymous" ? undefined : people[actor].token);
const viewer = (actor: Actor): Viewer =>
  actor === "anonymous" ? null : { userId: people[actor].id, role: people[actor].role };

function outcome(r: GraphQLResponse): Outcome {
  return r.errors?.length ? (r.errors[0]!.extensions?.code ?? "ERROR") : "ok";
}

const gw = (query: string, variables?: (a: Actor) => Record<string, unknown>) => async (actor: Actor) =>
  outcome(await fed.execute({ query, variables: variables?.(actor), token: token(actor) }));

/** A field of the subject student's User entity, asked of its subgraph the way the gateway would. */
const entityField =
  (service: ServiceName, typename: "User" | "Course", selection: string, id: () => string) => async (actor: Actor) =>
    outcome(
      await fed.callSubgraph(service, {
        query: `query($r: [_Any!]!) { _entities(representations: $r) { ... on ${typename} { ${selection} } } }`,
        variables: { r: [{ __typename: typename, id: id() }] },
        viewer: viewer(actor),
      }),
    );

const fresh = () => randomBytes(4).toString("hex");

const OPERATIONS: Record<string, (actor: Actor) => Promise<Outcome>> = {
  // users
  "Query.me": gw(`{ me { id } }`),
  "Query.user (the student)": gw(`query($id: ID!) { user(id: $id) { id } }`, () => ({ id: people.student.id })),
  "Query.users": gw(`{ users { totalCount } }`),
  "Mutation.register": gw(`mutation($i: RegisterInput!) { register(input: $i) { user { id } } }`, () => ({
    i: { email: `r${fresh()}@uni.example`, password: "password 123", name: "R" },
  })),
  "Mutation.login": gw(`mutation($e: String!, $p: String!) { login(email: $e, password: $p) { user { id } } }`, () => ({
    e: people.student.email,
    p: people.student.password,
  })),
  "Mutation.refreshToken (bogus token)": gw(`mutation { refreshToken(refreshToken: "bogus") { accessToken } }`),
  "Mutation.logout": gw(`mutation { logout(refreshToken: "bogus") }`),
  "Mutation.createUser": gw(`mutation($i: CreateUserInput!) { createUser(input: $i) { id } }`, () => ({
    i: { email: `c${fresh()}@uni.example`, password: "password 123", name: "C", role: "STUDENT" },
  })),
  "User.email (entity)": entityField("users", "User", "email", () => people.student.id),
  "User.active (entity)": entityField("users", "User", "active", () => people.student.id),
  // Refused as bad input once authorized: the matrix's people keep their names and passwords.
  "Mutation.updateMyProfile (blank name)": gw(`mutation { updateMyProfile(input: { name: " " }) { id } }`),
  "Mutation.changeMyPassword (too short)": gw(
    `mutation { changeMyPassword(currentPassword: "x", newPassword: "short") { accessToken } }`,
  ),
  "Mutation.deactivateUser (no one)": gw(`mutation($id: ID!) { deactivateUser(id: $id) { id } }`, () => ({
    id: "00000000-0000-0000-0000-000000000000",
  })),
  "Mutation.reactivateUser (the student, active)": gw(
    `mutation($id: ID!) { reactivateUser(id: $id) { id active } }`,
    () => ({ id: people.student.id }),
  ),
  // courses
  "Query.course": gw(`query($id: ID!) { course(id: $id) { id teacher { id } enrollmentCount } }`, () => ({
    id: course.id,
  })),
  "Query.courses": gw(`{ courses { totalCount } }`),
  "Course.students": gw(`query($id: ID!) { course(id: $id) { students { id } } }`, () => ({ id: course.id })),
  "Course.studentsConnection": gw(
    `query($id: ID!) { course(id: $id) { studentsConnection { totalCount edges { node { id } } } } }`,
    () => ({ id: course.id }),
  ),
  "Mutation.createCourse (teaching it / for the teacher)": async (actor) =>
    outcome(
      await fed.execute({
        query: OPS.createCourse,
        variables: {
          i: {
            code: uniqueCode(),
            title: "M",
            capacity: 5,
            ...(actor === "staff" ? { teacherId: people.teacher.id } : {}),
          },
        },
        token: token(actor),
      }),
    ),
  "Mutation.enroll (self)": async (actor) => {
    const c = await createCourse(fed, people.teacher);
    return outcome(await fed.execute({ query: OPS.enroll, variables: { c: c.id }, token: token(actor) }));
  },
  "Mutation.enroll (the student)": async (actor) => {
    const c = await createCourse(fed, people.teacher);
    return outcome(
      await fed.execute({ query: OPS.enroll, variables: { c: c.id, s: people.student.id }, token: token(actor) }),
    );
  },
  "Mutation.dropEnrollment (the student)": async (actor) => {
    const c = await createCourse(fed, people.teacher);
    await enroll(fed, people.student.token, c.id);
    return outcome(
      await fed.execute({ query: OPS.drop, variables: { c: c.id, s: people.student.id }, token: token(actor) }),
    );
  },
  "User.teachingCourses (entity)": entityField("courses", "User", "teachingCourses { id }", () => people.teacher.id),
  "User.enrolledCourses (entity)": entityField("courses", "User", "enrolledCourses { id }", () => people.student.id),
  // attendance
  "Mutation.markAttendance": gw(OPS.mark, () => ({
    i: { courseId: course.id, studentId: people.student.id, date: day(-1), status: "LATE" },
  })),
  "Mutation.markCourseAttendance": gw(
    `mutation($i: MarkCourseAttendanceInput!) { markCourseAttendance(input: $i) { id } }`,
    () => ({ i: { courseId: course.id, date: day(-2), marks: [{ studentId: people.student.id, status: "PRESENT" }] } }),
  ),
  "Query.courseAttendance": gw(`query($c: ID!, $d: Date!) { courseAttendance(courseId: $c, date: $d) { id } }`, () => ({
    c: course.id,
    d: day(0),
  })),
  "Course.attendanceRate (entity)": entityField("attendance", "Course", "attendanceRate", () => course.id),
  "User.attendance (entity)": entityField("attendance", "User", "attendance { id }", () => people.student.id),
  "User.attendanceConnection (entity)": entityField(
    "attendance",
    "User",
    "attendanceConnection { totalCount edges { node { id } } }",
    () => people.student.id,
  ),
  // food
  "Query.meals": gw(`{ meals { id } }`),
  "Query.myOrders": gw(`{ myOrders { id } }`),
  "Query.myOrdersConnection": gw(`{ myOrdersConnection { totalCount edges { node { id } } } }`),
  "Mutation.addMeal": gw(OPS.addMeal, () => ({
    i: { name: "M", mealType: "DINNER", servingDate: day(4), price: 1, stock: 1 },
  })),
  "Mutation.topUpWallet (the student)": gw(OPS.topUp, () => ({ u: people.student.id, a: 1 })),
  "Query.allMeals": gw(`{ allMeals { id available } }`),
  "Mutation.updateMeal": gw(`mutation($m: ID!) { updateMeal(id: $m, input: { stock: 1000 }) { id } }`, () => ({
    m: meal.id,
  })),
  "Mutation.withdrawMeal (a meal of its own)": async (actor) => {
    const m = await addMeal(fed, { servingDate: day(6) });
    return outcome(
      await fed.execute({
        query: `mutation($m: ID!) { withdrawMeal(id: $m) { id } }`,
        variables: { m: m.id },
        token: token(actor),
      }),
    );
  },
  "Mutation.buyMeal": gw(OPS.buy, () => ({ i: { mealId: meal.id, quantity: 1, idempotencyKey: fresh() } })),
  "Mutation.cancelOrder (the student's)": async (actor) => {
    const r = await fed.execute({
      query: OPS.buy,
      variables: { i: { mealId: meal.id, quantity: 1, idempotencyKey: fresh() } },
      token: people.student.token,
    });
    return outcome(await fed.execute({ query: OPS.cancel, variables: { o: r.data?.buyMeal.id }, token: token(actor) }));
  },
  "User.wallet (entity)": entityField("food", "User", "wallet { balance }", () => people.student.id),
  "User.foodOrders (entity)": entityField("food", "User", "foodOrders { id }", () => people.student.id),
  "User.foodOrdersConnection (entity)": entityField(
    "food",
    "User",
    "foodOrdersConnection { totalCount edges { node { id } } }",
    () => people.student.id,
  ),
  // notifications
  "Mutation.markNotificationsRead (the student's)": async (actor) => {
    const { rows } = await fed.db.notifications.query("SELECT id FROM notifications WHERE user_id = $1 LIMIT 1", [
      people.student.id,
    ]);
    return outcome(
      await fed.execute({
        query: `mutation($ids: [ID!]!) { markNotificationsRead(ids: $ids) { id } }`,
        variables: { ids: [rows[0].id] },
        token: token(actor),
      }),
    );
  },
  "Mutation.markAllNotificationsRead": gw(`mutation { markAllNotificationsRead }`),
  "User.notifications (entity)": entityField(
    "notifications",
    "User",
    "notifications { totalCount }",
    () => people.student.id,
  ),
  "User.unreadNotificationCount (entity)": entityField(
    "notifications",
    "User",
    "unreadNotificationCount",
    () => people.student.id,
  ),
  // Over WebSocket at the gateway: refused at connection_init without a token (4401), else subscribed.
  "Subscription.notificationAdded": async (actor) => {
    const connection = await connectRaw(
      fed.gateway.graphqlUrl,
      actor === "anonymous" ? undefined : { authorization: `Bearer ${token(actor)}` },
    );
    if (!connection.acknowledged) return connection.code === 4401 ? U : `closed ${connection.code}`;
    const errors: string[] = [];
    connection.socket.on("message", (data) => {
      const message = JSON.parse(String(data));
      if (message.type === "error") errors.push(message.payload[0]?.extensions?.code ?? "ERROR");
    });
    connection.socket.send(
      JSON.stringify({ id: "1", type: "subscribe", payload: { query: "subscription { notificationAdded { id } }" } }),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    connection.socket.close();
    return errors[0] ?? "ok";
  },
};

const U = "UNAUTHENTICATED",
  F = "FORBIDDEN",
  B = "BAD_USER_INPUT";
//                                                   anonymous  student  otherStudent  teacher  otherTeacher  staff
const EXPECTED: Record<string, Record<Actor, Outcome>> = {
  "Query.me": row(U, "ok", "ok", "ok", "ok", "ok"),
  "Query.user (the student)": row(U, "ok", F, F, F, "ok"),
  "Query.users": row(U, F, F, F, F, "ok"),
  "Mutation.register": row("ok", "ok", "ok", "ok", "ok", "ok"),
  "Mutation.login": row("ok", "ok", "ok", "ok", "ok", "ok"),
  "Mutation.refreshToken (bogus token)": row(U, U, U, U, U, U),
  "Mutation.logout": row(U, "ok", "ok", "ok", "ok", "ok"),
  "Mutation.createUser": row(U, F, F, F, F, "ok"),
  "User.email (entity)": row(U, "ok", "ok", "ok", "ok", "ok"),
  "User.active (entity)": row(U, "ok", F, F, F, "ok"),
  "Mutation.updateMyProfile (blank name)": row(U, B, B, B, B, B),
  "Mutation.changeMyPassword (too short)": row(U, B, B, B, B, B),
  "Mutation.deactivateUser (no one)": row(U, F, F, F, F, "NOT_FOUND"),
  "Mutation.reactivateUser (the student, active)": row(U, F, F, F, F, "ok"),
  "Query.course": row(U, "ok", "ok", "ok", "ok", "ok"),
  "Query.courses": row(U, "ok", "ok", "ok", "ok", "ok"),
  "Course.students": row(U, F, F, "ok", F, "ok"),
  "Course.studentsConnection": row(U, F, F, "ok", F, "ok"),
  "Mutation.createCourse (teaching it / for the teacher)": row(U, F, F, "ok", "ok", "ok"),
  "Mutation.enroll (self)": row(U, "ok", "ok", "BAD_USER_INPUT", F, "BAD_USER_INPUT"),
  "Mutation.enroll (the student)": row(U, "ok", F, "ok", F, "ok"),
  "Mutation.dropEnrollment (the student)": row(U, "ok", F, "ok", F, "ok"),
  "User.teachingCourses (entity)": row(U, "ok", "ok", "ok", "ok", "ok"),
  "User.enrolledCourses (entity)": row(U, "ok", F, "ok", "ok", "ok"),
  "Mutation.markAttendance": row(U, F, F, "ok", F, "ok"),
  "Mutation.markCourseAttendance": row(U, F, F, "ok", F, "ok"),
  "Query.courseAttendance": row(U, F, F, "ok", F, "ok"),
  "Course.attendanceRate (entity)": row(U, F, F, "ok", F, "ok"),
  "User.attendance (entity)": row(U, "ok", F, "ok", "ok", "ok"),
  "User.attendanceConnection (entity)": row(U, "ok", F, "ok", "ok", "ok"),
  "Query.meals": row(U, "ok", "ok", "ok", "ok", "ok"),
  "Query.myOrders": row(U, "ok", "ok", "ok", "ok", "ok"),
  "Query.myOrdersConnection": row(U, "ok", "ok", "ok", "ok", "ok"),
  "Mutation.addMeal": row(U, F, F, F, F, "ok"),
  "Mutation.topUpWallet (the student)": row(U, F, F, F, F, "ok"),
  "Query.allMeals": row(U, F, F, F, F, "ok"),
  "Mutation.updateMeal": row(U, F, F, F, F, "ok"),
  "Mutation.withdrawMeal (a meal of its own)": row(U, F, F, F, F, "ok"),
  "Mutation.buyMeal": row(U, "ok", "ok", F, F, F),
  "Mutation.cancelOrder (the student's)": row(U, "ok", F, F, F, F),
  "User.wallet (entity)": row(U, "ok", F, F, F, "ok"),
  "User.foodOrders (entity)": row(U, "ok", F, F, F, "ok"),
  "User.foodOrdersConnection (entity)": row(U, "ok", F, F, F, "ok"),
  "Mutation.markNotificationsRead (the student's)": row(U, "ok", "NOT_FOUND", "NOT_FOUND", "NOT_FOUND", "NOT_FOUND"),
  "Mutation.markAllNotificationsRead": row(U, "ok", "ok", "ok", "ok", "ok"),
  "User.notifications (entity)": row(U, "ok", F, F, F, F),
  "User.unreadNotificationCount (entity)": row(U, "ok", F, F, F, F),
  "Subscription.notificationAdded": row(U, "ok", "ok", "ok", "ok", "ok"),
};

function row(...outcomes: Outcome[]): Record<Actor, Outcome> {
  return Object.fromEntries(ROLES.map((r, i) => [r, outcomes[i]!])) as Record<Actor, Outcome>;
}

test("every role × every operation and entity field gets exactly the expected answer", async () => {
  expect(Object.keys(OPERATIONS).sort()).toEqual(Object.keys(EXPECTED).sort());
  const actual: Record<string, Record<Actor, Outcome>> = {};
  for (const [name, run] of Object.entries(OPERATIONS)) {
    actual[name] = {} as Record<Actor, Outcome>;
    for (const actor of ROLES) actual[name][actor] = await run(actor);
  }
  expect(actual).toEqual(EXPECTED);
});

test("the matrix covers every root field of the contract", async () => {
  const r = await fed.execute({
    query: `{ __schema { queryType { fields { name } } mutationType { fields { name } } subscriptionType { fields { name } } } }`,
  });
  const schema = r.data!.__schema;
  const roots = [
    ...schema.queryType.fields.map((f: any) => `Query.${f.name}`),
    ...schema.mutationType.fields.map((f: any) => `Mutation.${f.name}`),
    ...schema.subscriptionType.fields.map((f: any) => `Subscription.${f.name}`),
  ];
  const covered = new Set(Object.keys(EXPECTED).map((k) => k.split(" ")[0]));
  // Query.meal is a lookup with the same rule as Query.meals.
  expect(roots.filter((f) => !covered.has(f) && f !== "Query.meal")).toEqual([]);
});

// ---------------------------------------------------------------------------------------------
// The same rules from the schema: every field and type the supergraph guards (@authenticated,
// @requiresScopes, @policy) × anonymous/student/teacher/staff (× self/other where a policy
// decides by the row), asked through the gateway and of the owning subgraph directly. The two
// must answer alike, and what the token alone refuses must be refused by the gateway itself.

const rules = authorizationRules(readSupergraph(SUPERGRAPH_PATH).sdl);
const GUARDED = [...[...rules.fields.keys()], ...[...rules.types.keys()]].sort();
const MATRIX_ACTORS = ["anonymous", "student", "teacher", "staff"] as const;
type MatrixActor = (typeof MATRIX_ACTORS)[number];
type Subject = "self" | "other";
const ZERO = "00000000-0000-0000-0000-000000000000";

/** A root field: the same operation through the gateway and to its subgraph. */
interface RootProbe {
  service: ServiceName;
  query: string;
  variables?: (subjectId: string) => Record<string, unknown>;
}
/** An entity's field (or a guarded type): reached through the gateway, asked of its subgraph as `_entities`. */
interface EntityProbe {
  service: ServiceName;
  entity: "User" | "Course" | "Meal";
  selection: string;
}

const PROBES: Record<string, RootProbe | EntityProbe> = {
  "Query.me": { service: "users", query: `{ me { id } }` },
  "Query.user": { service: "users", query: `query($id: ID!) { user(id: $id) { id } }`, variables: (id) => ({ id }) },
  "Query.users": { service: "users", query: `{ users(first: 1) { totalCount } }` },
  "Mutation.logout": { service: "users", query: `mutation { logout(refreshToken: "bogus") }` },
  "Mutation.createUser": {
    service: "users",
    query: `mutation { createUser(input: { email: "not an email", password: "x", name: "", role: STUDENT }) { id } }`,
  },
  "User.active": { service: "users", entity: "User", selection: "active" },
  "Mutation.updateMyProfile": { service: "users", query: `mutation { updateMyProfile(input: { name: "" }) { id } }` },
  "Mutation.changeMyPassword": {
    service: "users",
    query: `mutation { changeMyPassword(currentPassword: "x", newPassword: "short") { accessToken } }`,
  },
  "Mutation.deactivateUser": { service: "users", query: `mutation { deactivateUser(id: "${ZERO}") { id } }` },
  "Mutation.reactivateUser": { service: "users", query: `mutation { reactivateUser(id: "${ZERO}") { id } }` },
  "Query.course": { service: "courses", query: `query($c: ID!) { course(id: $c) { id } }` },
  "Query.courses": { service: "courses", query: `{ courses(first: 1) { totalCount } }` },
  Course: { service: "courses", entity: "Course", selection: "id code" },
  "Course.students": { service: "courses", entity: "Course", selection: "students { id }" },
  "Course.studentsConnection": {
    service: "courses",
    entity: "Course",
    selection: "studentsConnection(first: 1) { totalCount }",
  },
  "User.teachingCourses": { service: "courses", entity: "User", selection: "teachingCourses { id }" },
  "User.enrolledCourses": { service: "courses", entity: "User", selection: "enrolledCourses { id }" },
  "Mutation.createCourse": {
    service: "courses",
    query: `mutation { createCourse(input: { code: "!", title: "x", capacity: 1 }) { id } }`,
  },
  "Mutation.enroll": { service: "courses", query: `mutation { enroll(courseId: "${ZERO}") { id } }` },
  "Mutation.dropEnrollment": {
    service: "courses",
    query: `mutation { dropEnrollment(courseId: "${ZERO}", studentId: "${ZERO}") { id } }`,
  },
  "Course.attendanceRate": { service: "attendance", entity: "Course", selection: "attendanceRate" },
  "User.attendance": { service: "attendance", entity: "User", selection: "attendance { id }" },
  "User.attendanceConnection": {
    service: "attendance",
    entity: "User",
    selection: "attendanceConnection(first: 1) { totalCount }",
  },
  "Query.courseAttendance": {
    service: "attendance",
    query: `query($c: ID!) { courseAttendance(courseId: $c, date: "2020-01-01") { id } }`,
  },
  "Mutation.markAttendance": {
    service: "attendance",
    // A future day: refused as BAD_USER_INPUT once authorized, so nothing is written.
    query: `mutation($c: ID!, $s: ID!, $d: Date!) { markAttendance(input: { courseId: $c, studentId: $s, date: $d, status: PRESENT }) { id } }`,
    variables: () => ({ d: day(30) }),
  },
  "Mutation.markCourseAttendance": {
    service: "attendance",
    query: `mutation($c: ID!) { markCourseAttendance(input: { courseId: $c, date: "2020-01-01", marks: [] }) { id } }`,
  },
  Meal: { service: "food", entity: "Meal", selection: "id name" },
  "Query.meals": { service: "food", query: `{ meals { id } }` },
  "Query.meal": { service: "food", query: `query($m: ID!) { meal(id: $m) { id } }` },
  "Query.myOrders": { service: "food", query: `{ myOrders { id } }` },
  "Query.myOrdersConnection": { service: "food", query: `{ myOrdersConnection(first: 1) { totalCount } }` },
  "Mutation.addMeal": {
    service: "food",
    query: `mutation { addMeal(input: { name: "", mealType: LUNCH, servingDate: "2030-01-01", price: 1, stock: 1 }) { id } }`,
  },
  "Mutation.topUpWallet": {
    service: "food",
    query: `mutation($s: ID!) { topUpWallet(userId: $s, amount: 0) { balance } }`,
  },
  "Mutation.buyMeal": {
    service: "food",
    query: `mutation($m: ID!) { buyMeal(input: { mealId: $m, quantity: 0, idempotencyKey: "matrix" }) { id } }`,
  },
  "Mutation.cancelOrder": { service: "food", query: `mutation { cancelOrder(orderId: "${ZERO}") { id } }` },
  "Query.allMeals": { service: "food", query: `{ allMeals(from: "2030-01-02", to: "2030-01-01") { id } }` },
  // Refused as BAD_USER_INPUT (no field given) or NOT_FOUND once authorized, so nothing is written.
  "Mutation.updateMeal": { service: "food", query: `mutation($m: ID!) { updateMeal(id: $m, input: {}) { id } }` },
  "Mutation.withdrawMeal": { service: "food", query: `mutation { withdrawMeal(id: "${ZERO}") { id } }` },
  "User.wallet": { service: "food", entity: "User", selection: "wallet { balance }" },
  "User.foodOrders": { service: "food", entity: "User", selection: "foodOrders { id }" },
  "User.foodOrdersConnection": {
    service: "food",
    entity: "User",
    selection: "foodOrdersConnection(first: 1) { totalCount }",
  },
  "User.notifications": { service: "notifications", entity: "User", selection: "notifications { totalCount }" },
  "User.unreadNotificationCount": { service: "notifications", entity: "User", selection: "unreadNotificationCount" },
  "Mutation.markNotificationsRead": {
    service: "notifications",
    query: `mutation { markNotificationsRead(ids: []) { id } }`,
  },
  "Mutation.markAllNotificationsRead": { service: "notifications", query: `mutation { markAllNotificationsRead }` },
};
// Over WebSocket only: its row in the table above is the gateway's answer; the subgraph's own
// refusal of an anonymous subscriber is tested in notifications.test.ts.
const NOT_PROBED = ["Subscription.notificationAdded"];

const requirementsOf = (coordinate: string): Requirement[] => {
  const field = rules.fields.get(coordinate);
  const [type, name] = coordinate.split(".");
  const schemaType = name ? undefined : rules.types.get(type!);
  return [field, schemaType].filter((r): r is Requirement => !!r);
};
const rowLevel = (coordinate: string) => requirementsOf(coordinate).some((r) => r.policies);
const matrixPerson = (actor: Exclude<MatrixActor, "anonymous">) => people[actor];
/** Whose row a cell reads: the actor's own, or someone else's (the teacher's; for the teacher, the student's). */
const subjectId = (actor: MatrixActor, subject: Subject) =>
  actor === "anonymous"
    ? people.student.id
    : subject === "self"
      ? matrixPerson(actor).id
      : actor === "teacher"
        ? people.student.id
        : people.teacher.id;

function variablesFor(actor: MatrixActor, subject: Subject, probe: RootProbe) {
  return {
    ...(probe.query.includes("$c:") ? { c: course.id } : {}),
    ...(probe.query.includes("$m:") ? { m: meal.id } : {}),
    ...(probe.query.includes("$s:") ? { s: people.student.id } : {}),
    ...probe.variables?.(subjectId(actor, subject)),
  };
}

/** How the gateway reaches an entity's field for a cell. */
function gatewayQuery(actor: MatrixActor, subject: Subject, probe: EntityProbe) {
  if (probe.entity === "Meal") return `query($m: ID!) { meal(id: $m) { ${probe.selection} } }`;
  if (probe.entity === "Course") return `query($c: ID!) { course(id: $c) { ${probe.selection} } }`;
  if (actor === "anonymous" || subject === "self") return `{ me { ${probe.selection} } }`;
  // Someone else: the course's teacher, or (for the teacher) its students.
  return actor === "teacher"
    ? `query($c: ID!) { course(id: $c) { students { ${probe.selection} } } }`
    : `query($c: ID!) { course(id: $c) { teacher { ${probe.selection} } } }`;
}

interface Cell {
  gateway: Outcome;
  subgraph: Outcome;
  /** Refused by the gateway before planning (the subgraph never asked). */
  byGateway: boolean;
}

async function cell(coordinate: string, actor: MatrixActor, subject: Subject): Promise<Cell> {
  const probe = PROBES[coordinate]!;
  const token = actor === "anonymous" ? undefined : matrixPerson(actor).token;
  const viewer: Viewer =
    actor === "anonymous" ? null : { userId: matrixPerson(actor).id, role: matrixPerson(actor).role };
  let throughGateway: GraphQLResponse;
  let direct: GraphQLResponse;
  if ("query" in probe) {
    const variables = variablesFor(actor, subject, probe);
    throughGateway = await fed.execute({ query: probe.query, variables, token });
    direct = await fed.callSubgraph(probe.service, { query: probe.query, variables, viewer });
  } else {
    const query = gatewayQuery(actor, subject, probe);
    throughGateway = await fed.execute({ query, variables: { c: course.id, m: meal.id }, token });
    const id = probe.entity === "Course" ? course.id : probe.entity === "Meal" ? meal.id : subjectId(actor, subject);
    direct = await fed.callSubgraph(probe.service, {
      query: `query($r: [_Any!]!) { _entities(representations: $r) { ... on ${probe.entity} { ${probe.selection} } } }`,
      variables: { r: [{ __typename: probe.entity, id }] },
      viewer,
    });
  }
  const first = throughGateway.errors?.[0];
  return {
    gateway: outcome(throughGateway),
    subgraph: outcome(direct),
    byGateway: first?.extensions?.reason === REFUSAL_REASON && first.extensions.serviceName === undefined,
  };
}

test("the matrix from the supergraph probes every guarded field and type", () => {
  expect(GUARDED.length).toBeGreaterThanOrEqual(30);
  expect([...Object.keys(PROBES), ...NOT_PROBED].sort()).toEqual(GUARDED);
});

test("gateway and subgraph refuse alike, and the gateway refuses what the token alone decides", async () => {
  const disagreements: string[] = [];
  const table: string[] = [];
  for (const coordinate of Object.keys(PROBES)) {
    const subjects: Subject[] = rowLevel(coordinate) ? ["self", "other"] : ["self"];
    for (const actor of MATRIX_ACTORS)
      for (const subject of subjects) {
        const name = `${coordinate} ${actor}${subjects.length > 1 ? ` (${subject})` : ""}`;
        const result = await cell(coordinate, actor, subject);
        table.push(
          `${name}: gateway ${result.gateway}${result.byGateway ? " (before planning)" : ""}, subgraph ${result.subgraph}`,
        );
        if (result.gateway !== result.subgraph) disagreements.push(name);
        const role = actor === "anonymous" ? null : matrixPerson(actor).role;
        // Guarded parents (me, course) stand in for an anonymous caller; the token decides it all the same.
        const tokenRefuses = role === null || requirementsOf(coordinate).some((r) => refusal(r, role) !== undefined);
        if (tokenRefuses !== result.byGateway)
          disagreements.push(`${name}: refused before planning? ${result.byGateway}`);
        if (role === null && result.gateway !== U) disagreements.push(`${name}: anonymous got ${result.gateway}`);
      }
  }
  expect(disagreements, table.join("\n")).toEqual([]);
});

describe("Router semantics at the gateway", () => {
  test("allowed and refused fields together: the allowed data, null and an error at each refused path", async () => {
    const before = fed.gateway.subgraphRequests.snapshot();
    const r = await fed.execute({
      query: `query($c: ID!) { me { id } course(id: $c) { code attendanceRate } }`,
      variables: { c: course.id },
      token: people.student.token,
    });
    expect(r.data).toEqual({
      me: { id: people.student.id },
      course: { code: expect.any(String), attendanceRate: null },
    });
    expect(r.errors).toEqual([
      expect.objectContaining({
        path: ["course", "attendanceRate"],
        extensions: expect.objectContaining({ code: F, reason: REFUSAL_REASON }),
      }),
    ]);
    // attendanceRate was the only field attendance serves here: it was not asked.
    expect(fed.gateway.subgraphRequests.snapshot().attendance ?? 0).toBe(before.attendance ?? 0);
  });

  test("a field left with nothing the caller may see is null, its variable unused, the rest answered", async () => {
    const r = await fed.execute({
      query: `query($c: ID!) { me { id } course(id: $c) { students { id } } }`,
      variables: { c: course.id },
      token: people.student.token,
    });
    expect(r.data).toEqual({ me: { id: people.student.id }, course: null });
    expect(r.errors?.map((e) => [e.path, e.extensions?.code])).toEqual([[["course", "students"], F]]);
  });

  test("an operation whose every field is refused reaches no subgraph", async () => {
    const before = fed.gateway.subgraphRequests.snapshot();
    const anonymous = await fed.execute({ query: `{ me { id } meals { id } }` });
    expect(anonymous.status).toBe(200);
    expect(anonymous.data).toBeNull(); // meals is non-null
    expect(anonymous.errors?.map((e) => [e.path, e.extensions?.code, e.extensions?.reason])).toEqual([
      [["me"], U, REFUSAL_REASON],
      [["meals"], U, REFUSAL_REASON],
    ]);
    const student = await fed.execute({ query: `{ users { totalCount } }`, token: people.student.token });
    expect(student.data).toBeNull();
    expect(student.errors?.map((e) => e.extensions?.code)).toEqual([F]);
    expect(fed.gateway.subgraphRequests.snapshot()).toEqual(before);
  });

  test("refusals are counted per field and rule", async () => {
    const labels = { field: "Query.users", rule: "requiresScopes" };
    const before = await metricSum(fed.gateway.metricsUrl, "gateway_authorization_refusals_total", labels);
    await fed.execute({ query: `{ users { totalCount } }`, token: people.teacher.token });
    expect(await metricSum(fed.gateway.metricsUrl, "gateway_authorization_refusals_total", labels)).toBe(before + 1);
  });
});
