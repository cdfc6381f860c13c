// Property-based fuzzing of the public API (fast-check): for every query and mutation of the
// API schema, generated hostile values for its arguments — malformed ids, emails, dates, NUL
// and lone surrogates, huge, negative and fractional numbers, long strings, SQL and template
// fragments, real ids of real rows — sent through the real gateway as variables and as inline
// literals, by every kind of caller. Whatever comes in: never a 5xx, never
// INTERNAL_SERVER_ERROR, never a stack trace, and a call that fails writes nothing.
// FUZZ_RUNS (cases per field, default 60) and FUZZ_SEED (fixed in CI) for longer local runs.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import * as fc from "fast-check";
import {
  getNamedType, isEnumType, isInputObjectType, isLeafType, isListType, isNonNullType, type GraphQLArgument, type GraphQLField, type GraphQLInputType,
} from "graphql";
import { composeSupergraph } from "@pooya/gateway";
import { readSubgraphSchemas } from "@pooya/system";
import { startFederation, type Federation, type GraphQLResponse } from "../src/harness.ts";
import { addMeal, createCourse, enroll, topUp } from "../src/fixtures.ts";

const RUNS = Number(process.env.FUZZ_RUNS ?? 60);
const SEED = Number(process.env.FUZZ_SEED ?? 20_261_127);

const composed = composeSupergraph(readSubgraphSchemas());
if (!composed.ok) throw new Error(composed.errors.join("\n"));
const schema = composed.apiSchema;

let fed: Federation;
let tokens: Record<"anonymous" | "student" | "teacher" | "staff", string | undefined>;
let realIds: string[] = [];
let fingerprintSql: Record<string, string> = {};
let cases = 0;
let started = 0;

