// Freshness hints reach clients: a GET answer's Cache-Control comes from the @cacheControl hints
// of the fields it holds (gateway/src/cache-policy.ts, docs/clients.md) — private for a signed-in
// viewer, public for an anonymous answer with nothing per-viewer in it, no-store for POST,
// mutations, errors and answers holding a field that must not be cached.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";
import { buildSubgraphSchema } from "@apollo/subgraph";
import { parse } from "graphql";
import { composeSupergraph } from "@pooya/gateway";
import { startFederation, type Federation } from "../src/harness.ts";
import { addMeal, createCourse, day } from "../src/fixtures.ts";

let fed: Federation;
let student: Awaited<ReturnType<Federation["createUser"]>>;
beforeAll(async () => {
  fed = await startFederation();
  const teacher = await fed.createUser("TEACHER", "Dr Cache");
  student = await fed.createUser("STUDENT", "Student Cache");
  await createCourse(fed, teacher, { title: "Cached course" });
  await addMeal(fed, { name: "Cached stew", servingDate: day(1) });
});
afterAll(() => fed?.close());

interface Answer {
  status: number;
  cacheControl: string | null;
  vary: string[];
  body: { data?: Record<string, any> | null; errors?: { extensions?: { code?: string } }[] };
}

async function answer(response: Response): Promise<Answer> {
  return {
    status: response.status,
    cacheControl: response.headers.get("cache-control"),
    vary: (response.headers.get("vary") ?? "")
      .split(",")
      .map((v) => v.trim().toLowerCase())
      .filter(Boolean),
    body: (await response.json()) as Answer["body"],
  };
}

/** A GraphQL GET, with the header Apollo's CSRF prevention asks of GETs. */
async function get(
  url: string,
  params: { query?: string; variables?: unknown; extensions?: unknown; operationName?: string },
  headers: Record<string, string> = {},
): Promise<Answer> {
  const target = new URL(url);
  for (const [key, value] of Object.entries(params))
    if (value !== undefined) target.searchParams.set(key, typeof value === "string" ? value : JSON.stringify(value));
  return answer(await fetch(target, { headers: { "apollo-require-preflight": "true", ...headers } }));
}

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  return answer(
    await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
    }),
  );
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const CATALOGUE = `{ courses(first: 5) { totalCount edges { node { id code title teacher { name } } } } }`;

