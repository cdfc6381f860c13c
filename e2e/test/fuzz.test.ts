// Property-based fuzzing of the public API (fast-check), generated from the API schema of the
// supergraph the gateway serves: every field that takes arguments — at the root and nested
// (`me { attendance(courseId) }`, `me { notifications(first, after, unreadOnly) }`, every
// connection's first/after) — reached through its shortest path from the root (valid arguments
// on the way) with a minimal selection, and given hostile values: malformed ids, emails, dates,
// cursors, NUL and lone surrogates, huge, negative and fractional numbers, text over the size
// limits, SQL and template fragments, real ids of real rows — as variables and as inline
// literals, by every kind of caller, through the real gateway in production mode. Whatever comes
// in: never a 5xx, never INTERNAL_SERVER_ERROR, only typed codes from the API's set, nothing
// leaked (SQL, file paths, hosts, stacks), and a call that fails writes nothing.
// FUZZ_RUNS (cases per field, default 60) and FUZZ_SEED (fixed in CI) for longer local runs.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import * as fc from "fast-check";
import {
  getNamedType,
  getNullableType,
  isEnumType,
  isInputObjectType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLObjectType,
} from "graphql";
import { SUPERGRAPH_PATH, apiSchemaOfSupergraph, readSupergraph } from "@pooya/gateway";
import { ADMIN, startFederation, type Federation, type GraphQLResponse } from "../src/harness.ts";
import { addMeal, createCourse, enroll, topUp } from "../src/fixtures.ts";

const RUNS = Number(process.env.FUZZ_RUNS ?? 60);
const SEED = Number(process.env.FUZZ_SEED ?? 20_261_127);

/** What clients see: the API schema of the supergraph the gateway serves. */
const schema = apiSchemaOfSupergraph(readSupergraph(SUPERGRAPH_PATH).sdl);

