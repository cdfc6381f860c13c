// The compiled operations' path (gateway/src/compiled-operations.ts) answers exactly as Apollo
// Server's pipeline does: the same requests to the federation's gateway (COMPILED_OPERATIONS on,
// the default) and to a second gateway on the same subgraphs with it off must get the same
// status, content type, Retry-After and body — for answers it serves itself and for every
// request it hands over to Apollo Server (refusals of any kind, mutations, unknown documents).
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { readFileSync } from "node:fs";
import type { RunningGateway } from "@pooya/gateway";
import { startFederation, type Federation } from "../src/harness.ts";
import { OPS, createCourse, enroll, topUp } from "../src/fixtures.ts";

let fed: Federation;
let offUrl: string;
let teacher: Awaited<ReturnType<Federation["createUser"]>>;
let student: Awaited<ReturnType<Federation["createUser"]>>;
let course: { id: string };

beforeAll(async () => {
  fed = await startFederation();
  offUrl = (await fed.startGateway({ COMPILED_OPERATIONS: "off" })).graphqlUrl;
  teacher = await fed.createUser("TEACHER", "Dr Compiled");
  student = await fed.createUser("STUDENT", "Student Compiled");
  course = await createCourse(fed, teacher, { title: "Compiled course" });
  await enroll(fed, teacher.token, course.id, student.id);
  await topUp(fed, student.id, 700);
});
afterAll(() => fed?.close());

interface Answer {
  status: number;
  contentType: string | null;
  retryAfter: string | null;
  /** Every header but those that differ between any two answers (date, request id). */
  headers: Record<string, string>;
  body: string;
}

const PER_RESPONSE = new Set(["date", "x-request-id", "keep-alive"]);

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return {
    status: response.status,
    contentType: response.headers.get("content-type"),
    retryAfter: response.headers.get("retry-after"),
    headers: Object.fromEntries([...response.headers].filter(([name]) => !PER_RESPONSE.has(name))),
    body: await response.text(),
  };
}

