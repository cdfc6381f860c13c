// Schema checks know policy: a guard (@authenticated, @requiresScopes, @policy) lost or widened
// is a breaking change, a lost @listSize a dangerous one, and composition writes each guard into
// the description ("Requires: …") that Sandbox and codegen show. Fixtures of our own: small
// subgraphs composed here, and the repository's tree with a planted policy baseline.
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { printSchema, type GraphQLObjectType } from "graphql";
import { composeSupergraph, requirementText, schemaRequirements } from "@pooya/gateway";
import { checkBreakingChanges, policyChangesOf } from "../src/schema-checks.ts";
import { policyChanges, readPolicyBaseline, renderPolicyBaseline, widened } from "../src/schema-policy.ts";
import { SUBGRAPH_NAMES } from "../src/registry.ts";

const LINK = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key", "@authenticated", "@requiresScopes", "@policy", "@listSize"])`;

/** A users subgraph whose User.email and Query.users carry what the test says. */
function users({ email = "", list = "", extra = "" } = {}) {
  return `${LINK}
type User @key(fields: "id") {
  id: ID!
  name: String!
  "Lower-cased sign-in email."
  email: String! ${email}
  ${extra}
}
type Query {
  me: User @authenticated
  users(first: Int): [User!]! ${list}
}
`;
}

function supergraphOf(sdl: string): string {
  const result = composeSupergraph([{ name: "users", url: "http://users/graphql", sdl }]);
  if (!result.ok) throw new Error(result.errors.join("\n"));
  return result.supergraphSdl;
}

const GUARDED = users({
  email: `@authenticated @requiresScopes(scopes: [["role:staff"]]) @policy(policies: [["self_or_staff"]])`,
  list: `@listSize(assumedSize: 50, slicingArguments: ["first"])`,
});

/** The policy changes from `before` to `after` (two versions of the fixture subgraph). */
function changes(before: string, after: string) {
  const released = schemaRequirements(supergraphOf(before)).requirements;
  return policyChanges(released, schemaRequirements(supergraphOf(after))).map((c) => [c.level, c.type, c.path]);
}