/** Every code the API documents for a client's request; anything else (INTERNAL_SERVER_ERROR included) fails. */
const TYPED_CODES = new Set([
  "BAD_USER_INPUT",
  "UNAUTHENTICATED",
  "FORBIDDEN",
  "NOT_FOUND",
  "CONFLICT",
  "NOT_ENROLLED",
  "INSUFFICIENT_FUNDS",
  "SOLD_OUT",
  "TOO_MANY_REQUESTS",
  "GRAPHQL_PARSE_FAILED",
  "GRAPHQL_VALIDATION_FAILED",
  "BAD_REQUEST",
  "COST_ESTIMATED_TOO_EXPENSIVE",
  "REQUEST_TOO_LARGE",
  "RESPONSE_TOO_LARGE",
]);
/** What an answer must never show: database text, stack frames, file paths, internal hosts and errors. */
const LEAKS: [string, RegExp][] = [
  [
    "SQL or Prisma",
    /syntax error at or near|relation "|column "|violates [a-z -]*constraint|duplicate key value|invalid input syntax for|\bprisma\b|P20\d\d\b|\bSELECT\b[^"]*\bFROM\b|\bINSERT INTO\b/i,
  ],
  ["a stack", /stacktrace|\n\s+at |\bat [\w$.<>]+ \((?:file:|node:|\/)/],
  ["a file path", /file:\/\/|node_modules|\/(?:work|home|usr|app|srv|opt|tmp)\/|\.[cm]?[jt]s:\d+/],
  [
    "a host or internal error",
    /127\.0\.0\.1|localhost|https?:\/\/|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|subgraph \w+ answered/i,
  ],
];

let fed: Federation;
let tokens: Record<"anonymous" | "student" | "teacher" | "staff", string | undefined>;
let realIds: string[] = [];
/** Real rows by role, for values that are valid (so that a case can get past everything but its one hostile value). */
let real: { course: string; meal: string; student: string; teacher: string; admin: string };
const fingerprintSql: Record<string, string> = {};
let cases = 0;
let started = 0;

beforeAll(async () => {
  fed = await startFederation({ env: { NODE_ENV: "production" } });
  const teacher = await fed.createUser("TEACHER");
  const student = await fed.createUser("STUDENT");
  const course = await createCourse(fed, teacher);
  await enroll(fed, student.token, course.id);
  const meal = await addMeal(fed);
  await topUp(fed, student.id, 5_000);
  tokens = { anonymous: undefined, student: student.token, teacher: teacher.token, staff: fed.admin.token };
  realIds = [fed.admin.userId, teacher.id, student.id, course.id, meal.id];
  real = { course: course.id, meal: meal.id, student: student.id, teacher: teacher.id, admin: fed.admin.userId };
  // One statement per database counting every table: what a failed call must leave unchanged.
  for (const [service, pool] of Object.entries(fed.db)) {
    const tables = (
      await pool.query(
        `SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> '_prisma_migrations'`,
      )
    ).rows.map((r) => r.tablename as string);
    fingerprintSql[service] =
      `SELECT json_build_object(${tables.map((t) => `'${t}', (SELECT count(*) FROM "${t}")`).join(", ")}) AS counts`;
  }
  started = Date.now();
});
afterAll(async () => {
  const seconds = (Date.now() - started) / 1000;
  if (process.env.FUZZ_OUTCOMES)
    for (const [name, tally] of outcomes)
      console.log(`  ${name}: ${[...tally].map(([o, n]) => `${o} ${n}`).join(", ")}`);
  console.log(
    `fuzz: ${cases} requests over ${TARGETS.length} fields (${TARGETS.filter((t) => t.path.length).length} nested) in ${seconds.toFixed(1)} s, ${Math.round(cases / seconds)}/s (FUZZ_RUNS=${RUNS} per field, seed ${SEED})`,
  );
  await fed?.close();
});

/** Every table's row count; `settled`: once earlier successful calls' events (replicas, notifications) have landed. */
async function rowCounts({ settled }: { settled: boolean }) {
  if (settled) {
    await fed.services.attendance.replica.catchUp();
    await fed.eventsSettled();
  }
  const entries = await Promise.all(
    Object.entries(fingerprintSql).map(
      async ([service, sql]) =>
        [service, (await fed.db[service as keyof typeof fed.db].query(sql)).rows[0].counts] as const,
    ),
  );
  return Object.fromEntries(entries);
}

// ---- what to fuzz: every field with arguments, and how to reach it ---------------------------

interface Step {
  field: GraphQLField<unknown, unknown>;
  /** Valid arguments for the way there, written out (empty when it takes none; real ids exist only once the tests run). */
  args: () => string;
}

interface Target {
  operation: "query" | "mutation";
  /** `Query.courses`, `User.notifications`. */
  name: string;
  /** The fields from the root down to the field's parent. */
  path: Step[];
  field: GraphQLField<unknown, unknown>;
}

const fieldsOf = (type: GraphQLObjectType) => Object.values(type.getFields());
const requiredArgs = (field: GraphQLField<unknown, unknown>) =>
  field.args.filter((a) => isNonNullType(a.type) && a.defaultValue === undefined);

/** A plain valid literal of a type (for required arguments on the way to a nested field). */
function plainLiteral(type: GraphQLInputType): string {
  const nullable = getNullableType(type) as GraphQLInputType;
  if (isListType(nullable)) return `[${plainLiteral(nullable.ofType as GraphQLInputType)}]`;
  if (isEnumType(nullable)) return nullable.getValues()[0]!.name;
  if (isInputObjectType(nullable)) {
    return `{ ${Object.values(nullable.getFields())
      .filter((f) => isNonNullType(f.type))
      .map((f) => `${f.name}: ${plainLiteral(f.type)}`)
      .join(", ")} }`;
  }
  switch (nullable.name) {
    case "Int":
    case "Float":
      return "1";
    case "Boolean":
      return "true";
    case "ID":
      return JSON.stringify(realIds[0] ?? "00000000-0000-4000-8000-000000000000");
    case "Date":
      return JSON.stringify(new Date().toISOString().slice(0, 10));
    case "DateTime":
      return JSON.stringify(new Date().toISOString());
    default:
      return `"a"`;
  }
}

/**
 * The fields to fuzz: every root field with arguments, and every field with arguments of each
 * object type reachable from Query, through the type's shortest path (breadth-first; among
 * fields at the same depth, those without required arguments and without lists come first, so
 * `me` is preferred to `user(id:)` and to a list that may hold nothing).
 */
function targets(): Target[] {
  const query = schema.getQueryType()!;
  const mutation = schema.getMutationType();
  const found: Target[] = [];
  for (const [operation, root] of [
    ["query", query],
    ["mutation", mutation],
  ] as const) {
    if (!root) continue;
    for (const field of fieldsOf(root))
      if (field.args.length) found.push({ operation, name: `${root.name}.${field.name}`, path: [], field });
  }
  const routes = new Map<GraphQLObjectType, Step[]>([[query, []]]);
  const queue: GraphQLObjectType[] = [query];
  const preference = (f: GraphQLField<unknown, unknown>) =>
    requiredArgs(f).length * 2 + (isListType(getNullableType(f.type)) ? 1 : 0);
  while (queue.length) {
    const type = queue.shift()!;
    for (const field of fieldsOf(type).sort((a, b) => preference(a) - preference(b) || a.name.localeCompare(b.name))) {
      const next = getNamedType(field.type);
      if (!isObjectType(next) || routes.has(next)) continue;
      const required = requiredArgs(field);
      const args = () =>
        required.length ? `(${required.map((a) => `${a.name}: ${plainLiteral(a.type)}`).join(", ")})` : "";
      routes.set(next, [...routes.get(type)!, { field, args }]);
      queue.push(next);
    }
  }
  for (const [type, path] of routes) {
    if (type === query) continue;
    for (const field of fieldsOf(type))
      if (field.args.length) found.push({ operation: "query", name: `${type.name}.${field.name}`, path, field });
  }
  return found;
}

const TARGETS = targets();

// ---- hostile values ------------------------------------------------------------------------

const hostileText = fc.oneof(
  fc.constantFrom(
    "",
    " ",
    "\u0000",
    "a\u0000b",
    "\ud800",
    "x\udfffy",
    "' OR 1=1 --",
    "'; DROP TABLE users; --",
    '" OR ""="',
    "$(rm -rf /)",
    "<script>alert(1)</script>",
    "{{7*7}}",
    "${7*7}",
    "%00",
    "\\",
    "../../etc/passwd",
    "NaN",
    "null",
    "undefined",
    "true",
    "-1",
    "admin@pooya.test",
    "a@b.c",
    "not-an-email",
    "@",
    "😀".repeat(60),
    "\u202e\u0041",
    "\r\n",
    "\t",
  ),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "binary-ascii", maxLength: 20 }),
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)), maxLength: 12 }), // any UTF-16 code unit, lone surrogates included
  // Long, at the gateway's text limit (10 000 characters), just over it, far over it.
  fc.constantFrom("x".repeat(300), "y".repeat(5_000), "w".repeat(10_000), "v".repeat(10_001), "z".repeat(100_000)),
);
const hostileInt = fc.oneof(
  fc.integer({ min: -3, max: 12 }),
  fc.integer(),
  fc.constantFrom(
    0,
    -1,
    100,
    101,
    2_147_483_647,
    -2_147_483_648,
    2_147_483_648,
    10_000_000,
    100_000_001,
    1e15,
    -1e15,
    1.5,
    -0.5,
  ),
  fc.double({ noNaN: true }),
  fc.constantFrom("1", "", "one", true, [], {}),
);
const hostileId = fc.oneof(
  fc.constantFrom(...Array.from({ length: 5 }, (_, i) => i)).map((i) => realIds[i]!),
  fc.uuid(),
  hostileText,
  fc.integer(),
);
const hostileDate = fc.oneof(
  fc
    .date({ min: new Date("1899-06-01T00:00:00Z"), max: new Date("2201-06-01T00:00:00Z"), noInvalidDate: true })
    .map((d) => d.toISOString().slice(0, 10)),
  fc.constantFrom(
    "2026-02-30",
    "0000-01-01",
    "9999-12-31",
    "2026-13-01",
    "2026-00-10",
    "26-1-1",
    "2026-01-01T00:00:00Z",
    "1899-12-31",
    "2201-01-01",
    "+275760-09-13",
  ),
  hostileText,
  hostileInt,
);
const hostileInstant = fc.oneof(
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  fc.constantFrom("2026-01-01", "0000-01-01T00:00:00Z", "+275760-09-13T00:00:00.000Z", "1"),
  hostileText,
);
/** Cursors shaped like the API's (base64url JSON of [instant, id]) with hostile parts, forged ones, and plain text. */
const base64url = (value: unknown) =>
  Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");
