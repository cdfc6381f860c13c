// The hostile values found by outside testing, each now a typed 4xx with nothing written:
// unstorable text, one oversized value, impossible dates, forged cursors, money past its ceiling,
// queries that expand or answer beyond what is served. (Sign-in abuse: login-abuse.test.ts; generated
// values for every argument: fuzz.test.ts.)
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { errorCodes, startFederation, type Federation, type GraphQLResponse } from "../src/harness.ts";
import { OPS, addMeal, createCourse, enroll, insertStudents } from "../src/fixtures.ts";

let fed: Federation;
let teacher: Awaited<ReturnType<Federation["createUser"]>>;
let student: typeof teacher;
let course: { id: string };
let meal: { id: string };
beforeAll(async () => {
  fed = await startFederation({ env: { MAX_RESPONSE_BYTES: "65536" } });
  teacher = await fed.createUser("TEACHER");
  student = await fed.createUser("STUDENT");
  course = await createCourse(fed, teacher);
  await enroll(fed, student.token, course.id);
  meal = await addMeal(fed);
  await fed.services.attendance.replica.catchUp(); // no replication still under way while rows are counted
});
afterAll(() => fed?.close());

async function rowCounts(): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const [service, pool] of Object.entries(fed.db)) {
    const tables = (
      await pool.query(
        `SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> '_prisma_migrations'`,
      )
    ).rows.map((r) => r.tablename as string);
    for (const table of tables)
      counts[`${service}.${table}`] = Number((await pool.query(`SELECT count(*) FROM "${table}"`)).rows[0].count);
  }
  return counts;
}

function expectRefused(r: GraphQLResponse, code: string, field?: string) {
  expect(r.status).toBeLessThan(500);
  expect(errorCodes(r)).toEqual([code]);
  if (field) expect(r.errors?.[0]?.extensions?.field).toBe(field);
  expect(JSON.stringify(r)).not.toMatch(/INTERNAL_SERVER_ERROR|stacktrace|prisma|SELECT|invocation/i);
}

/** The same value sent as a variable and written inline: both must be refused the same way. */
async function bothForms(options: {
  op: string;
  field: string;
  argType: string;
  value: unknown;
  selection?: string;
  token?: string;
  code?: string;
  expectedField?: string;
  variableOnly?: boolean;
}) {
  // A GraphQL literal: unquoted keys, enum values bare.
  const literal = JSON.stringify(options.value)
    .replace(/"(\w+)":/g, "$1:")
    .replace(/"(LUNCH|BREAKFAST|DINNER|PRESENT|ABSENT|LATE|EXCUSED|STUDENT|TEACHER|STAFF)"/g, "$1");
  const selection = options.selection ?? "{ __typename }";
  const before = await rowCounts();
  const asVariable = await fed.execute({
    query: `${options.op}($v: ${options.argType}) { ${options.field.replace("$VALUE", "$v")} ${selection} }`,
    variables: { v: options.value },
    token: options.token ?? fed.admin.token,
  });
  const inline = options.variableOnly
    ? asVariable
    : await fed.execute({
        query: `${options.op} { ${options.field.replace("$VALUE", literal)} ${selection} }`,
        token: options.token ?? fed.admin.token,
      });
  for (const r of [asVariable, inline]) expectRefused(r, options.code ?? "BAD_USER_INPUT", options.expectedField);
  expect(await rowCounts()).toEqual(before);
  return { asVariable, inline };
}