describe("a signed-in viewer's cacheable GET answer is private", () => {
  test("the catalogue: private, max-age=60 (the connection's 60 s, its courses' 300 s), varying by Authorization", async () => {
    const r = await get(fed.gateway.graphqlUrl, { query: CATALOGUE }, bearer(student.token));
    expect(r.body.errors).toBeUndefined();
    expect(r.body.data?.courses.totalCount).toBeGreaterThan(0);
    expect(r.cacheControl).toBe("private, max-age=60");
    expect(r.vary).toEqual(expect.arrayContaining(["accept", "authorization", "cookie"]));
  });

  test("asking for seats left shortens it to their 30 s", async () => {
    const r = await get(
      fed.gateway.graphqlUrl,
      { query: `{ courses(first: 5) { edges { node { code seatsLeft } } } }` },
      bearer(student.token),
    );
    expect(r.body.errors).toBeUndefined();
    expect(r.cacheControl).toBe("private, max-age=30");
  });

  test("a wallet: private, max-age=30 (User.wallet is PRIVATE for 30 s)", async () => {
    const r = await get(fed.gateway.graphqlUrl, { query: `{ me { name wallet { balance } } }` }, bearer(student.token));
    expect(r.body.errors).toBeUndefined();
    expect(r.cacheControl).toBe("private, max-age=30");
  });

  test("the web client's own operations sent by hash over GET (trusted documents): the catalogue and the week's meals", async () => {
    const manifest = JSON.parse(
      readFileSync(new URL("../../gateway/trusted-documents.json", import.meta.url), "utf8"),
    ) as Record<string, string>;
    const hashOf = (name: string) => Object.entries(manifest).find(([, doc]) => doc.startsWith(`query ${name}(`))![0];
    const persisted = (name: string) => ({ persistedQuery: { version: 1, sha256Hash: hashOf(name) } });

    const catalogue = await get(
      fed.gateway.graphqlUrl,
      { extensions: persisted("Catalogue"), variables: { first: 10 }, operationName: "Catalogue" },
      bearer(student.token),
    );
    expect(catalogue.body.errors).toBeUndefined();
    expect(catalogue.body.data?.courses.edges.length).toBeGreaterThan(0);
    expect(catalogue.cacheControl).toBe("private, max-age=30"); // seatsLeft

    const meals = await get(
      fed.gateway.graphqlUrl,
      { extensions: persisted("WeekMeals"), variables: { from: day(0), to: day(6) }, operationName: "WeekMeals" },
      bearer(student.token),
    );
    expect(meals.body.errors).toBeUndefined();
    expect(meals.body.data?.meals.length).toBeGreaterThan(0);
    expect(meals.cacheControl).toBe("private, max-age=30"); // stock; the list itself 60 s
  });

  test("the viewer's own name: private (me is PRIVATE), 60 s", async () => {
    const r = await get(fed.gateway.graphqlUrl, { query: `{ me { id name role } }` }, bearer(student.token));
    expect(r.body.data?.me.name).toBe("Student Cache");
    expect(r.cacheControl).toBe("private, max-age=60");
  });

  test("@skip/@include count: a skipped uncacheable field does not make the answer uncacheable", async () => {
    const query = `query($skip: Boolean!) { me { name unreadNotificationCount @skip(if: $skip) } }`;
    const skipped = await get(fed.gateway.graphqlUrl, { query, variables: { skip: true } }, bearer(student.token));
    expect(skipped.body.errors).toBeUndefined();
    expect(skipped.cacheControl).toBe("private, max-age=60");
    const asked = await get(fed.gateway.graphqlUrl, { query, variables: { skip: false } }, bearer(student.token));
    expect(asked.body.errors).toBeUndefined();
    expect(asked.cacheControl).toBe("no-store");
  });
});

describe("no-store", () => {
  test("the same catalogue query over POST", async () => {
    const r = await post(fed.gateway.graphqlUrl, { query: CATALOGUE }, bearer(student.token));
    expect(r.body.errors).toBeUndefined();
    expect(r.cacheControl).toBe("no-store");
  });

  test("a mutation (POST; over GET it is refused)", async () => {
    const r = await post(
      fed.gateway.graphqlUrl,
      { query: `mutation { logout(refreshToken: "not-a-token") }` },
      bearer(student.token),
    );
    expect(r.cacheControl).toBe("no-store");
    const overGet = await get(
      fed.gateway.graphqlUrl,
      { query: `mutation { logout(refreshToken: "x") }` },
      bearer(student.token),
    );
    expect(overGet.status).toBe(405);
    expect(overGet.cacheControl ?? "no-store").toBe("no-store");
  });

  test("an answer with errors: a student asking for the staff-only user list, and an anonymous catalogue (sign-in needed)", async () => {
    const forbidden = await get(fed.gateway.graphqlUrl, { query: `{ users { totalCount } }` }, bearer(student.token));
    // Refused by the subgraph (FORBIDDEN) or, where the schema declares the guard, by the gateway.
    expect(["FORBIDDEN", "UNAUTHORIZED_FIELD_OR_TYPE"]).toContain(forbidden.body.errors?.[0]?.extensions?.code);
    expect(forbidden.cacheControl).toBe("no-store");
    // The catalogue is for signed-in users today: anonymously it is an error, never cached.
    const anonymous = await get(fed.gateway.graphqlUrl, { query: CATALOGUE });
    expect(["UNAUTHENTICATED", "UNAUTHORIZED_FIELD_OR_TYPE"]).toContain(anonymous.body.errors?.[0]?.extensions?.code);
    expect(anonymous.cacheControl).toBe("no-store");
  });

  test("a field that must not be cached (unread count, one's orders as a root field, enrolled courses) makes the whole answer no-store", async () => {
    for (const query of [
      `{ me { name unreadNotificationCount } }`,
      `{ myOrdersConnection { totalCount } }`,
      `{ courses(first: 1) { edges { node { code } } } me { enrolledCourses { code } } }`,
    ]) {
      const r = await get(fed.gateway.graphqlUrl, { query }, bearer(student.token));
      expect(r.body.errors, query).toBeUndefined();
      expect(r.cacheControl, query).toBe("no-store");
    }
  });

  test("a query that names no hinted field (only __typename): nothing says it may be cached", async () => {
    const r = await get(fed.gateway.graphqlUrl, { query: `{ __typename }` });
    expect(r.body.data).toEqual({ __typename: "Query" });
    expect(r.cacheControl).toBe("no-store");
  });
});

