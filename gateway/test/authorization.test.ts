// The gateway's filter, on the real supergraph: which fields each role loses before planning, and
// where their nulls go in the answer.
import { describe, expect, test } from "vitest";
import { parse, print } from "graphql";
import { readSupergraph, SUPERGRAPH_PATH, apiSchemaOfSupergraph } from "../src/supergraph.ts";
import { authorizationRules } from "../src/authorization-rules.ts";
import { filterOperation, withRemovedNulls } from "../src/authorization.ts";

const { sdl } = readSupergraph(SUPERGRAPH_PATH);
const schema = apiSchemaOfSupergraph(sdl);
const rules = authorizationRules(sdl);
const filter = (query: string, role: "STUDENT" | "TEACHER" | "STAFF" | null) =>
  filterOperation(schema, rules, parse(query), undefined, role);

describe("authorization rules from the supergraph", () => {
  test("fields and types carry their requirements", () => {
    expect(rules.fields.get("Query.users")).toEqual({ authenticated: true, scopes: [["role:staff"]] });
    expect(rules.fields.get("Course.students")).toEqual({
      authenticated: true,
      scopes: [["role:teacher"], ["role:staff"]],
      policies: [["teacher_of_course_or_staff"]],
    });
    expect(rules.types.get("Course")).toEqual({ authenticated: true });
    expect(rules.fields.has("Mutation.login")).toBe(false);
  });
});

describe("filtering an operation", () => {
  test("nothing removed for an allowed caller: the same document", () => {
    const r = filter(`{ me { id } users { totalCount } }`, "STAFF");
    expect(r).toEqual({ removed: [], empty: false });
  });

  test("anonymous: every guarded root goes, nothing is left to plan", () => {
    const r = filter(`{ me { id } meals { id } }`, null);
    expect(r.empty).toBe(true);
    expect(r.removed.map((x) => [x.path, x.rule])).toEqual([
      [["me"], "authenticated"],
      [["meals"], "authenticated"],
    ]);
    expect(withRemovedNulls({}, r.removed)).toBeNull(); // meals is non-null
  });

  test("a student loses Course.students and attendanceRate, inside a fragment too; the rest stays", () => {
    const r = filter(
      `query($id: ID!) { course(id: $id) { id ...F } me { id } } fragment F on Course { title students { id } attendanceRate }`,
      "STUDENT",
    );
    expect(r.removed.map((x) => x.path.join("."))).toEqual(["course.students", "course.attendanceRate"]);
    expect(print(r.document!)).toContain("fragment F on Course {\n  title\n}");
    expect(r.queryHash).toMatch(/^[0-9a-f]{64}$/);
    // students is [User!]!: its null bubbles to the nullable course.
    expect(withRemovedNulls({ course: { id: "c", title: "T" }, me: { id: "u" } }, r.removed)).toEqual({
      course: null,
      me: { id: "u" },
    });
  });

  test("a field left with nothing under it goes too, null without an error of its own", () => {
    const r = filter(`{ courses { edges { node { students { id } } } } me { id } }`, "STUDENT");
    expect(r.removed.filter((x) => !x.silent).map((x) => x.path.join("."))).toEqual(["courses.edges.node.students"]);
    expect(print(r.document!)).not.toContain("courses");
  });

  test("row-level policies pass the gateway for a signed-in caller", () => {
    expect(filter(`query($id: ID!) { user(id: $id) { wallet { balance } } }`, "STUDENT").removed).toEqual([]);
    expect(filter(`query($id: ID!) { user(id: $id) { id } }`, null).removed.map((x) => x.rule)).toEqual([
      "authenticated",
    ]);
  });

  test("nulls go into every item of a list", () => {
    const r = filter(`{ me { teachingCourses { id attendanceRate } } }`, "STUDENT");
    const data = { me: { teachingCourses: [{ id: "a" }, { id: "b" }] } };
    expect(withRemovedNulls(data, r.removed)).toEqual({
      me: {
        teachingCourses: [
          { id: "a", attendanceRate: null },
          { id: "b", attendanceRate: null },
        ],
      },
    });
  });
});
