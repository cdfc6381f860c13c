// Demand control from the schema: the gateway estimates a query's cost from the subgraphs'
// @cost and @listSize (a connection counts its `first`), refuses one over MAX_QUERY_COST before
// any subgraph is called, and measures the actual cost of each answer (graphql_operation_cost).
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { errorCodes, startFederation, type Federation } from "../src/harness.ts";
import { metricSum } from "../src/metrics.ts";
import { largeCourse, type LargeCourse } from "./large-course.ts";

let fed: Federation;
let large: LargeCourse;
beforeAll(async () => {
  fed = await startFederation();
  // 1 000 students, 3 marks each; the first 10 have a wallet and 3 orders.
  large = await largeCourse(fed, { size: 1000, days: 3, withOrders: 10 });
});
afterAll(() => fed?.close());

/** The dashboard of `npm run bench` (Q3), on the unbounded (deprecated) lists. */
const DASHBOARD = `query($id: ID!) { course(id: $id) { code attendanceRate students { name attendance(courseId: $id) { date status } wallet { balance } foodOrders { totalPrice status } } } }`;
/** The same dashboard a page of 100 students at a time, on the connections. */
const DASHBOARD_PAGE = `query($id: ID!, $after: String) { course(id: $id) { code attendanceRate studentsConnection(first: 100, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { name attendanceConnection(courseId: $id, first: 10) { edges { node { date status } } } wallet { balance } foodOrdersConnection(first: 10) { edges { node { totalPrice status } } } } } } } }`;

/** Runs a query and returns its answer with the estimated and actual cost the gateway recorded for it. */
async function costed(query: string, variables: Record<string, unknown>) {
  const url = fed.gateway.metricsUrl;
  const sums = async () => ({
    estimated: await metricSum(url, "graphql_operation_cost_sum", { kind: "estimated" }),
    actual: await metricSum(url, "graphql_operation_cost_sum", { kind: "actual" }),
    count: await metricSum(url, "graphql_operation_cost_count", { kind: "actual" }),
  });
  const before = await sums();
  const response = await fed.execute({ query, variables, token: fed.admin.token });
  const after = await sums();
  expect(after.count - before.count).toBe(1);
  return { response, estimated: after.estimated - before.estimated, actual: after.actual - before.actual };
}

describe("the estimate reads @listSize and @cost from the supergraph", () => {
  test("a connection counts its `first` (literal, variable or the default 20), its edges and nodes 1 each", async () => {
    const literal = await costed(
      `query($id: ID!) { course(id: $id) { studentsConnection(first: 7) { edges { node { id } } } } }`,
      {
        id: large.course.id,
      },
    );
    expect(literal.response.errors).toBeUndefined();
    // course 1 + connection 1 + 7 × (edge 1 + node 1)
    expect(literal.estimated).toBe(16);
    expect(literal.actual).toBe(16);
    const variable = await costed(
      `query($id: ID!, $n: Int) { course(id: $id) { studentsConnection(first: $n) { edges { node { id } } } } }`,
      { id: large.course.id, n: 3 },
    );
    expect(variable.estimated).toBe(8);
    const byDefault = await costed(
      `query($id: ID!) { course(id: $id) { studentsConnection { edges { node { id } } } } }`,
      {
        id: large.course.id,
      },
    );
    expect(byDefault.estimated).toBe(42);
    expect(byDefault.response.data?.course.studentsConnection.edges).toHaveLength(20);
  });

  test("a list without a slicing argument counts its assumedSize; @cost weighs a field (attendanceRate 5)", async () => {
    const { response, estimated, actual } = await costed(DASHBOARD, { id: large.course.id });
    expect(response.errors).toBeUndefined();
    expect(response.data?.course.students).toHaveLength(1000);
    // course 1 + attendanceRate 5 + students 50 × (1 + attendance 50 + wallet 1 + foodOrders 20)
    expect(estimated).toBe(3606);
    // The answer: 1 000 students with 3 marks each, 10 wallets and 30 orders.
    expect(actual).toBe(1 + 5 + 1000 * (1 + 3) + 10 * (1 + 3));
    console.log(`dashboard of 1 000 students on the deprecated lists: estimated ${estimated}, actual ${actual}`);
  });

  test("the dashboard on connections: every page is estimated from `first`, the whole course measured page by page", async () => {
    let after: string | null = null;
    let pages = 0;
    let estimated = 0;
    let actual = 0;
    let students = 0;
    do {
      const page = await costed(DASHBOARD_PAGE, { id: large.course.id, after });
      expect(page.response.errors).toBeUndefined();
      const connection = page.response.data?.course.studentsConnection;
      // course 1 + attendanceRate 5 + connection 1 + pageInfo 1
      //   + 100 × (edge 1 + node 1 + attendance 1 + 10 × 2 + wallet 1 + orders 1 + 10 × 2)
      expect(page.estimated).toBe(4508);
      pages += 1;
      estimated += page.estimated;
      actual += page.actual;
      students += connection.edges.length;
      after = connection.pageInfo.hasNextPage ? connection.pageInfo.endCursor : null;
      if (pages === 1) expect(page.actual).toBe(8 + 100 * (2 + 1 + 3 * 2 + 1) + 10 * (1 + 3 * 2));
    } while (after);
    expect({ pages, students }).toEqual({ pages: 10, students: 1000 });
    console.log(
      `dashboard of 1 000 students on connections (10 pages of 100): estimated ${estimated} (4508 a page), actual ${actual}`,
    );
  });
});