describe("text a database cannot store", () => {
  const NUL = "a\u0000b";
  test.each([
    [
      "login",
      "mutation",
      'login(email: $VALUE, password: "password1")',
      "String!",
      NUL,
      "{ accessToken }",
      undefined,
      "email",
    ],
    [
      "register",
      "mutation",
      "register(input: $VALUE)",
      "RegisterInput!",
      { email: "n@uni.example", password: "pass\u0000word", name: "N" },
      "{ accessToken }",
      undefined,
      "password",
    ],
    [
      "createUser",
      "mutation",
      "createUser(input: $VALUE)",
      "CreateUserInput!",
      { email: "x@uni.example", password: "password1", name: NUL, role: "TEACHER" },
      "{ id }",
      undefined,
      "name",
    ],
    ["courses(search)", "query", "courses(search: $VALUE)", "String", NUL, "{ totalCount }", "student", undefined],
    [
      "addMeal",
      "mutation",
      "addMeal(input: $VALUE)",
      "AddMealInput!",
      { name: NUL, mealType: "LUNCH", servingDate: "2030-01-01", price: 1, stock: 1 },
      "{ id }",
      undefined,
      "name",
    ],
  ] as const)("a NUL character in %s", async (_, op, field, argType, value, selection, who, expectedField) => {
    const { asVariable } = await bothForms({
      op,
      field,
      argType,
      value,
      selection,
      token: who === "student" ? student.token : undefined,
    });
    if (expectedField) expect(String(asVariable.errors?.[0]?.extensions?.field)).toContain(expectedField);
  });

  test("a NUL character in buyMeal's idempotencyKey, and in createCourse", async () => {
    await bothForms({
      op: "mutation",
      field: "buyMeal(input: $VALUE)",
      argType: "BuyMealInput!",
      value: { mealId: meal.id, quantity: 1, idempotencyKey: "key\u0000" },
      token: student.token,
    });
    await bothForms({
      op: "mutation",
      field: "createCourse(input: $VALUE)",
      argType: "CreateCourseInput!",
      value: { code: "NUL-1", title: "T\u0000", capacity: 5 },
      token: teacher.token,
    });
  });

  test("a lone surrogate is refused the same way (in a variable: a GraphQL document cannot even spell one)", async () => {
    await bothForms({
      op: "mutation",
      field: "addMeal(input: $VALUE)",
      argType: "AddMealInput!",
      value: { name: "x\ud800", mealType: "LUNCH", servingDate: "2030-01-01", price: 1, stock: 1 },
      selection: "{ id }",
      variableOnly: true,
    });
    const inline = await fed.execute({ query: `{ courses(search: "x\\ud800") { totalCount } }`, token: student.token });
    expectRefused(inline, "GRAPHQL_PARSE_FAILED");
  });
});