const hostileCursor = fc.oneof(
  fc.tuple(fc.oneof(hostileInstant, hostileInt), fc.oneof(hostileId, fc.constant(null))).map(base64url),
  fc.oneof(hostileText, fc.json()).map(base64url),
  hostileText,
);

/** A valid value for an argument or input field, by its type and name (real ids of the right kind, plausible text and numbers). */
function validFor(type: GraphQLInputType, name: string): fc.Arbitrary<unknown> {
  const nullable = getNullableType(type) as GraphQLInputType;
  if (isListType(nullable))
    return fc.array(validFor(nullable.ofType as GraphQLInputType, name), { minLength: 1, maxLength: 3 });
  if (isEnumType(nullable)) return fc.constantFrom(...nullable.getValues().map((v) => v.name));
  if (isInputObjectType(nullable)) {
    const fields = Object.values(nullable.getFields());
    return fc.record(Object.fromEntries(fields.map((f) => [f.name, validFor(f.type, f.name)])), {
      requiredKeys: fields.filter((f) => isNonNullType(f.type)).map((f) => f.name),
    });
  }
  const ids: Record<string, string[]> = {
    courseId: [real.course],
    studentId: [real.student],
    teacherId: [real.teacher],
    userId: [real.student, real.teacher],
    mealId: [real.meal],
  };
  switch (nullable.name) {
    case "ID":
      return fc.constantFrom(...(ids[name] ?? realIds));
    case "Int":
      return name === "quantity" ? fc.integer({ min: 1, max: 10 }) : fc.integer({ min: 1, max: 100 });
    case "Float":
      return fc.double({ min: 0, max: 100, noNaN: true });
    case "Boolean":
      return fc.boolean();
    case "Date":
      return fc
        .integer({ min: 0, max: 6 })
        .map((days) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10));
    case "DateTime":
      return fc.constant(new Date().toISOString());
  }
  switch (name) {
    case "email":
      return fc.oneof(
        fc.constant(ADMIN.email),
        fc
          .string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength: 6, maxLength: 10 })
          .map((h) => `fuzz-${h}@uni.example`),
      );
    case "password":
      return fc.oneof(fc.constant(ADMIN.password), fc.constant("password-1234"));
    case "code":
      return fc.integer({ min: 100, max: 999_999 }).map((n) => `FZ-${n}`);
    case "idempotencyKey":
      return fc.uuid();
    case "after":
      return hostileCursor;
    default:
      return fc.constantFrom("Fuzzed", "a", "Ash reshteh");
  }
}

