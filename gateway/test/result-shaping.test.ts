// The gateway's result shaping (gateway/src/result-shaping.ts) must answer exactly as Apollo
// Gateway's own: the same data in the same key order, the same errors with the same paths, and
// the same exceptions for inputs it refuses. Both run here on the same operations and inputs:
// hand-written edge cases, a few thousand random corruptions of valid answers, and the real
// supergraph's course report.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { expect, test } from "vitest";
import { parse } from "graphql";
import {
  Supergraph,
  buildSchema,
  operationFromDocument,
  type FieldSelection,
  type Schema,
} from "@apollo/federation-internals";
import { SUPERGRAPH_PATH, forApolloGateway } from "../src/supergraph.ts";
import {
  apolloComputeResponse,
  computeResponse,
  installFastResultShaping,
  useApolloResultShaping,
  type ComputeResponseArgs,
} from "../src/result-shaping.ts";

const schema = buildSchema(`
  scalar Date
  enum Status { PRESENT ABSENT LATE }
  interface Node { id: ID! }
  type Student implements Node { id: ID! name: String! tags: [String!] marks: [Mark!]! wallet: Wallet }
  type Teacher implements Node { id: ID! name: String courses: [String] }
  type Mark { date: Date! status: Status! score: Float count: Int flag: Boolean }
  type Wallet { balance: Int! }
  union Person = Student | Teacher
  type Query { me: Node people: [Person!]! student(id: ID!): Student! grid: [[Int!]]! flag: Boolean }
`);

const introspection = (selection: FieldSelection) => ({ introspected: selection.element.responseName() });

/** What one implementation made of the input: its answer as JSON (key order included), or what it threw. */
function outcome(
  shape: (args: ComputeResponseArgs) => {
    data: unknown;
    errors: { message: string; path?: readonly (string | number)[]; extensions?: Record<string, unknown> }[];
  },
  on: Schema,
  query: string,
  variables: Record<string, unknown>,
  input: unknown,
) {
  const operation = operationFromDocument(on, parse(query), { validate: true });
  try {
    const { data, errors } = shape({
      operation,
      variables,
      input: structuredClone(input) as Record<string, unknown>,
      introspectionHandling: introspection,
    });
    return JSON.stringify({
      data,
      errors: errors.map((e) => ({ message: e.message, path: e.path, code: e.extensions?.code })),
    });
  } catch (error) {
    return `threw: ${(error as Error).message}`;
  }
}

const same = (on: Schema, query: string, variables: Record<string, unknown>, input: unknown) => {
  const ours = outcome(computeResponse, on, query, variables, input);
  expect(ours).toBe(outcome(apolloComputeResponse, on, query, variables, input));
  return ours;
};

const queries: { query: string; variables: Record<string, unknown>; valid: unknown }[] = [
  {
    query: `{ me { id __typename ... on Student { name marks { date status } } ... on Teacher { courses } } }`,
    variables: {},
    valid: {
      me: {
        __typename: "Student",
        id: "s1",
        name: "Ada",
        marks: [
          { date: "2026-01-01", status: "PRESENT" },
          { date: "2026-01-02", status: "LATE" },
        ],
      },
    },
  },
  {
    query: `query($s: Boolean!, $i: Boolean = true) { people { __typename ... on Student { n: name marks @skip(if: $s) { status score } wallet @include(if: $i) { balance } } ... on Teacher { name courses } } }`,
    variables: { s: false },
    valid: {
      people: [
        { __typename: "Student", n: "Ada", marks: [{ status: "ABSENT", score: 1.5 }], wallet: { balance: 10 } },
        { __typename: "Teacher", name: "Bo", courses: ["a", null] },
      ],
    },
  },
  {
    query: `query($s: Boolean!) { people { ... on Student { marks @skip(if: $s) { status } id } } }`,
    variables: { s: true },
    valid: { people: [{ __typename: "Student", id: "1", marks: [] }] },
  },
  {
    query: `{ student(id: "1") { id name tags marks { date status count flag score } wallet { balance } } grid flag t: __typename }`,
    variables: {},
    valid: {
      student: {
        id: "1",
        name: "Ada",
        tags: ["x", "y"],
        marks: [{ date: "d", status: "PRESENT", count: 3, flag: true, score: 2 }],
        wallet: null,
      },
      grid: [[1, 2], [3]],
      flag: false,
    },
  },
  {
    query: `{ __typename ... on Query { flag } __schema { queryType { name } } me { ... on Node { id } } }`,
    variables: {},
    valid: { flag: true, me: { __typename: "Teacher", id: "t" } },
  },
  // Response names that Object.prototype also has: answered from objects without a prototype.
  {
    query: `{ me { __proto__: id constructor: __typename ... on Student { toString: name marks { valueOf: status hasOwnProperty: date } } } people { ... on Teacher { __proto__: name } } }`,
    variables: {},
    valid: JSON.parse(
      `{ "me": { "__typename": "Student", "__proto__": "s1", "constructor": "Student", "toString": "Ada", "marks": [{ "valueOf": "LATE", "hasOwnProperty": "d" }] }, "people": [{ "__typename": "Teacher", "__proto__": "Bo" }] }`,
    ),
  },
];