// Every field of this graph needs a signed-in viewer, so a public answer needs a field anyone may
// read: a gateway of its own over a one-subgraph supergraph whose catalogue is open.
describe("an anonymous answer with nothing per-viewer in it is public", () => {
  const OPEN_SDL = `
    extend schema
      @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@composeDirective"])
      @link(url: "https://pooya.example/cache/v0.1", import: ["@cacheControl"])
      @composeDirective(name: "@cacheControl")
    directive @cacheControl(maxAge: Int, scope: CacheControlScope, inheritMaxAge: Boolean) on FIELD_DEFINITION | OBJECT | INTERFACE | UNION
    enum CacheControlScope { PUBLIC PRIVATE }
    type Programme @cacheControl(maxAge: 300) { code: String! title: String! note: String @cacheControl(scope: PRIVATE) }
    type Query { programmes: [Programme!]! @cacheControl(maxAge: 120) }
  `;
  let stopOpen: (() => Promise<void>) | undefined;
  let dir: string;
  let url: string;
  beforeAll(async () => {
    const open = new ApolloServer({
      schema: buildSubgraphSchema([
        {
          typeDefs: parse(OPEN_SDL),
          resolvers: { Query: { programmes: () => [{ code: "CS", title: "Computer science", note: "yours" }] } },
        },
      ]),
    });
    const { url: openUrl } = await startStandaloneServer(open, { listen: { port: 0, host: "127.0.0.1" } });
    stopOpen = () => open.stop();
    const composed = composeSupergraph([{ name: "open", url: openUrl, sdl: OPEN_SDL }]);
    if (!composed.ok) throw new Error(composed.errors.join("\n"));
    dir = mkdtempSync(join(tmpdir(), "pooya-cache-"));
    writeFileSync(join(dir, "supergraph.graphql"), composed.supergraphSdl);
    const gateway = await fed.startGateway({ SUPERGRAPH_PATH: join(dir, "supergraph.graphql") });
    url = gateway.graphqlUrl;
  });
  afterAll(async () => {
    await stopOpen?.();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("no credentials: public, max-age=120 (the list's 120 s under its items' 300 s), varying by Authorization and Cookie", async () => {
    const r = await get(url, { query: `{ programmes { code title } }` });
    expect(r.body).toEqual({ data: { programmes: [{ code: "CS", title: "Computer science" }] } });
    expect(r.cacheControl).toBe("public, max-age=120");
    expect(r.vary).toEqual(expect.arrayContaining(["accept", "authorization", "cookie"]));
  });

  test("the same answer to a signed-in viewer, or to a request with a cookie, is private", async () => {
    expect((await get(url, { query: `{ programmes { code } }` }, bearer(student.token))).cacheControl).toBe(
      "private, max-age=120",
    );
    expect((await get(url, { query: `{ programmes { code } }` }, { cookie: "session=1" })).cacheControl).toBe(
      "private, max-age=120",
    );
  });

  test("a PRIVATE field makes even an anonymous answer private", async () => {
    expect((await get(url, { query: `{ programmes { code note } }` })).cacheControl).toBe("private, max-age=120");
  });

  test("POST of the same query: no-store", async () => {
    expect((await post(url, { query: `{ programmes { code } }` })).cacheControl).toBe("no-store");
  });
});