/**
 * An object of arguments or input fields: all hostile, all valid but one (so the one reaches the
 * checks after the others'), or all valid. Only the all-hostile mode alone would seldom get past
 * the first check of an input with several fields.
 */
function recordOf(
  fields: readonly { name: string; type: GraphQLInputType }[],
  depth: number,
): fc.Arbitrary<Record<string, unknown>> {
  if (!fields.length) return fc.constant({});
  const required = fields.filter((f) => isNonNullType(f.type)).map((f) => f.name);
  const build = (
    value: (f: { name: string; type: GraphQLInputType }, i: number) => fc.Arbitrary<unknown>,
    also: string[] = [],
  ) =>
    fc.record(Object.fromEntries(fields.map((f, i) => [f.name, value(f, i)])), {
      requiredKeys: [...new Set([...required, ...also])],
    });
  return fc.oneof(
    { weight: 2, arbitrary: build((f) => valueFor(f.type, depth, f.name)) },
    {
      weight: 3,
      arbitrary: fc
        .nat({ max: fields.length - 1 })
        .chain((k) =>
          build((f, i) => (i === k ? valueFor(f.type, depth, f.name) : validFor(f.type, f.name)), [fields[k]!.name]),
        ),
    },
    { weight: 1, arbitrary: build((f) => validFor(f.type, f.name)) },
  );
}

function valueFor(type: GraphQLInputType, depth = 0, name = ""): fc.Arbitrary<unknown> {
  if (isNonNullType(type))
    return fc.oneof(
      { weight: 12, arbitrary: valueFor(type.ofType, depth, name) },
      { weight: 1, arbitrary: fc.constant(null) },
    );
  const inner: fc.Arbitrary<unknown> = (() => {
    if (isListType(type)) return fc.array(valueFor(type.ofType, depth + 1, name), { maxLength: depth > 1 ? 2 : 6 });
    if (isEnumType(type))
      return fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom(...type.getValues().map((v) => v.name)) },
        { weight: 1, arbitrary: hostileText },
      );
    if (isInputObjectType(type)) return recordOf(Object.values(type.getFields()), depth + 1);
    if (name === "after") return hostileCursor;
    switch (getNamedType(type).name) {
      case "Int":
        return hostileInt;
      case "Float":
        return fc.oneof(fc.double(), hostileInt);
      case "Boolean":
        return fc.oneof(fc.boolean(), hostileText);
      case "ID":
        return hostileId;
      case "Date":
        return hostileDate;
      case "DateTime":
        return hostileInstant;
      default:
        return hostileText;
    }
  })();
  return fc.oneof({ weight: 12, arbitrary: inner }, { weight: 1, arbitrary: fc.constant(null) });
}