beforeAll(async () => {
  fed = await startFederation();
  const teacher = await fed.createUser("TEACHER");
  const student = await fed.createUser("STUDENT");
  const course = await createCourse(fed, teacher);
  await enroll(fed, student.token, course.id);
  const meal = await addMeal(fed);
  await topUp(fed, student.id, 5_000);
  tokens = { anonymous: undefined, student: student.token, teacher: teacher.token, staff: fed.admin.token };
  realIds = [fed.admin.userId, teacher.id, student.id, course.id, meal.id];
  // One statement per database counting every table: what a failed call must leave unchanged.
  for (const [service, pool] of Object.entries(fed.db)) {
    const tables = (await pool.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> '_prisma_migrations'`)).rows.map((r) => r.tablename as string);
    fingerprintSql[service] = `SELECT json_build_object(${tables.map((t) => `'${t}', (SELECT count(*) FROM "${t}")`).join(", ")}) AS counts`;
  }
  started = Date.now();
});
afterAll(async () => {
  console.log(`fuzz: ${cases} requests in ${((Date.now() - started) / 1000).toFixed(1)} s (FUZZ_RUNS=${RUNS} per field, seed ${SEED})`);
  await fed?.close();
});

async function rowCounts() {
  await fed.services.attendance.replica.catchUp(); // replication of earlier successful calls, not this one
  const counts: Record<string, unknown> = {};
  for (const [service, sql] of Object.entries(fingerprintSql)) counts[service] = (await fed.db[service as keyof typeof fed.db].query(sql)).rows[0].counts;
  return counts;
}

// ---- hostile values ------------------------------------------------------------------------

const hostileText = fc.oneof(
  fc.constantFrom(
    "", " ", "\u0000", "a\u0000b", "\ud800", "x\udfffy", "' OR 1=1 --", "'; DROP TABLE users; --", "\" OR \"\"=\"", "$(rm -rf /)",
    "<script>alert(1)</script>", "{{7*7}}", "${7*7}", "%00", "\\", "../../etc/passwd", "NaN", "null", "undefined", "true", "-1",
    "admin@pooya.test", "a@b.c", "not-an-email", "@", "😀".repeat(60), "\u202e\u0041", "\r\n", "\t",
  ),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "binary-ascii", maxLength: 20 }),
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)), maxLength: 12 }), // any UTF-16 code unit, lone surrogates included
  fc.constantFrom("x".repeat(300), "y".repeat(5_000), "z".repeat(100_000)),
);
const hostileInt = fc.oneof(
  fc.integer({ min: -3, max: 12 }),
  fc.integer(),
  fc.constantFrom(0, -1, 2_147_483_647, -2_147_483_648, 2_147_483_648, 10_000_000, 100_000_001, 1e15, -1e15, 1.5, -0.5),
  fc.double({ noNaN: true }),
  fc.constantFrom("1", "", "one", true, [], {}),
);
const hostileId = fc.oneof(fc.constantFrom(...Array.from({ length: 5 }, (_, i) => i)).map((i) => realIds[i]!), fc.uuid(), hostileText, fc.integer());
const hostileDate = fc.oneof(
  fc.date({ min: new Date("1899-06-01T00:00:00Z"), max: new Date("2201-06-01T00:00:00Z"), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10)),
  fc.constantFrom("2026-02-30", "0000-01-01", "9999-12-31", "2026-13-01", "2026-00-10", "26-1-1", "2026-01-01T00:00:00Z", "1899-12-31", "2201-01-01", "+275760-09-13"),
  hostileText,
  hostileInt,
);
const hostileInstant = fc.oneof(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), fc.constantFrom("2026-01-01", "0000-01-01T00:00:00Z", "+275760-09-13T00:00:00.000Z", "1"), hostileText);

function valueFor(type: GraphQLInputType, depth = 0): fc.Arbitrary<unknown> {
  if (isNonNullType(type)) return fc.oneof({ weight: 12, arbitrary: valueFor(type.ofType, depth) }, { weight: 1, arbitrary: fc.constant(null) });
  const inner: fc.Arbitrary<unknown> = (() => {
    if (isListType(type)) return fc.array(valueFor(type.ofType, depth + 1), { maxLength: depth > 1 ? 2 : 6 });
    if (isEnumType(type)) return fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...type.getValues().map((v) => v.name)) }, { weight: 1, arbitrary: hostileText });
    if (isInputObjectType(type)) {
      const fields = Object.values(type.getFields());
      return fc.record(Object.fromEntries(fields.map((f) => [f.name, valueFor(f.type, depth + 1)])), { requiredKeys: fields.filter((f) => isNonNullType(f.type)).map((f) => f.name) });
    }
    switch (getNamedType(type).name) {
      case "Int": return hostileInt;
      case "Float": return fc.oneof(fc.double(), hostileInt);
      case "Boolean": return fc.oneof(fc.boolean(), hostileText);
      case "ID": return hostileId;
      case "Date": return hostileDate;
      case "DateTime": return hostileInstant;
      default: return hostileText;
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
    return `{ ${Object.entries(value).map(([k, v]) => `${k}: ${literal(v, fields[k]?.type ?? named)}`).join(", ")} }`;
  }
  if (typeof value === "string") return isEnumType(named) && /^[A-Za-z_]\w*$/.test(value) ? value : JSON.stringify(value);
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : "0";
  return String(value);
}

const selectionFor = (field: GraphQLField<unknown, unknown>) => (isLeafType(getNamedType(field.type)) ? "" : "{ __typename }");

interface Case {
  args: Record<string, unknown>;
  inline: boolean;
  caller: keyof typeof tokens;
}

function caseFor(field: GraphQLField<unknown, unknown>): fc.Arbitrary<Case> {
  const args = fc.record(
    Object.fromEntries(field.args.map((a: GraphQLArgument) => [a.name, valueFor(a.type)])),
    { requiredKeys: field.args.filter((a) => isNonNullType(a.type)).map((a) => a.name) },
  );
  return fc.record({ args, inline: fc.boolean(), caller: fc.constantFrom("staff", "staff", "staff", "teacher", "student", "anonymous") as fc.Arbitrary<Case["caller"]> });
}

async function send(operation: "query" | "mutation", field: GraphQLField<unknown, unknown>, c: Case): Promise<GraphQLResponse> {
  cases += 1;
  const given = field.args.filter((a) => a.name in c.args);
  if (c.inline) {
    const args = given.map((a) => `${a.name}: ${literal(c.args[a.name], a.type)}`).join(", ");
    return fed.execute({ query: `${operation} { ${field.name}${args ? `(${args})` : ""} ${selectionFor(field)} }`, token: tokens[c.caller] });
  }
  const declarations = given.map((a) => `$${a.name}: ${String(a.type)}`).join(", ");
  const args = given.map((a) => `${a.name}: $${a.name}`).join(", ");
  return fed.execute({
    query: `${operation} Fuzz${declarations ? `(${declarations})` : ""} { ${field.name}${args ? `(${args})` : ""} ${selectionFor(field)} }`,
    variables: Object.fromEntries(given.map((a) => [a.name, c.args[a.name]])),
    token: tokens[c.caller],
  });
}

function expectNoServerError(response: GraphQLResponse, c: Case) {
  const text = JSON.stringify(response);
  expect(response.status, text).toBeLessThan(500);
  expect((response.errors ?? []).map((e) => e.extensions?.code), `${JSON.stringify(c)} → ${text}`).not.toContain("INTERNAL_SERVER_ERROR");
  expect(text).not.toMatch(/stacktrace|\n\s+at |Invalid `prisma|invocation:/);
}

const fieldsOf = (operation: "query" | "mutation") => Object.values((operation === "query" ? schema.getQueryType() : schema.getMutationType())?.getFields() ?? {});
const seedOf = (name: string) => SEED + [...name].reduce((h, ch) => (h * 31 + ch.charCodeAt(0)) | 0, 0);

describe("queries", () => {
  test.each(fieldsOf("query").map((f) => [f.name, f] as const))("%s", async (name, field) => {
    await fc.assert(fc.asyncProperty(caseFor(field), async (c) => expectNoServerError(await send("query", field, c), c)), { numRuns: RUNS, seed: seedOf(name), endOnFailure: true });
  }, 120_000);
});

describe("mutations", () => {
  test.each(fieldsOf("mutation").map((f) => [f.name, f] as const))("%s", async (name, field) => {
    await fc.assert(
      fc.asyncProperty(caseFor(field), async (c) => {
        const before = await rowCounts();
        const response = await send("mutation", field, c);
        expectNoServerError(response, c);
        if (!response.data?.[field.name]) expect(await rowCounts(), `a failed ${name} wrote rows: ${JSON.stringify(c)} → ${JSON.stringify(response)}`).toEqual(before);
      }),
      { numRuns: RUNS, seed: seedOf(name), endOnFailure: true },
    );
  }, 120_000);
});
