// The kit's enforcement of a subgraph's own @authenticated, @requiresScopes and @policy.
import { describe, expect, test } from "vitest";
import { parse } from "graphql";
import type { Viewer } from "@pooya/identity";
import { REFUSAL_REASON, guardResolvers, guardedFields } from "../src/authorization.ts";

const typeDefs = parse(`
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@authenticated", "@requiresScopes", "@policy"])
  type Query {
    open: String
    me: String @authenticated
    staffOnly: Int @requiresScopes(scopes: [["role:staff"]])
    meal(id: ID!): Meal
  }
  type Meal @key(fields: "id") @authenticated { id: ID! name: String }
  type User @key(fields: "id") { id: ID! wallet: Int @policy(policies: [["self_or_staff"]]) }
`);
type Resolver = (parent: unknown, args: unknown, context: { viewer: Viewer }, info?: unknown) => unknown;
const base = {
  Query: { open: () => "o", me: () => "m", staffOnly: () => 1, meal: () => ({ id: "1", name: "stew" }) },
  Meal: { __resolveReference: (ref: { id: string }) => ({ ...ref, name: "stew" }) },
  User: {},
};
const refused: string[] = [];
const guarded = guardResolvers(
  typeDefs,
  base,
  { self_or_staff: (viewer, user: { id: string }) => viewer.role === "STAFF" || viewer.userId === user.id },
  (field, rule) => refused.push(`${field} ${rule}`),
) as Record<string, Record<string, Resolver>>;
const student: Viewer = { userId: "s", role: "STUDENT" };
const staff: Viewer = { userId: "a", role: "STAFF" };
const codeOf = async (run: () => unknown) => {
  try {
    await run();
    return "ok";
  } catch (error) {
    const e = error as { extensions: { code: string; reason: string } };
    expect(e.extensions.reason).toBe(REFUSAL_REASON);
    return e.extensions.code;
  }
};

describe("guarded resolvers", () => {
  test("the guarded fields of a schema, types' requirements on the fields that return them", () => {
    expect([...guardedFields(typeDefs).keys()].sort()).toEqual([
      "Meal.__resolveReference",
      "Query.me",
      "Query.meal",
      "Query.staffOnly",
      "User.wallet",
    ]);
  });

  test("anonymous: UNAUTHENTICATED; a signed-in viewer without the scope or policy: FORBIDDEN", async () => {
    const q = guarded.Query!;
    expect(await codeOf(() => q.open!(null, {}, { viewer: null }))).toBe("ok");
    expect(await codeOf(() => q.me!(null, {}, { viewer: null }))).toBe("UNAUTHENTICATED");
    expect(await codeOf(() => q.me!(null, {}, { viewer: student }))).toBe("ok");
    expect(await codeOf(() => q.staffOnly!(null, {}, { viewer: student }))).toBe("FORBIDDEN");
    expect(q.staffOnly!(null, {}, { viewer: staff })).toBe(1); // no policy: answered at once
    expect(await codeOf(() => q.meal!(null, {}, { viewer: null }))).toBe("UNAUTHENTICATED");
    const reference = guarded.Meal!.__resolveReference as unknown as (r: unknown, c: { viewer: Viewer }) => unknown;
    expect(await codeOf(() => reference({ id: "1" }, { viewer: null }))).toBe("UNAUTHENTICATED");
    expect(reference({ id: "1" }, { viewer: student })).toEqual({ id: "1", name: "stew" });
  });

  test("a row-level policy decides by the parent; a field without a resolver still reads its property", async () => {
    const wallet = guarded.User!.wallet!;
    expect(await wallet({ id: "s", wallet: 5 }, {}, { viewer: student })).toBe(5);
    expect(await codeOf(() => wallet({ id: "x", wallet: 5 }, {}, { viewer: student }))).toBe("FORBIDDEN");
    expect(await wallet({ id: "x", wallet: 7 }, {}, { viewer: staff })).toBe(7);
    expect(refused).toContain("User.wallet policy:self_or_staff");
  });

  test("a policy the schema names but the subgraph does not register stops it at start", () => {
    expect(() => guardResolvers(typeDefs, base, {})).toThrow(/self_or_staff/);
  });
});