/** A value written as a GraphQL literal (what a value cannot be in GraphQL syntax makes a parse error, which is fine too). */
function literal(value: unknown, type: GraphQLInputType): string {
  if (value === null || value === undefined) return "null";
  const named = getNamedType(type);
  if (Array.isArray(value)) {
    const nullable = isNonNullType(type) ? type.ofType : type;
    const item = isListType(nullable) ? (nullable.ofType as GraphQLInputType) : type;
    return `[${value.map((v) => literal(v, item)).join(", ")}]`;
  }
  if (typeof value === "object") {
    const fields = isInputObjectType(named) ? named.getFields() : {};
    return `{ ${Object.entries(value)
      .map(([k, v]) => `${k}: ${literal(v, fields[k]?.type ?? named)}`)
      .join(", ")} }`;
  }
  if (typeof value === "string")
    return isEnumType(named) && /^[A-Za-z_]\w*$/.test(value) ? value : JSON.stringify(value);
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : "0";
  return String(value);
}

/** The least a field can be asked for: nothing under a scalar, `__typename` under an object. */
const selectionFor = (field: GraphQLField<unknown, unknown>) =>
  isLeafType(getNamedType(field.type)) ? "" : "{ __typename }";

interface Case {
  args: Record<string, unknown>;
  inline: boolean;
  caller: keyof typeof tokens;
}

function caseFor(field: GraphQLField<unknown, unknown>): fc.Arbitrary<Case> {
  const args = recordOf(field.args as readonly GraphQLArgument[], 0);
  return fc.record({
    args,
    inline: fc.boolean(),
    caller: fc.constantFrom("staff", "staff", "staff", "teacher", "student", "student", "anonymous") as fc.Arbitrary<
      Case["caller"]
    >,
  });
}

/** The operation for a case: the path's fields opened around the target field. */
function operationFor(target: Target, c: Case): { query: string; variables?: Record<string, unknown> } {
  const given = target.field.args.filter((a) => a.name in c.args);
  const around = (inner: string) =>
    target.path.reduceRight((acc, step) => `${step.field.name}${step.args()} { ${acc} }`, inner);
  if (c.inline) {
    const args = given.map((a) => `${a.name}: ${literal(c.args[a.name], a.type)}`).join(", ");
    return {
      query: `${target.operation} { ${around(`${target.field.name}${args ? `(${args})` : ""} ${selectionFor(target.field)}`)} }`,
    };
  }
  const declarations = given.map((a) => `$${a.name}: ${String(a.type)}`).join(", ");
  const args = given.map((a) => `${a.name}: $${a.name}`).join(", ");
  return {
    query: `${target.operation} Fuzz${declarations ? `(${declarations})` : ""} { ${around(`${target.field.name}${args ? `(${args})` : ""} ${selectionFor(target.field)}`)} }`,
    variables: Object.fromEntries(given.map((a) => [a.name, c.args[a.name]])),
  };
}

/** Per field: answers by outcome (`data`, or the first error's code, `@resolver` when a resolver raised it). */
const outcomes = new Map<string, Map<string, number>>();

async function send(target: Target, c: Case): Promise<GraphQLResponse> {
  cases += 1;
  const response = await fed.execute({ ...operationFor(target, c), token: tokens[c.caller] });
  const [first] = response.errors ?? [];
  const outcome = !first ? "data" : `${String(first.extensions?.code)}${first.path ? "@resolver" : ""}`;
  const tally = outcomes.get(target.name) ?? new Map<string, number>();
  outcomes.set(target.name, tally.set(outcome, (tally.get(outcome) ?? 0) + 1));
  return response;
}