/** Sends `body` to both gateways; expects the same answer and says which path the compiled one took. */
async function both(
  body: unknown,
  headers: Record<string, string> = {},
  gateways: { on: RunningGateway; offUrl: string } = { on: fed.gateway, offUrl },
) {
  const compiledCounts = () => gateways.on.compiledOperations()!;
  const before = compiledCounts();
  const compiled = await post(gateways.on.graphqlUrl, body, headers);
  const after = compiledCounts();
  const apollo = await post(gateways.offUrl, body, headers);
  expect(compiled).toEqual(apollo);
  const path = after.compiled > before.compiled ? "compiled" : after.apollo > before.apollo ? "apollo" : "none";
  return { answer: compiled, json: JSON.parse(compiled.body) as Record<string, any>, path };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const DASHBOARD = `query Dashboard($id: ID!) { course(id: $id) { code attendanceRate students { name attendance(courseId: $id) { date status } wallet { balance } foodOrders { totalPrice status } } } }`;

describe("answers it serves itself", () => {
  test("`me`, for each role, twice (compiled on first use, then from its cache)", async () => {
    for (const viewer of [student, teacher, fed.admin]) {
      for (let i = 0; i < 2; i++) {
        const { json, path } = await both({ query: "{ me { id name role } }" }, bearer(viewer.token));
        expect(path).toBe("compiled");
        expect(json.data.me.id).toBe("id" in viewer ? viewer.id : viewer.userId);
      }
    }
  });

  test("a dashboard across four subgraphs, with variables and an operation name", async () => {
    const { json, path, answer } = await both(
      { query: DASHBOARD, variables: { id: course.id }, operationName: "Dashboard" },
      bearer(fed.admin.token),
    );
    expect(path).toBe("compiled");
    expect(answer.status).toBe(200);
    expect(json.errors).toBeUndefined();
    expect(json.data.course.students).toEqual([
      expect.objectContaining({ name: "Student Compiled", wallet: { balance: 700 }, foodOrders: [] }),
    ]);
  });

  test("a course that does not exist: null, and the answer otherwise as Apollo's", async () => {
    const { json, path } = await both(
      { query: "query($id: ID!) { course(id: $id) { code title } }", variables: { id: "no-such-course" } },
      bearer(teacher.token),
    );
    expect(path).toBe("compiled");
    expect(json.data.course).toBeNull();
  });

  test("the media type the client asks for", async () => {
    const { answer, path } = await both(
      { query: "{ me { id } }" },
      { ...bearer(student.token), accept: "application/graphql-response+json" },
    );
    expect(path).toBe("compiled");
    expect(answer.contentType).toBe("application/graphql-response+json; charset=utf-8");
  });
});

describe("requests it hands to Apollo Server, answered as before", () => {
  test.each([
    ["a field the viewer may not see", { query: "{ users(first: 5) { edges { node { id } } } }" }, "student"],
    ["no token for an @authenticated field", { query: "{ me { id } }" }, "anonymous"],
    [
      "variables that do not coerce",
      { query: "query($id: ID!) { course(id: $id) { code } }", variables: { id: 5.5 } },
      "teacher",
    ],
    ["a missing variable", { query: "query($id: ID!) { course(id: $id) { code } }" }, "teacher"],
    [
      "a cost over the limit",
      { query: "query($n: Int!) { courses(first: $n) { edges { node { id } } } }", variables: { n: 100000 } },
      "teacher",
    ],
    [
      "an oversized text value",
      {
        query: "query($s: String) { courses(first: 1, search: $s) { edges { node { id } } } }",
        variables: { s: "x".repeat(100_000) },
      },
      "teacher",
    ],
    ["a document that does not validate", { query: "{ me { nope } }" }, "teacher"],
    ["a document that does not parse", { query: "{ me { id " }, "teacher"],
    ["an unknown operation name", { query: "query A { me { id } }", operationName: "B" }, "teacher"],
    ["a mutation", { query: OPS.topUp, variables: { u: "nobody", a: 1 } }, "staff"],
    ["a client extension", { query: "{ me { id } }", extensions: { foo: 1 } }, "teacher"],
    ["variables as a string", { query: "{ me { id } }", variables: "{}" }, "teacher"],
  ])("%s", async (_name, body, who) => {
    const token = { student: student.token, teacher: teacher.token, staff: fed.admin.token, anonymous: undefined }[who];
    const { path, answer } = await both(body, token ? bearer(token) : {});
    expect(path).toBe("apollo");
    expect(answer.body.length).toBeGreaterThan(0);
  });

  test("an Accept header it cannot answer: 406 from both", async () => {
    const { answer, path } = await both({ query: "{ me { id } }" }, { ...bearer(student.token), accept: "text/html" });
    expect(path).toBe("apollo");
    expect(answer.status).toBe(406);
  });

  test("an invalid token: refused as before", async () => {
    const { answer, path } = await both({ query: "{ me { id } }" }, { authorization: "Bearer not-a-token" });
    expect(path).toBe("apollo");
    expect(answer.status).toBe(401);
  });
});

describe("trusted documents (TRUSTED_DOCUMENTS=enforce)", () => {
  test("compiled at start and served by hash on the compiled path; an unlisted one refused as before", async () => {
    const on = await fed.startGateway({ TRUSTED_DOCUMENTS: "enforce" });
    const off = await fed.startGateway({ TRUSTED_DOCUMENTS: "enforce", COMPILED_OPERATIONS: "off" });
    const manifest = JSON.parse(
      readFileSync(new URL("../../gateway/trusted-documents.json", import.meta.url), "utf8"),
    ) as Record<string, string>;
    const [hash] = Object.entries(manifest).find(([, text]) => /^\s*query Viewer\b/.test(text))!;
    const gateways = { on, offUrl: off.graphqlUrl };
    const listed = await both(
      { extensions: { persistedQuery: { version: 1, sha256Hash: hash } } },
      bearer(student.token),
      gateways,
    );
    expect(listed.path).toBe("compiled");
    expect(listed.json.data.me.id).toBe(student.id);
    const unlisted = await both({ query: "{ me { id } }" }, bearer(student.token), gateways);
    expect(unlisted.answer.status).toBe(400);
  });
});

describe("when a subgraph is down", () => {
  test("its fields' errors, status and Retry-After are Apollo's", async () => {
    await fed.stopService("food");
    const { json, path, answer } = await both(
      { query: DASHBOARD, variables: { id: course.id }, operationName: "Dashboard" },
      bearer(fed.admin.token),
    );
    expect(path).toBe("compiled");
    expect(answer.status).toBe(200);
    expect(answer.retryAfter).not.toBeNull();
    expect(json.errors.map((e: { extensions: { code: string } }) => e.extensions.code)).toContain(
      "SERVICE_UNAVAILABLE",
    );
    expect(json).toHaveProperty("data"); // a partial answer (the nulls bubble as the schema says), not a request error
  });
});
