// Each schema check passes on the clean tree and fails, naming the place, on a planted defect.
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { cp, mkdtemp, readFile, rm, symlink, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  checkBreakingChanges,
  checkComposition,
  checkOperations,
  checkPrismaMigrations,
  checkPublicSchemaFile,
  checkSupergraphDrift,
  runAllChecks,
} from "../src/schema-checks.ts";
import { SUBGRAPH_NAMES } from "../src/registry.ts";

const repo = fileURLToPath(new URL("../../", import.meta.url));
// The registry's subgraphs and every file the checks read.
const SUBGRAPH_FILES = SUBGRAPH_NAMES.flatMap((name) => [
  `subgraphs/${name}/schema.graphql`,
  `subgraphs/${name}/prisma`,
]);
let root: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "pooya-schema-"));
  for (const path of [
    ...SUBGRAPH_FILES,
    "gateway/supergraph.graphql",
    "gateway/api-baseline.graphql",
    "gateway/acknowledged-changes.json",
    "prisma.config.ts",
    "operations",
    "schema.graphql",
    "web/src/operations",
  ]) {
    await cp(join(repo, path), join(root, path), { recursive: true });
  }
  await symlink(join(repo, "node_modules"), join(root, "node_modules"));
});
afterEach(() => rm(root, { recursive: true, force: true }));

async function edit(path: string, change: (text: string) => string) {
  const file = join(root, path);
  const before = await readFile(file, "utf8");
  const after = change(before);
  expect(after).not.toBe(before); // the defect really was planted
  await writeFile(file, after);
}

test("the clean tree passes all six checks", async () => {
  const results = await runAllChecks(root);
  expect(results.map((r) => [r.name, r.ok, r.problems])).toEqual([
    ["composition", true, []],
    ["supergraph drift", true, []],
    ["prisma schema vs migrations", true, []],
    ["breaking changes", true, []],
    ["client operations", true, []],
    ["public schema file", true, []],
  ]);
}, 60_000);

test("without a reachable Postgres only the Prisma check fails, saying why; the others still run", async () => {
  const results = await runAllChecks(root, { adminUrl: "postgres://postgres@127.0.0.1:1/postgres" });
  expect(results.map((r) => [r.name, r.ok])).toEqual([
    ["composition", true],
    ["supergraph drift", true],
    ["prisma schema vs migrations", false],
    ["breaking changes", true],
    ["client operations", true],
    ["public schema file", true],
  ]);
  expect(results[2]!.problems.join("\n")).toMatch(/could not run: .*ECONNREFUSED/);
});

describe("planted defects", () => {
  test("a subgraph SDL conflict fails composition, naming the type and field", async () => {
    await edit("subgraphs/courses/schema.graphql", (s) => s.replace("type PageInfo @shareable {", "type PageInfo {"));
    const result = checkComposition(root);
    expect(result.ok).toBe(false);
    expect(result.problems.join("\n")).toMatch(/PageInfo\.hasNextPage/);
    expect(result.problems.join("\n")).toMatch(/courses/);
  });

  test("a subgraph change without `npm run compose` fails the drift check", async () => {
    await edit("subgraphs/food/schema.graphql", (s) =>
      s.replace(/(\ntype Meal [^{]*\{[^}]*\n)\}/, "$1  calories: Int\n}"),
    );
    const result = await checkSupergraphDrift(root);
    expect(result.ok).toBe(false);
    expect(result.problems.join("\n")).toMatch(/Meal\.calories/);
  });

  test("a removed field fails the breaking-change check, naming the type and field, until it is acknowledged", async () => {
    await edit("subgraphs/courses/schema.graphql", (s) =>
      s.replace(/\n {2}"Number of seats; enrolling beyond it fails with CONFLICT."\n {2}capacity: Int!/, ""),
    );
    const result = await checkBreakingChanges(root);
    expect(result.ok).toBe(false);
    expect(result.problems.join("\n")).toMatch(/FIELD_REMOVED at Course\.capacity/);

    await writeFile(
      join(root, "gateway/acknowledged-changes.json"),
      JSON.stringify([{ path: "Course.capacity", type: "FIELD_REMOVED", reason: "" }]),
    );
    expect((await checkBreakingChanges(root)).ok).toBe(false); // no reason, no pass
    await writeFile(
      join(root, "gateway/acknowledged-changes.json"),
      JSON.stringify([
        { path: "Course.capacity", type: "FIELD_REMOVED", reason: "replaced by seats, agreed with the web team" },
      ]),
    );
    expect((await checkBreakingChanges(root)).ok).toBe(true);
  });

  test("a changed argument, nullability or enum value is breaking too", async () => {
    await edit("subgraphs/food/schema.graphql", (s) =>
      s.replace("  DINNER\n", "").replace("cancelOrder(orderId: ID!)", "cancelOrder(orderId: ID!, reason: String!)"),
    );
    await edit("subgraphs/users/schema.graphql", (s) =>
      s.replace("  name: String!\n  role: Role!", "  name: String\n  role: Role!"),
    );
    const problems = (await checkBreakingChanges(root)).problems.join("\n");
    expect(problems).toMatch(/MealType\.DINNER/);
    expect(problems).toMatch(/Mutation\.cancelOrder\.reason/);
    expect(problems).toMatch(/User\.name/);
  });

  test("a schema.prisma edit without a migration fails, naming the service and the SQL it lacks", async () => {
    await edit("subgraphs/food/prisma/schema.prisma", (s) =>
      s.replace("  price       Int\n", "  price       Int\n  calories    Int?\n"),
    );
    const result = await checkPrismaMigrations(root);
    expect(result.ok).toBe(false);
    expect(result.problems.join("\n")).toMatch(/\[food\]/);
    expect(result.problems.join("\n")).toMatch(/calories/);
  }, 60_000);

  test("an operation that does not validate fails, naming the file and field", async () => {
    await mkdir(join(root, "operations/sandbox"), { recursive: true });
    await writeFile(
      join(root, "operations/sandbox/broken.graphql"),
      `query Broken { courses { edges { node { code lecturer { name } } } } }\n`,
    );
    const result = checkOperations(root);
    expect(result.ok).toBe(false);
    expect(result.problems.join("\n")).toMatch(
      /operations\/sandbox\/broken\.graphql:1 \(operation Broken\): Cannot query field "lecturer" on type "Course"/,
    );
  });

  test("a schema change that breaks one of the web client's operations fails, naming the operation", async () => {
    await edit("subgraphs/food/schema.graphql", (s) =>
      s.replace("  description: String\n  mealType: MealType!", "  mealType: MealType!"),
    );
    const result = checkOperations(root);
    expect(result.ok).toBe(false);
    expect(result.problems.join("\n")).toMatch(
      /web\/src\/operations\/student\.graphql:\d+ \(operation WeekMeals\): Cannot query field "description" on type "Meal"/,
    );
  });

  test("an API change without `npm run schema:print` fails the public schema check", async () => {
    await edit("subgraphs/food/schema.graphql", (s) => s.replace("type Wallet {", "type Wallet {\n  currency: String"));
    const result = checkPublicSchemaFile(root);
    expect(result.ok).toBe(false);
    expect(result.problems.join("\n")).toMatch(/schema\.graphql is not the API schema .*npm run schema:print/);
  });
});

test("docs/sandbox-guide.md is generated from the checked operations (npm run docs:sandbox)", async () => {
  const { renderSandboxGuide } = await import("../src/sandbox-guide.ts");
  expect(await readFile(join(repo, "docs/sandbox-guide.md"), "utf8")).toBe(renderSandboxGuide());
});