describe("one oversized value: 400 BAD_USER_INPUT naming the argument and its limit, before any subgraph is called", () => {
  const HUGE = "x".repeat(500_000);
  test.each([
    ["courses(search:)", "query", "courses(search: $VALUE)", "String", HUGE, "{ totalCount }", "search", "courses"],
    [
      "login(email:)",
      "mutation",
      'login(email: $VALUE, password: "password1")',
      "String!",
      HUGE,
      "{ accessToken }",
      "email",
      "login",
    ],
    [
      "register(input: { name })",
      "mutation",
      "register(input: $VALUE)",
      "RegisterInput!",
      { email: "big@uni.example", password: "password1", name: HUGE },
      "{ accessToken }",
      "input.name",
      "register",
    ],
    [
      "me { attendance(courseId:) } (nested)",
      "query",
      "me { attendance(courseId: $VALUE) { id } }",
      "ID",
      "a".repeat(10_001),
      "",
      "courseId",
      "attendance",
    ],
    [
      "500 KB of emoji (characters, not bytes, are counted)",
      "query",
      "courses(search: $VALUE)",
      "String",
      "😀".repeat(125_000),
      "{ totalCount }",
      "search",
      "courses",
    ],
  ] as const)("a text value: %s", async (_, op, field, argType, value, selection, path, owner) => {
    const before = fed.gateway.subgraphRequests.snapshot();
    const { asVariable, inline } = await bothForms({ op, field, argType, value, selection, expectedField: path });
    for (const r of [asVariable, inline]) {
      expect(r.status).toBe(400);
      expect(r.errors?.[0]?.message).toMatch(
        new RegExp(
          `^Argument "${path.replace(".", "\\.")}" of ${owner} is \\d+ characters long; a text value may be at most 10000 characters\\.$`,
        ),
      );
      expect(r.errors?.[0]?.extensions?.maxLength).toBe(10_000);
    }
    expect(fed.gateway.subgraphRequests.snapshot()).toEqual(before);
  });

  test("a list value: markNotificationsRead(ids:) with 1 001 ids", async () => {
    const ids = Array.from({ length: 1_001 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`);
    const { asVariable } = await bothForms({
      op: "mutation",
      field: "markNotificationsRead(ids: $VALUE)",
      argType: "[ID!]!",
      value: ids,
      selection: "{ id }",
      token: student.token,
      expectedField: "ids",
    });
    expect(asVariable.errors?.[0]?.message).toBe(
      'Argument "ids" of markNotificationsRead holds 1001 items; a list value may hold at most 1000.',
    );
    expect(asVariable.errors?.[0]?.extensions?.maxItems).toBe(1_000);
  });

  test("values at the limit pass on to the subgraph, which answers for itself", async () => {
    const before = fed.gateway.subgraphRequests.snapshot().courses ?? 0;
    const r = await fed.execute({
      query: `query($s: String) { courses(search: $s) { totalCount } }`,
      variables: { s: "x".repeat(10_000) },
      token: student.token,
    });
    expect(r.errors?.[0]?.extensions?.maxLength).toBeUndefined();
    expect(fed.gateway.subgraphRequests.snapshot().courses).toBe(before + 1);
  });

  test("many values each under the limit that together exceed one subgraph request are REQUEST_TOO_LARGE, which says so", async () => {
    // Written inline (a variable travels once, however often it is used).
    const text = JSON.stringify("y".repeat(10_000));
    const r = await fed.execute({
      query: `{ ${Array.from({ length: 30 }, (_, i) => `c${i}: courses(search: ${text}) { totalCount }`).join(" ")} }`,
      token: student.token,
    });
    expect(r.status).toBeLessThan(500);
    expect(errorCodes(r)).toContain("REQUEST_TOO_LARGE");
    expect(r.errors?.[0]?.message).toMatch(/ask for fewer fields or send smaller values/);
  });
});

describe("dates that do not exist", () => {
  test.each([
    ["meals(from:)", "query", 'meals(from: $VALUE, to: "2026-03-10")', "Date", "2026-02-30", "{ id }", "student"],
    ["meals in year 0", "query", 'meals(from: $VALUE, to: "0000-01-05")', "Date", "0000-01-01", "{ id }", "student"],
    [
      "courseAttendance",
      "query",
      `courseAttendance(courseId: "COURSE", date: $VALUE)`,
      "Date!",
      "2026-02-30",
      "{ id }",
      "teacher",
    ],
    [
      "markAttendance",
      "mutation",
      "markAttendance(input: $VALUE)",
      "MarkAttendanceInput!",
      { courseId: "COURSE", studentId: "STUDENT", date: "2026-02-30", status: "PRESENT" },
      "{ id }",
      "teacher",
    ],
    [
      "markCourseAttendance",
      "mutation",
      "markCourseAttendance(input: $VALUE)",
      "MarkCourseAttendanceInput!",
      { courseId: "COURSE", date: "0000-01-01", marks: [{ studentId: "STUDENT", status: "PRESENT" }] },
      "{ id }",
      "teacher",
    ],
    [
      "addMeal",
      "mutation",
      "addMeal(input: $VALUE)",
      "AddMealInput!",
      { name: "Ash", mealType: "LUNCH", servingDate: "2026-02-30", price: 1, stock: 1 },
      "{ id }",
      "staff",
    ],
  ] as const)("%s", async (_, op, field, argType, value, selection, who) => {
    const fill = (v: unknown): unknown =>
      JSON.parse(JSON.stringify(v).replaceAll("COURSE", course.id).replaceAll("STUDENT", student.id));
    const token = who === "student" ? student.token : who === "teacher" ? teacher.token : fed.admin.token;
    await bothForms({ op, field: field.replace("COURSE", course.id), argType, value: fill(value), selection, token });
  });
});

describe("forged pagination cursors", () => {
  const forge = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  test.each([
    ["a non-UUID id", forge(["2020-01-01T00:00:00Z", "zzz"])],
    ["an out-of-range timestamp", forge(["+275760-09-13T00:00:00.000Z", "6a1d3f2e-0000-4000-8000-000000000000"])],
    ["year 0", forge(["0000-01-01T00:00:00Z", "6a1d3f2e-0000-4000-8000-000000000000"])],
    ["not a pair", forge({ a: 1 })],
    ["not base64", "!!!"],
    ["huge", "A".repeat(5_000)],
  ])("%s", async (_, cursor) => {
    for (const query of [
      `query($c: String) { courses(after: $c) { totalCount } }`,
      `query($c: String) { users(after: $c) { totalCount } }`,
    ]) {
      expectRefused(
        await fed.execute({ query, variables: { c: cursor }, token: fed.admin.token }),
        "BAD_USER_INPUT",
        "after",
      );
    }
  });
});

describe("money", () => {
  test("top-ups stop at the wallet ceiling with CONFLICT, concurrently too; the balance never passes it", async () => {
    const rich = await fed.createUser("STUDENT");
    const answers = await Promise.all(
      Array.from({ length: 15 }, () =>
        fed.execute({ query: OPS.topUp, variables: { u: rich.id, a: 10_000_000 }, token: fed.admin.token }),
      ),
    );
    expect(answers.filter((r) => !r.errors).length).toBe(10);
    for (const r of answers.filter((a) => a.errors)) expectRefused(r, "CONFLICT");
    const { rows } = await fed.db.food.query("SELECT balance FROM wallets WHERE user_id = $1", [rich.id]);
    expect(rows[0].balance).toBe(100_000_000);
    const ledger = await fed.db.food.query(
      "SELECT count(*)::int AS n, sum(amount)::int AS total FROM ledger_entries WHERE user_id = $1",
      [rich.id],
    );
    expect(ledger.rows[0]).toEqual({ n: 10, total: 100_000_000 });
  });

  test("amounts outside their documented ranges are BAD_USER_INPUT", async () => {
    for (const amount of [0, -5, 10_000_001])
      expectRefused(
        await fed.execute({ query: OPS.topUp, variables: { u: student.id, a: amount }, token: fed.admin.token }),
        "BAD_USER_INPUT",
        "amount",
      );
    expectRefused(
      await fed.execute({ query: OPS.topUp, variables: { u: student.id, a: 2 ** 31 }, token: fed.admin.token }),
      "BAD_USER_INPUT",
    );
  });
});

describe("demand control", () => {
  test("a huge alias reused by fragments is refused before any subgraph is called", async () => {
    const alias = "a".repeat(80_000);
    const query = `query { ...F ...G } fragment F on Query { me { ${alias}: name } } fragment G on Query { courses { edges { node { teacher { ${alias}: name } } } } }`;
    const before = fed.gateway.subgraphRequests.snapshot();
    const r = await fed.execute({ query, token: fed.admin.token });
    expect(r.status).toBe(400);
    expect(errorCodes(r)).toEqual(["GRAPHQL_VALIDATION_FAILED", "GRAPHQL_VALIDATION_FAILED"]);
    expect(fed.gateway.subgraphRequests.snapshot()).toEqual(before);
  });

  test("nested lists are costed by their sizes: an explosive query is refused with its estimate, a dashboard passes", async () => {
    const before = fed.gateway.subgraphRequests.snapshot();
    const explosive = await fed.execute({
      query: `{ users(first: 100) { edges { node { enrolledCourses { students { attendance { id } enrolledCourses { code } } } } } } }`,
      token: fed.admin.token,
    });
    expect(explosive.status).toBe(400);
    expectRefused(explosive, "COST_ESTIMATED_TOO_EXPENSIVE");
    expect(explosive.errors?.[0]?.extensions?.cost).toBeGreaterThan(20_000);
    expect(fed.gateway.subgraphRequests.snapshot()).toEqual(before);
    const dashboard = await fed.execute({
      query: `query($c: ID!) { course(id: $c) { code attendanceRate teacher { name } students { id name attendance(courseId: $c) { status } wallet { balance } foodOrders { meal { name } } } } }`,
      variables: { c: course.id },
      token: fed.admin.token,
    });
    expect(dashboard.errors).toBeUndefined();
  });

  test("the same query text is costed again for each page size, and again for each @include (the gateway remembers costs only for queries whose variables cannot change them)", async () => {
    const paged = `query($n: Int) { users(first: $n) { edges { node { enrolledCourses { students { id } } } } } }`;
    const withFlag = `query($all: Boolean!) { users(first: 100) { edges { node { id enrolledCourses @include(if: $all) { students { attendance { id } enrolledCourses { code } } } } } } }`;
    for (let round = 0; round < 2; round++) {
      expect((await fed.execute({ query: paged, variables: { n: 1 }, token: fed.admin.token })).errors).toBeUndefined();
      expectRefused(
        await fed.execute({ query: paged, variables: { n: 100 }, token: fed.admin.token }),
        "COST_ESTIMATED_TOO_EXPENSIVE",
      );
      expect(
        (await fed.execute({ query: withFlag, variables: { all: false }, token: fed.admin.token })).errors,
      ).toBeUndefined();
      expectRefused(
        await fed.execute({ query: withFlag, variables: { all: true }, token: fed.admin.token }),
        "COST_ESTIMATED_TOO_EXPENSIVE",
      );
    }
  });

  test("an answer larger than MAX_RESPONSE_BYTES (64 KiB here) is refused, not sent", async () => {
    const crowded = await createCourse(fed, teacher, { capacity: 1000 });
    const ids = await insertStudents(fed, 500);
    for (let i = 0; i < ids.length; i += 25)
      await Promise.all(ids.slice(i, i + 25).map((id) => enroll(fed, teacher.token, crowded.id, id)));
    const r = await fed.execute({
      query: `query($c: ID!) { course(id: $c) { students { id name email role createdAt } } }`,
      variables: { c: crowded.id },
      token: fed.admin.token,
    });
    expect(r.status).toBe(400);
    expectRefused(r, "RESPONSE_TOO_LARGE");
  }, 60_000);
});