/** Whether some case got past parsing, validation and the gateway's checks to the field's resolver. */
function reachedResolver(name: string): boolean {
  return [...(outcomes.get(name) ?? new Map<string, number>()).keys()].some(
    (outcome) => outcome === "data" || outcome.endsWith("@resolver"),
  );
}

/** Every string the case sent (an answer may quote the client's own value back; that is no leak). */
function sentText(value: unknown, into: string[] = []): string[] {
  if (typeof value === "string") into.push(value, JSON.stringify(value).slice(1, -1));
  else if (Array.isArray(value)) value.forEach((v) => sentText(v, into));
  else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      into.push(k);
      sentText(v, into);
    }
  }
  return into;
}

function expectTypedAnswer(response: GraphQLResponse, target: Target, c: Case) {
  const text = JSON.stringify(response);
  const context = `${target.name} ${JSON.stringify(c).slice(0, 500)} → ${text.slice(0, 1_000)}`;
  expect(response.status, context).toBeLessThan(500);
  for (const error of response.errors ?? []) {
    expect(typeof error.message, context).toBe("string");
    expect(TYPED_CODES, context).toContain(error.extensions?.code);
  }
  let own = text;
  for (const sent of sentText(c.args)
    .filter((s) => s.length >= 3)
    .sort((a, b) => b.length - a.length))
    own = own.replaceAll(sent, "");
  for (const [what, pattern] of LEAKS) expect(own, `${what} in ${context}`).not.toMatch(pattern);
}

const seedOf = (name: string) => SEED + [...name].reduce((h, ch) => (h * 31 + ch.charCodeAt(0)) | 0, 0);

test("every field with arguments is fuzzed, nested ones through a path from the root", () => {
  const withArgs = Object.values(schema.getTypeMap())
    .filter(
      (t): t is GraphQLObjectType => isObjectType(t) && !t.name.startsWith("__") && t !== schema.getSubscriptionType(),
    )
    .flatMap((t) =>
      fieldsOf(t)
        .filter((f) => f.args.length)
        .map((f) => `${t.name}.${f.name}`),
    );
  expect(TARGETS.map((t) => t.name).sort()).toEqual(withArgs.sort());
  expect(
    TARGETS.filter((t) => t.path.length)
      .map((t) => `${t.name} via ${t.path.map((s) => s.field.name).join(".")}`)
      .sort(),
  ).toEqual(expect.arrayContaining(["User.attendance via me", "User.notifications via me"]));
});

describe("queries", () => {
  test.each(TARGETS.filter((t) => t.operation === "query").map((t) => [t.name, t] as const))(
    "%s",
    async (name, target) => {
      await fc.assert(
        fc.asyncProperty(caseFor(target.field), async (c) => expectTypedAnswer(await send(target, c), target, c)),
        { numRuns: RUNS, seed: seedOf(name), endOnFailure: true },
      );
      expect(
        reachedResolver(name),
        `no case of ${name} reached its resolver: ${JSON.stringify([...outcomes.get(name)!])}`,
      ).toBe(true);
    },
    120_000,
  );
});

describe("mutations", () => {
  let unchangedSince: Record<string, unknown> | undefined;
  test.each(TARGETS.filter((t) => t.operation === "mutation").map((t) => [t.name, t] as const))(
    "%s",
    async (name, target) => {
      await fc.assert(
        fc.asyncProperty(caseFor(target.field), async (c) => {
          // After a failed call nothing is pending: its counts are the next call's "before".
          const before = unchangedSince ?? (await rowCounts({ settled: true }));
          unchangedSince = undefined;
          const response = await send(target, c);
          expectTypedAnswer(response, target, c);
          if (response.data?.[target.field.name]) return;
          // No `data` at all: a request error, refused before anything ran (so nothing could write).
          if (!("data" in response)) {
            unchangedSince = before;
            return;
          }
          const after = await rowCounts({ settled: false });
          expect(
            after,
            `a failed ${name} wrote rows: ${JSON.stringify(c).slice(0, 500)} → ${JSON.stringify(response)}`,
          ).toEqual(before);
          unchangedSince = after;
        }),
        { numRuns: RUNS, seed: seedOf(name), endOnFailure: true },
      );
      expect(
        reachedResolver(name),
        `no case of ${name} reached its resolver: ${JSON.stringify([...outcomes.get(name)!])}`,
      ).toBe(true);
    },
    120_000,
  );
});
