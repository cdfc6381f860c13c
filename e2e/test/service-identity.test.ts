// Service identity over HTTP, on the real services: each service signs its internal calls with a
// key of its own and publishes the public half; a callee verifies the signature against the
// caller's published keys and answers only the callers its descriptor declares for the route.
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import { SignJWT } from "jose";
import {
  SERVICE_KEYS_PATH,
  SERVICE_TOKEN_HEADER,
  createServiceIdentity,
  generateSigningKey,
  type SigningKey,
} from "@pooya/identity";
import { GATEWAY, SUBGRAPHS } from "@pooya/system";
import { startFederation, type Federation, type ServiceName } from "../src/harness.ts";
import { createCourse } from "../src/fixtures.ts";

let fed: Federation;
let student: Awaited<ReturnType<Federation["createUser"]>>;
beforeAll(async () => {
  fed = await startFederation();
  student = await fed.createUser("STUDENT");
});
afterAll(() => fed?.close());

const keyOf = (name: ServiceName): SigningKey => fed.serviceKeys[name]!;

/** A service token as a caller signs it, with any claim or header changed. */
function serviceToken(
  key: SigningKey,
  claims: { iss: string; aud: string; kid?: string; iat?: number; exp?: number | string; typ?: string },
) {
  return new SignJWT({})
    .setProtectedHeader({ alg: "EdDSA", kid: claims.kid ?? key.kid, typ: claims.typ ?? "service+jwt" })
    .setIssuer(claims.iss)
    .setAudience(claims.aud)
    .setIssuedAt(claims.iat)
    .setExpirationTime(claims.exp ?? "60s")
    .sign(key.privateKey);
}

