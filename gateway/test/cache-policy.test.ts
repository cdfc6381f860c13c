// The policy of an operation's answer, worked out from the supergraph's @cacheControl hints with
// Apollo Server's rules (gateway/src/cache-policy.ts), on the real supergraph and on a small one.
import { describe, expect, test } from "vitest";
import { readFileSync } from "node:fs";
import { parse, type OperationDefinitionNode } from "graphql";
import { SUPERGRAPH_PATH, apiSchemaOfSupergraph } from "../src/supergraph.ts";
import { composeSupergraph } from "../src/composition.ts";
import { cacheControlHeader, cacheHintsOf, operationCachePolicy } from "../src/cache-policy.ts";

function policyOf(supergraphSdl: string, query: string, variables: Record<string, unknown> = {}) {
  const schema = apiSchemaOfSupergraph(supergraphSdl);
  const document = parse(query);
  const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === "OperationDefinition")!;
  const { maxAge, scope } = operationCachePolicy(schema, cacheHintsOf(supergraphSdl), document, operation, variables);
  return { maxAge, scope };
}

describe("the real supergraph's hints", () => {
  const supergraph = readFileSync(SUPERGRAPH_PATH, "utf8");
  const policy = (query: string, variables?: Record<string, unknown>) => policyOf(supergraph, query, variables);

  test("the catalogue: the connection's 60 s under the courses' 300 s; seats shorten it to 30 s", () => {
    expect(
      policy(`{ courses { totalCount pageInfo { hasNextPage } edges { cursor node { code teacher { name } } } } }`),
    ).toEqual({
      maxAge: 60,
      scope: "PUBLIC",
    });
    expect(policy(`{ courses { edges { node { seatsLeft } } } }`)).toEqual({ maxAge: 30, scope: "PUBLIC" });
    expect(policy(`{ course(id: "x") { code title } }`)).toEqual({ maxAge: 300, scope: "PUBLIC" });
  });

  test("me is PRIVATE; email is PRIVATE wherever it is read", () => {
    expect(policy(`{ me { name } }`)).toEqual({ maxAge: 60, scope: "PRIVATE" });
    expect(policy(`{ user(id: "x") { name email } }`)).toEqual({ maxAge: 300, scope: "PRIVATE" });
    // A wallet's balance: 30 s, and only for the viewer it was read for.
    expect(policy(`{ me { wallet { balance } } }`)).toEqual({ maxAge: 30, scope: "PRIVATE" });
    // A student's orders and attendance: 60 s, the viewer's only (evicted by their events before that).
    expect(
      policy(`{ me { foodOrdersConnection { totalCount edges { node { totalPrice meal { name } } } } } }`),
    ).toEqual({
      maxAge: 60,
      scope: "PRIVATE",
    });
    expect(policy(`{ me { attendanceConnection { edges { node { date status course { code } } } } } }`)).toEqual({
      maxAge: 60,
      scope: "PRIVATE",
    });
  });

  test("an object field without a hint (orders, users) or a maxAge-0 scalar makes it uncacheable", () => {
    expect(policy(`{ myOrders { id } }`).maxAge).toBe(0);
    expect(policy(`{ users { totalCount } }`).maxAge).toBe(0);
    expect(policy(`{ course(id: "x") { attendanceRate } }`).maxAge).toBe(0);
    expect(policy(`{ me { unreadNotificationCount } }`).maxAge).toBe(0);
  });

  test("fragments count, skipped fields do not; only __typename restricts nothing", () => {
    expect(policy(`{ me { ...F } } fragment F on User { name enrolledCourses { id } }`).maxAge).toBe(0);
    expect(policy(`{ ... on Query { meals { name stock } } }`)).toEqual({ maxAge: 30, scope: "PUBLIC" });
    const skippable = `query($s: Boolean!) { meals { name stock @skip(if: $s) } }`;
    expect(policy(skippable, { s: true }).maxAge).toBe(60);
    expect(policy(skippable, { s: false }).maxAge).toBe(30);
    expect(policy(`{ meals { name stock @include(if: false) } }`).maxAge).toBe(60);
    expect(policy(`{ __typename }`).maxAge).toBeUndefined();
    expect(policy(`{ __schema { queryType { name } } meals { name } }`).maxAge).toBe(0);
  });
});

describe("Apollo Server's rules on a small graph", () => {
  const sdl = `
    extend schema
      @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@composeDirective"])
      @link(url: "https://pooya.example/cache/v0.1", import: [{ name: "@cacheControl", as: "@fresh" }])
      @composeDirective(name: "@fresh")
    directive @fresh(maxAge: Int, scope: CacheControlScope, inheritMaxAge: Boolean) on FIELD_DEFINITION | OBJECT | INTERFACE | UNION
    enum CacheControlScope { PUBLIC PRIVATE }
    interface Item { id: ID! }
    type Book implements Item @fresh(maxAge: 100) { id: ID! title: String! shelf: Shelf }
    type Pen implements Item { id: ID! colour: String }
    type Shelf { name: String! }
    type Wrapper @fresh(inheritMaxAge: true) { book: Book }
    type Query {
      book: Book
      items: [Item!]! @fresh(maxAge: 50)
      wrapped: Wrapper @fresh(maxAge: 40)
      plain: Book @fresh(maxAge: 20, scope: PRIVATE)
      count: Int
    }
  `;
  const composed = composeSupergraph([{ name: "shop", url: "http://shop/graphql", sdl }]);
  if (!composed.ok) throw new Error(composed.errors.join("\n"));
  const policy = (query: string) => policyOf(composed.supergraphSdl, query);

  test("a renamed import is still found; a type's hint applies to the fields returning it", () => {
    expect(policy(`{ book { title } }`)).toEqual({ maxAge: 100, scope: "PUBLIC" });
  });

  test("an object field with no hint on a type with none is 0; a root scalar with no hint is 0", () => {
    expect(policy(`{ book { shelf { name } } }`).maxAge).toBe(0);
    expect(policy(`{ count }`).maxAge).toBe(0);
  });

  test("a field's own hint wins over its type's; scope PRIVATE sticks", () => {
    expect(policy(`{ plain { title } }`)).toEqual({ maxAge: 20, scope: "PRIVATE" });
  });

  test("inheritMaxAge: the wrapper takes its parent's 40 s, the book inside its own 100 s", () => {
    expect(policy(`{ wrapped { book { title } } }`)).toEqual({ maxAge: 40, scope: "PUBLIC" });
  });

  test("fields of an interface count on every type that may answer them; fragments on one type only there", () => {
    expect(policy(`{ items { id } }`)).toEqual({ maxAge: 50, scope: "PUBLIC" });
    expect(policy(`{ items { ... on Book { title } ... on Pen { colour } } }`)).toEqual({
      maxAge: 50,
      scope: "PUBLIC",
    });
  });

  test("the header: public without credentials, private with them or for PRIVATE, no-store for 0 or none", () => {
    expect(cacheControlHeader({ maxAge: 60, scope: "PUBLIC" }, { credentials: false })).toBe("public, max-age=60");
    expect(cacheControlHeader({ maxAge: 60, scope: "PUBLIC" }, { credentials: true })).toBe("private, max-age=60");
    expect(cacheControlHeader({ maxAge: 60, scope: "PRIVATE" }, { credentials: false })).toBe("private, max-age=60");
    expect(cacheControlHeader({ maxAge: 0, scope: "PUBLIC" }, { credentials: false })).toBe("no-store");
    expect(cacheControlHeader({ scope: "PUBLIC" }, { credentials: false })).toBe("no-store");
  });
});