describe("refusal", () => {
  const NESTED = `query($id: ID!, $n: Int!) { course(id: $id) { studentsConnection(first: $n) { edges { node { attendanceConnection(courseId: $id, first: 100) { edges { node { id course { id } } } } } } } } }`;

  test("a query whose estimate is over MAX_QUERY_COST is refused with COST_ESTIMATED_TOO_EXPENSIVE before any subgraph is called", async () => {
    const before = fed.gateway.subgraphRequests.snapshot();
    const costBefore = await metricSum(fed.gateway.metricsUrl, "graphql_operation_cost_count", { kind: "estimated" });
    const r = await fed.execute({ query: NESTED, variables: { id: large.course.id, n: 100 }, token: fed.admin.token });
    expect(r.status).toBe(400);
    expect(errorCodes(r)).toEqual(["COST_ESTIMATED_TOO_EXPENSIVE"]);
    // course 1 + connection 1 + 100 × (edge 1 + node 1 + connection 1 + 100 × (edge 1 + record 1 + course 1))
    expect(r.errors?.[0]?.extensions).toMatchObject({ cost: 30302, maxCost: 20000 });
    expect(fed.gateway.subgraphRequests.snapshot()).toEqual(before);
    // Refused operations are not observed as executed.
    expect(await metricSum(fed.gateway.metricsUrl, "graphql_operation_cost_count", { kind: "estimated" })).toBe(
      costBefore,
    );
  });

  test("the same query with a smaller page passes, and its answer is measured", async () => {
    const { response, estimated, actual } = await costed(NESTED, { id: large.course.id, n: 50 });
    expect(response.errors).toBeUndefined();
    expect(estimated).toBe(2 + 50 * 303);
    expect(actual).toBe(2 + 50 * (3 + 3 * 3));
  });

  test("first above 100 on a connection is BAD_USER_INPUT from the subgraph (the estimate itself is under the limit)", async () => {
    const r = await fed.execute({
      query: `query($id: ID!) { course(id: $id) { studentsConnection(first: 101) { totalCount } } }`,
      variables: { id: large.course.id },
      token: fed.admin.token,
    });
    expect(errorCodes(r)).toEqual(["BAD_USER_INPUT"]);
    expect(r.errors?.[0]?.extensions?.field).toBe("first");
  });
});