test("hand-written edge cases answer as Apollo's: nulls bubbling, wrong values, unknown __typename, skip/include, missing input", () => {
  for (const { query, variables, valid } of queries) same(schema, query, variables, valid);
  const cases: [number, unknown][] = [
    [0, { me: { __typename: "Nope", id: "s1" } }], // unknown __typename
    [0, { me: { __typename: "Student", id: null, name: "Ada", marks: [] } }], // null for non-null: bubbles to me
    [0, { me: { __typename: "Student", id: "s1", name: "Ada", marks: [{ date: "d", status: "BOGUS" }] } }], // invalid enum
    [0, { me: null }],
    [0, {}], // field missing
    [1, { people: [{ __typename: "Student", n: null, marks: [], wallet: null }] }], // non-null list item bubbles to the root
    [
      3,
      {
        student: {
          id: 1,
          name: "Ada",
          tags: null,
          marks: [{ date: "d", status: "LATE", count: 1.5, flag: "yes", score: "x" }],
        },
        grid: [[1, null]],
        flag: 3,
      },
    ],
    [3, { student: { id: "1", name: "Ada", tags: "not a list", marks: [] }, grid: [], flag: null }], // a list that is not one: both throw
    [3, { student: { id: "1", name: "Ada", tags: [], marks: {} }, grid: [], flag: null }],
  ];
  for (const [i, input] of cases) same(schema, queries[i]!.query, queries[i]!.variables, input);
  // Those names reach the answer as the client's own keys, not as the prototype or its methods.
  expect(JSON.parse(same(schema, queries[5]!.query, {}, queries[5]!.valid)).data).toEqual(
    JSON.parse(
      `{ "me": { "__proto__": "s1", "constructor": "Student", "toString": "Ada", "marks": [{ "valueOf": "LATE", "hasOwnProperty": "d" }] }, "people": [{ "__proto__": "Bo" }] }`,
    ),
  );
  // A null for the non-null `__proto__: id` makes `me` null, as for any other name.
  expect(
    JSON.parse(
      same(
        schema,
        queries[5]!.query,
        {},
        JSON.parse(`{ "me": { "__typename": "Student", "__proto__": null }, "people": [] }`),
      ),
    ).data,
  ).toEqual({ me: null, people: [] });
  expect(outcome(computeResponse, schema, queries[0]!.query, {}, null)).toBe(
    JSON.stringify({ data: null, errors: [] }),
  );
  expect(() => same(schema, `query($s: Boolean!) { flag @skip(if: $s) }`, { s: "no" }, { flag: true })).not.toThrow();
});

/** A deterministic random number generator, so a failure can be replayed. */
function random(seed: number) {
  return () => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648;
}
const replacements: unknown[] = [
  null,
  undefined,
  "PRESENT",
  "BOGUS",
  3,
  3.5,
  -0,
  true,
  {},
  [],
  { __typename: "Nope" },
  { __typename: "Teacher", id: "t" },
  [null],
  "Student",
];

/** The input with one value somewhere replaced (or removed). */
function corrupt(value: unknown, next: () => number): unknown {
  if (value === null || typeof value !== "object") return replacements[Math.floor(next() * replacements.length)];
  const copy: Record<string, unknown> | unknown[] = Array.isArray(value)
    ? [...value]
    : { ...(value as Record<string, unknown>) };
  const keys = Object.keys(copy);
  if (keys.length === 0 || next() < 0.15) return replacements[Math.floor(next() * replacements.length)];
  const key = keys[Math.floor(next() * keys.length)]!;
  const replaced = corrupt((copy as Record<string, unknown>)[key], next);
  if (replaced === undefined && !Array.isArray(copy))
    return Object.fromEntries(Object.entries(copy).filter(([k]) => k !== key));
  (copy as Record<string, unknown>)[key] = replaced;
  return copy;
}

test("3 000 random corruptions of valid answers: the same data, errors and exceptions as Apollo's", () => {
  const next = random(20261128);
  const kinds = new Set<string>();
  for (let n = 0; n < 3000; n++) {
    const { query, variables, valid } = queries[n % queries.length]!;
    let input = valid;
    const times = 1 + Math.floor(next() * 3);
    for (let t = 0; t < times; t++) input = corrupt(input, next);
    const answer = same(schema, query, variables, input);
    kinds.add(answer.startsWith("threw") ? "threw" : answer.includes('"errors":[]') ? "clean" : "errors");
  }
  // The corruptions reached all three outcomes, so each was compared.
  expect([...kinds].sort()).toEqual(["clean", "errors", "threw"]);
});

test("the real supergraph's course report (200 students) answers as Apollo's, and the install takes effect", () => {
  const api = Supergraph.build(forApolloGateway(readFileSync(SUPERGRAPH_PATH, "utf8"))).apiSchema();
  const query = `query($id: ID!) { course(id: $id) { code attendanceRate students { name attendance(courseId: $id) { date status } wallet { balance } foodOrders { totalPrice status } } } }`;
  const students = Array.from({ length: 200 }, (_, i) => ({
    __typename: "User",
    id: `u${i}`,
    name: `Student ${i}`,
    attendance: Array.from({ length: 10 }, (_, d) => ({
      date: `2026-11-${String(d + 1).padStart(2, "0")}`,
      status: ["PRESENT", "LATE", "ABSENT"][(i + d) % 3],
    })),
    wallet: i % 7 === 0 ? null : { __typename: "Wallet", balance: 3600, userId: `u${i}` },
    foodOrders: [{ totalPrice: 700, status: "CONFIRMED", id: "o" }],
  }));
  const answer = same(
    api,
    query,
    { id: "c1" },
    { course: { __typename: "Course", id: "c1", code: "B200", attendanceRate: 0.8, students } },
  );
  expect(JSON.parse(answer).data.course.students).toHaveLength(200);
  // What executeQueryPlan calls is the module's export: ours once installed, Apollo's again with RESULT_SHAPING=apollo.
  const apolloModule = createRequire(import.meta.url)("@apollo/gateway/dist/resultShaping.js") as {
    computeResponse: unknown;
  };
  expect(installFastResultShaping()).toBe(true);
  expect(apolloModule.computeResponse).toBe(computeResponse);
  useApolloResultShaping();
  expect(apolloModule.computeResponse).toBe(apolloComputeResponse);
});