describe("requirements read from a supergraph", () => {
  test("each guard and list size by coordinate, as composed", () => {
    const { requirements } = schemaRequirements(supergraphOf(GUARDED));
    expect(Object.fromEntries(requirements)).toEqual({
      "User.email": { authenticated: true, scopes: [["role:staff"]], policies: [["self_or_staff"]] },
      "Query.me": { authenticated: true },
      "Query.users": { listSize: { assumedSize: 50, slicingArguments: ["first"] } },
    });
  });

  test("a baseline written by schema:release reads back as the same requirements: no changes", async () => {
    const dir = await mkdtemp(join(tmpdir(), "pooya-policy-"));
    try {
      await mkdir(join(dir, "gateway"));
      await writeFile(join(dir, "gateway/policy-baseline.json"), renderPolicyBaseline(supergraphOf(GUARDED)));
      const released = readPolicyBaseline(dir);
      expect(released.get("User.email")).toEqual({
        authenticated: true,
        scopes: [["role:staff"]],
        policies: [["self_or_staff"]],
      });
      expect(policyChanges(released, schemaRequirements(supergraphOf(GUARDED)))).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("policy changes", () => {
  test("a field losing @authenticated, @requiresScopes and @policy: three breaking changes", () => {
    expect(changes(GUARDED, users({ list: `@listSize(assumedSize: 50, slicingArguments: ["first"])` }))).toEqual([
      ["BREAKING", "AUTHENTICATED_REMOVED", "User.email"],
      ["BREAKING", "REQUIRES_SCOPES_REMOVED", "User.email"],
      ["BREAKING", "POLICY_REMOVED", "User.email"],
    ]);
  });

  test("widening the scopes or the policies is breaking; narrowing them is not", () => {
    const list = `@listSize(assumedSize: 50, slicingArguments: ["first"])`;
    const widerScopes = users({
      email: `@authenticated @requiresScopes(scopes: [["role:staff"], ["role:teacher"]]) @policy(policies: [["self_or_staff"]])`,
      list,
    });
    expect(changes(GUARDED, widerScopes)).toEqual([["BREAKING", "REQUIRES_SCOPES_WIDENED", "User.email"]]);
    const widerPolicies = users({
      email: `@authenticated @requiresScopes(scopes: [["role:staff"]]) @policy(policies: [["self_or_staff"], ["anyone"]])`,
      list,
    });
    expect(changes(GUARDED, widerPolicies)).toEqual([["BREAKING", "POLICY_WIDENED", "User.email"]]);
    const narrower = users({
      email: `@authenticated @requiresScopes(scopes: [["role:staff", "mfa"]]) @policy(policies: [["self_or_staff", "audited"]])`,
      list,
    });
    expect(changes(GUARDED, narrower)).toEqual([]);
  });

  test("@authenticated may go where @requiresScopes stays (scopes need a token anyway)", () => {
    const list = `@listSize(assumedSize: 50, slicingArguments: ["first"])`;
    const scopesOnly = users({
      email: `@requiresScopes(scopes: [["role:staff"]]) @policy(policies: [["self_or_staff"]])`,
      list,
    });
    expect(changes(GUARDED, scopesOnly)).toEqual([]);
  });

  test("a list losing @listSize is dangerous, not breaking", () => {
    const unsized = users({
      email: `@authenticated @requiresScopes(scopes: [["role:staff"]]) @policy(policies: [["self_or_staff"]])`,
    });
    expect(changes(GUARDED, unsized)).toEqual([["DANGEROUS", "LIST_SIZE_REMOVED", "Query.users"]]);
  });

  test("a removed field is the API diff's to report (FIELD_REMOVED), not a policy change", () => {
    const withoutEmail = `${LINK}
type User @key(fields: "id") { id: ID! name: String! }
type Query { me: User @authenticated users(first: Int): [User!]! @listSize(assumedSize: 50, slicingArguments: ["first"]) }
`;
    expect(changes(GUARDED, withoutEmail)).toEqual([]);
  });

  test("widened(): which alternatives newly suffice", () => {
    expect(widened([["a"]], [["a"], ["b"]])).toEqual([["b"]]);
    expect(widened([["a", "b"]], [["a"]])).toEqual([["a"]]);
    expect(widened([["a"]], [["a", "b"]])).toEqual([]);
    expect(widened([["a"], ["b"]], [["b", "c"]])).toEqual([]);
  });
});

describe("requirements in descriptions", () => {
  test('composition appends "Requires: …" to each guarded field\'s description, in the supergraph and the API schema', () => {
    const sdl = users({
      email: `@authenticated @requiresScopes(scopes: [["role:staff"]]) @policy(policies: [["self_or_staff"]])`,
      extra: `phone: String @requiresScopes(scopes: [["role:staff"], ["role:teacher", "course:owner"]])`,
    });
    const result = composeSupergraph([{ name: "users", url: "http://users/graphql", sdl }]);
    if (!result.ok) throw new Error(result.errors.join("\n"));
    const user = result.apiSchema.getType("User") as GraphQLObjectType;
    expect(user.getFields().email!.description).toBe(
      "Lower-cased sign-in email.\n\nRequires: authenticated; scopes role:staff; policy self_or_staff",
    );
    expect(user.getFields().phone!.description).toBe("Requires: scopes role:staff or (role:teacher and course:owner)");
    expect(user.getFields().name!.description).toBeUndefined();
    const query = result.apiSchema.getQueryType()!;
    expect(query.getFields().me!.description).toBe("Requires: authenticated");
    // What schema:print writes, and what the gateway's introspection (Sandbox) serves.
    expect(printSchema(result.apiSchema)).toContain("Requires: authenticated; scopes role:staff; policy self_or_staff");
    expect(result.supergraphSdl).toContain("Requires: authenticated; scopes role:staff; policy self_or_staff");
    // Composing again gives the same text (nothing appended twice).
    const again = composeSupergraph([{ name: "users", url: "http://users/graphql", sdl }]);
    expect(again.ok && again.supergraphSdl).toBe(result.supergraphSdl);
  });

  test("requirementText() of a list size alone says nothing", () => {
    expect(requirementText({ listSize: { assumedSize: 5 } })).toBeUndefined();
    expect(requirementText({ authenticated: true })).toBe("Requires: authenticated");
  });
});

// The checks themselves, on a copy of this repository's tree with a planted policy baseline.
const repo = fileURLToPath(new URL("../../", import.meta.url));
describe("schema:check and schema:diff on the repository's tree", () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "pooya-policy-"));
    for (const path of [
      ...SUBGRAPH_NAMES.map((name) => `subgraphs/${name}/schema.graphql`),
      "gateway/api-baseline.graphql",
      "gateway/acknowledged-changes.json",
    ])
      await cp(join(repo, path), join(root, path), { recursive: true });
    await symlink(join(repo, "node_modules"), join(root, "node_modules"));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  test("a guard the released baseline has and the subgraphs lost fails the breaking-change check until acknowledged; a lost @listSize is only reported", async () => {
    expect((await checkBreakingChanges(root)).ok).toBe(true); // no policy baseline: nothing released to lose
    // Planted: Course.students loses its @listSize.
    const courses = join(root, "subgraphs/courses/schema.graphql");
    const sdl = await readFile(courses, "utf8");
    const planted = sdl.replace(
      'use studentsConnection.")\n    @listSize(assumedSize: 50)',
      'use studentsConnection.")',
    );
    expect(planted).not.toBe(sdl);
    await writeFile(courses, planted);
    await writeFile(
      join(root, "gateway/policy-baseline.json"),
      JSON.stringify({
        "User.email": { authenticated: true, policies: [["self_or_staff"]] },
        "Course.students": { listSize: { assumedSize: 50 } },
        "Gone.field": { authenticated: true },
      }),
    );
    expect(policyChangesOf(root).map((c) => [c.level, c.type, c.path])).toEqual([
      ["BREAKING", "AUTHENTICATED_REMOVED", "User.email"],
      ["BREAKING", "POLICY_REMOVED", "User.email"],
      ["DANGEROUS", "LIST_SIZE_REMOVED", "Course.students"],
    ]);
    const result = await checkBreakingChanges(root);
    expect(result.ok).toBe(false);
    expect(result.problems.join("\n")).toMatch(/BREAKING AUTHENTICATED_REMOVED at User\.email: .*security regression/);
    expect(result.problems.join("\n")).toMatch(/BREAKING POLICY_REMOVED at User\.email/);
    expect(result.problems.join("\n")).not.toMatch(/LIST_SIZE_REMOVED/);

    await writeFile(
      join(root, "gateway/acknowledged-changes.json"),
      JSON.stringify([
        { path: "User.email", type: "AUTHENTICATED_REMOVED", reason: "email is public in the directory now" },
        { path: "User.email", type: "POLICY_REMOVED", reason: "email is public in the directory now" },
      ]),
    );
    expect(await checkBreakingChanges(root)).toMatchObject({ ok: true, problems: [] });
  });
});
