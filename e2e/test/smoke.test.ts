import { afterAll, beforeAll, expect, test } from "vitest";
import { startFederation, type Federation } from "../src/harness.ts";

let fed: Federation;
beforeAll(async () => {
  fed = await startFederation();
});
afterAll(() => fed?.close());

test("me through the gateway", async () => {
  const r = await fed.execute({ query: "{ me { id email role } }", token: fed.admin.token });
  expect(r.errors).toBeUndefined();
  expect(r.data?.me.role).toBe("STAFF");
});