/** A request to an internal route of `service` with `token` (a valid body for each route). */
async function callInternal(service: ServiceName, route: { method: string; path: string }, token?: string) {
  const body =
    route.path === "/internal/users/lookup"
      ? { ids: [student.id] }
      : route.path === "/internal/enrollments/check"
        ? { courseId: student.id, studentIds: [] }
        : undefined;
  const response = await fetch(`${fed.services[service].url}${route.path}${route.method === "GET" ? "?after=0" : ""}`, {
    method: route.method,
    headers: {
      ...(token ? { [SERVICE_TOKEN_HEADER]: token } : {}),
      ...(body ? { "content-type": "application/json" } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    json: text ? (JSON.parse(text) as Record<string, any>) : {},
  };
}

const FEED = { method: "GET", path: "/internal/events" };
const LOOKUP = { method: "POST", path: "/internal/users/lookup" };
const CHECK = { method: "POST", path: "/internal/enrollments/check" };

describe("each calling service publishes its own public keys", () => {
  test("at /.well-known/service-jwks.json: the key it signs with, public half only; users calls nobody and publishes none", async () => {
    for (const name of ["courses", "attendance", "food", "notifications"] as const) {
      const response = await fetch(`${fed.services[name].url}${SERVICE_KEYS_PATH}`);
      expect(response.status, name).toBe(200);
      const jwks = (await response.json()) as { keys: Record<string, unknown>[] };
      expect(
        jwks.keys.map((k) => k.kid),
        name,
      ).toEqual([keyOf(name).kid]);
      expect(jwks.keys[0], name).toMatchObject({ kty: "OKP", crv: "Ed25519", alg: "EdDSA", use: "sig" });
      expect(jwks.keys[0], name).not.toHaveProperty("d");
    }
    expect((await fetch(`${fed.services.users.url}${SERVICE_KEYS_PATH}`)).status).toBe(404);
    // Every calling service's key is its own.
    expect(
      new Set((["courses", "attendance", "food", "notifications"] as const).map((name) => keyOf(name).kid)).size,
    ).toBe(4);
  });
});

describe("the callers the registry declares, and no one else", () => {
  test("every internal route answers each declared caller's genuine token, and refuses every other service's with 403", async () => {
    const everyone = [...SUBGRAPHS.map((s) => s.name), GATEWAY.name];
    for (const callee of SUBGRAPHS) {
      for (const route of callee.internalRoutes ?? []) {
        for (const caller of everyone) {
          // A service that calls nobody has no keys: sign as it with a fresh one (refused before any key matters).
          const key = fed.serviceKeys[caller as ServiceName] ?? (await generateSigningKey());
          const token = await createServiceIdentity(caller, [key]).tokenFor(callee.name);
          const { status, json } = await callInternal(callee.name, route, token);
          const where = `${caller} → ${callee.name} ${route.method} ${route.path}`;
          if (route.callers.includes(caller)) expect(status, where).toBe(200);
          else {
            expect(status, where).toBe(403);
            expect(json, where).toMatchObject({ errors: [{ extensions: { code: "FORBIDDEN" } }] });
          }
        }
      }
    }
  });

  test("the declared caller gets the answer: courses looks a user up, attendance reads courses' feed and checks an enrollment", async () => {
    const lookup = await callInternal(
      "users",
      LOOKUP,
      await createServiceIdentity("courses", [keyOf("courses")]).tokenFor("users"),
    );
    expect(lookup.status).toBe(200);
    expect(lookup.json.users).toEqual([{ id: student.id, role: "STUDENT", name: expect.any(String) }]);
    const feed = await callInternal(
      "courses",
      FEED,
      await createServiceIdentity("attendance", [keyOf("attendance")]).tokenFor("courses"),
    );
    expect(feed.status).toBe(200);
    expect(Array.isArray(feed.json.events)).toBe(true);
    const check = await callInternal(
      "courses",
      CHECK,
      await createServiceIdentity("attendance", [keyOf("attendance")]).tokenFor("courses"),
    );
    expect(check.json).toEqual({ course: null, enrolledStudentIds: [] });
  });

  test("a token claiming to be the gateway, or a service the callee has never heard of, is refused with 403 whatever signs it", async () => {
    for (const iss of ["gateway", "intruder"]) {
      const token = await serviceToken(keyOf("courses"), { iss, aud: "users" });
      const { status, json } = await callInternal("users", LOOKUP, token);
      expect(status, iss).toBe(403);
      expect(json.errors[0].message).toMatch(/may not call this route/);
    }
  });

  test("a caller declared for one route of a service is refused on its other routes (notifications on courses' enrollment check)", async () => {
    const token = await createServiceIdentity("notifications", [keyOf("notifications")]).tokenFor("courses");
    expect((await callInternal("courses", FEED, token)).status).toBe(200);
    expect((await callInternal("courses", CHECK, token)).status).toBe(403);
  });
});

describe("a declared caller's name is not enough: 401 unless its own key signed a token for this service, now", () => {
  test("the right caller name signed with another service's key is refused (with that key's kid, or the caller's)", async () => {
    const withFoodsKid = await serviceToken(keyOf("food"), { iss: "attendance", aud: "courses" });
    const withAttendancesKid = await serviceToken(keyOf("food"), {
      iss: "attendance",
      aud: "courses",
      kid: keyOf("attendance").kid,
    });
    for (const token of [withFoodsKid, withAttendancesKid]) {
      const { status, json } = await callInternal("courses", FEED, token);
      expect(status).toBe(401);
      expect(json).toMatchObject({ errors: [{ extensions: { code: "UNAUTHENTICATED" } }] });
    }
    // The same claims signed with attendance's own key pass: only the key differed.
    expect(
      (
        await callInternal(
          "courses",
          FEED,
          await serviceToken(keyOf("attendance"), { iss: "attendance", aud: "courses" }),
        )
      ).status,
    ).toBe(200);
  });

  test("a key nobody publishes is refused", async () => {
    const stranger = await generateSigningKey();
    expect(
      (await callInternal("users", LOOKUP, await serviceToken(stranger, { iss: "food", aud: "users" }))).status,
    ).toBe(401);
  });

  test("an expired token is refused", async () => {
    const now = Math.floor(Date.now() / 1000);
    const expired = await serviceToken(keyOf("courses"), {
      iss: "courses",
      aud: "users",
      iat: now - 600,
      exp: now - 300,
    });
    const { status, json } = await callInternal("users", LOOKUP, expired);
    expect(status).toBe(401);
    expect(json.errors[0].message).toMatch(/expired/);
  });

  test("a token older than its 60 s lifetime is refused even when its exp says otherwise", async () => {
    const now = Math.floor(Date.now() / 1000);
    const longLived = await serviceToken(keyOf("courses"), {
      iss: "courses",
      aud: "users",
      iat: now - 3600,
      exp: now + 3600,
    });
    expect((await callInternal("users", LOOKUP, longLived)).status).toBe(401);
  });

  test("a token meant for another service is refused (attendance's token for users, sent to courses)", async () => {
    const forUsers = await createServiceIdentity("attendance", [keyOf("attendance")]).tokenFor("users");
    const { status, json } = await callInternal("courses", FEED, forUsers);
    expect(status).toBe(401);
    expect(json.errors[0].message).toMatch(/aud/);
  });

  test("no token, a token that is not a JWT, an identity assertion or a token without typ service+jwt: 401", async () => {
    expect((await callInternal("courses", FEED)).status).toBe(401);
    expect((await callInternal("courses", FEED, "not-a-jwt")).status).toBe(401);
    const assertionTyped = await serviceToken(keyOf("attendance"), {
      iss: "attendance",
      aud: "courses",
      typ: "identity+jwt",
    });
    expect((await callInternal("courses", FEED, assertionTyped)).status).toBe(401);
    // HEAD is served by the same guard as GET.
    expect((await fetch(`${fed.services.courses.url}/internal/events?after=0`, { method: "HEAD" })).status).toBe(401);
  });
});

describe("when a caller's keys cannot be fetched", () => {
  test("keys fetched before keep verifying while the caller is down; a key id never seen is 503 with Retry-After; back when the caller is", async () => {
    const genuine = await createServiceIdentity("attendance", [keyOf("attendance")]).tokenFor("courses");
    expect((await callInternal("courses", FEED, genuine)).status).toBe(200); // courses holds attendance's keys now
    await fed.stopService("attendance");
    try {
      const again = await createServiceIdentity("attendance", [keyOf("attendance")]).tokenFor("courses");
      expect((await callInternal("courses", FEED, again)).status).toBe(200);
      // As if attendance had rotated while unreachable. Within 5 s of courses' last fetch of its
      // keys that fetch is the answer (401); after, courses tries again, cannot reach it: 503.
      const rotated = await serviceToken(await generateSigningKey(), { iss: "attendance", aud: "courses" });
      const unknown = await vi.waitFor(
        async () => {
          const answer = await callInternal("courses", FEED, rotated);
          expect(answer.status).toBe(503);
          return answer;
        },
        { timeout: 15_000, interval: 250 },
      );
      expect(Number(unknown.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(unknown.json).toMatchObject({ errors: [{ extensions: { code: "SERVICE_UNAVAILABLE" } }] });
    } finally {
      await fed.startService("attendance");
    }
    // attendance is back (same key, same port): its reads of courses' feed carry the new course.
    await createCourse(fed, await fed.createUser("TEACHER"));
    await fed.eventsSettled();
  });
});
