// The trust boundary: the gateway accepts only valid user tokens; subgraphs accept only
// requests that carry a valid gateway identity assertion.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { SignJWT, base64url } from "jose";
import { IDENTITY_ASSERTION_HEADER, createIdentityAssertionSigner, generateSigningKey } from "@pooya/identity";
import { SERVICE_NAMES, errorCodes, postGraphQL, startFederation, type Federation } from "../src/harness.ts";

let fed: Federation;
let student: Awaited<ReturnType<Federation["createUser"]>>;
beforeAll(async () => {
  fed = await startFederation();
  student = await fed.createUser("STUDENT");
});
afterAll(() => fed?.close());

const ME = `{ me { id role } }`;

function accessToken(
  overrides: { iss?: string; aud?: string; exp?: number | string; role?: string; sub?: string; alg?: string } = {},
  key = fed.usersKey,
) {
  return new SignJWT({ role: overrides.role ?? "STUDENT" })
    .setProtectedHeader({ alg: "EdDSA", kid: key.kid, typ: "at+jwt" })
    .setIssuer(overrides.iss ?? "pooya-users")
    .setAudience(overrides.aud ?? "pooya-api")
    .setSubject(overrides.sub ?? student.id)
    .setIssuedAt(Math.floor(Date.now() / 1000) - 3600)
    .setExpirationTime(overrides.exp ?? "15m")
    .sign(key.privateKey);
}

describe("gateway: bad tokens are HTTP 401 UNAUTHENTICATED", () => {
  test("a token minted here with the real key and default claims is accepted (the forgeries below differ only in one thing)", async () => {
    const r = await fed.execute({ query: ME, token: await accessToken() });
    expect(r.status).toBe(200);
    expect(r.data?.me.id).toBe(student.id);
  });

  const cases: [string, () => Promise<string>][] = [
    ["expired", () => accessToken({ exp: Math.floor(Date.now() / 1000) - 60 })],
    ["wrong issuer", () => accessToken({ iss: "https://evil.example" })],
    ["wrong audience", () => accessToken({ aud: "some-other-api" })],
    [
      "signed by a foreign key with the real kid",
      async () => {
        const foreign = await generateSigningKey();
        return accessToken({}, { ...foreign, kid: fed.usersKey.kid });
      },
    ],
    [
      "tampered payload (role raised to STAFF)",
      async () => {
        const [header, , signature] = student.token.split(".");
        const payload = JSON.parse(new TextDecoder().decode(base64url.decode(student.token.split(".")[1]!)));
        return [header, base64url.encode(JSON.stringify({ ...payload, role: "STAFF" })), signature].join(".");
      },
    ],
    [
      "alg: none",
      async () => {
        const payload = JSON.parse(new TextDecoder().decode(base64url.decode(student.token.split(".")[1]!)));
        return `${base64url.encode(JSON.stringify({ alg: "none", typ: "at+jwt" }))}.${base64url.encode(JSON.stringify({ ...payload, role: "STAFF" }))}.`;
      },
    ],
    [
      "HS256 signed with the public key as secret",
      async () => {
        const payload = JSON.parse(new TextDecoder().decode(base64url.decode(student.token.split(".")[1]!)));
        return new SignJWT(payload)
          .setProtectedHeader({ alg: "HS256", kid: fed.usersKey.kid })
          .sign(new TextEncoder().encode(JSON.stringify(fed.usersKey.publicJwk)));
      },
    ],
    ["garbage", async () => "not.a.jwt"],
  ];

  test.each(cases)("%s", async (_, makeToken) => {
    const r = await fed.execute({ query: ME, token: await makeToken() });
    expect(r.status).toBe(401);
    expect(errorCodes(r)).toEqual(["UNAUTHENTICATED"]);
    expect(JSON.stringify(r)).not.toMatch(/at .*\.ts|stack/i);
    // RFC 6750: the challenge says the token was refused, and why.
    expect(r.headers?.get("www-authenticate")).toBe(
      `Bearer error="invalid_token", error_description="${r.errors?.[0]?.message}"`,
    );
  });

  test("an Authorization header that is not a bearer token is 401 with the bare challenge; a malformed bearer one is invalid_request", async () => {
    const r = await fed.execute({ query: ME, headers: { authorization: "Basic YWRtaW46YWRtaW4=" } });
    expect(r.status).toBe(401);
    expect(r.headers?.get("www-authenticate")).toBe("Bearer");
    const malformed = await fed.execute({ query: ME, headers: { authorization: "Bearer two tokens" } });
    expect(malformed.status).toBe(401);
    expect(malformed.headers?.get("www-authenticate")).toMatch(/^Bearer error="invalid_request"/);
  });

  test("the valid token of a real login works", async () => {
    const r = await fed.execute({ query: ME, token: student.token });
    expect(r.data?.me).toEqual({ id: student.id, role: "STUDENT" });
  });
});

describe("subgraphs refuse requests without a valid gateway credential", () => {
  const probes = [
    ["a query", `{ __typename }`],
    ["_service (SDL)", `{ _service { sdl } }`],
    [
      "_entities",
      `query { _entities(representations: [{ __typename: "User", id: "00000000-0000-4000-8000-000000000000" }]) { __typename } }`,
    ],
  ] as const;

  for (const name of SERVICE_NAMES) {
    test.each(probes)(`${name}: %s without a credential is 401`, async (_, query) => {
      const r = await postGraphQL(fed.services[name].graphqlUrl, { query });
      expect(r.status).toBe(401);
      expect(errorCodes(r)).toEqual(["UNAUTHENTICATED"]);
      expect(r.headers?.get("www-authenticate")).toBe("Bearer");
    });
  }

  test("a user's own access token is not a gateway credential", async () => {
    const r = await postGraphQL(fed.services.users.graphqlUrl, {
      query: ME,
      token: student.token,
      headers: { [IDENTITY_ASSERTION_HEADER]: student.token },
    });
    expect(r.status).toBe(401);
  });

  test("an assertion signed by another key is refused; one signed by the gateway's key is accepted", async () => {
    const forged = await createIdentityAssertionSigner({ ...(await generateSigningKey()), kid: fed.gatewayKey.kid })({
      userId: student.id,
      role: "STAFF",
    });
    const refused = await fed.callSubgraph("users", { query: `{ _service { sdl } }`, assertion: forged });
    expect(refused.status).toBe(401);
    const accepted = await fed.callSubgraph("users", { query: `{ _service { sdl } }`, viewer: null });
    expect(accepted.status).toBe(200);
    expect(accepted.data?._service.sdl).toContain("type User");
  });

  test("an expired assertion is refused", async () => {
    const expired = await new SignJWT({ role: "STAFF" })
      .setProtectedHeader({ alg: "EdDSA", kid: fed.gatewayKey.kid, typ: "identity+jwt" })
      .setIssuer("pooya-gateway")
      .setAudience("pooya-subgraphs")
      .setSubject(student.id)
      .setIssuedAt(Math.floor(Date.now() / 1000) - 600)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 300)
      .sign(fed.gatewayKey.privateKey);
    expect((await fed.callSubgraph("users", { query: ME, assertion: expired })).status).toBe(401);
  });

  // Which service may call which internal route, and with what proof: service-identity.test.ts.
  test("the internal endpoints need a service token", async () => {
    const lookup = await fetch(`${fed.services.users.url}/internal/users/lookup`, {
      method: "POST",
      body: JSON.stringify({ ids: [student.id] }),
      headers: { "content-type": "application/json" },
    });
    expect(lookup.status).toBe(401);
    const feed = await fetch(`${fed.services.courses.url}/internal/events?after=0`);
    expect(feed.status).toBe(401);
  });
});

describe("gateway limits on abusive queries", () => {
  test("a query nested deeper than 10 levels is refused before it reaches a subgraph", async () => {
    const before = fed.gateway.subgraphRequests.snapshot();
    const deep = `{ me { teachingCourses { teacher { teachingCourses { teacher { teachingCourses { teacher { teachingCourses { teacher { teachingCourses { id } } } } } } } } } } }`;
    const r = await fed.execute({ query: deep, token: student.token });
    expect(r.status).toBe(400);
    expect(errorCodes(r)).toEqual(["GRAPHQL_VALIDATION_FAILED"]);
    expect(fed.gateway.subgraphRequests.snapshot()).toEqual(before);
  });

  test("more than 30 aliases in one query are refused", async () => {
    const aliases = Array.from({ length: 31 }, (_, i) => `a${i}: me { id }`).join(" ");
    const r = await fed.execute({ query: `{ ${aliases} }`, token: student.token });
    expect(errorCodes(r)[0]).toBe("GRAPHQL_VALIDATION_FAILED");
  });
});

describe("the gateway talks to its subgraphs and nothing else", () => {
  test("no Apollo telemetry exporter or cloud metadata probe is started", async () => {
    const { default: http } = await import("node:http");
    const { default: https } = await import("node:https");
    const seen: string[] = [];
    const original = { http: http.request, https: https.request };
    const spy = (orig: typeof http.request) =>
      ((...args: unknown[]) => {
        const target = args[0] as string | URL | { hostname?: string; host?: string };
        seen.push(
          typeof target === "string"
            ? target
            : target instanceof URL
              ? target.href
              : `${target.hostname ?? target.host}`,
        );
        return (orig as (...a: unknown[]) => ReturnType<typeof http.request>)(...args);
      }) as typeof http.request;
    http.request = spy(original.http);
    https.request = spy(original.https);
    delete process.env.APOLLO_TELEMETRY_DISABLED; // as in a fresh process: the gateway itself must turn it off
    try {
      const { gatewayService } = await import("@pooya/gateway");
      const { createLogger, readServiceEnv } = await import("@pooya/runtime");
      const vars = readServiceEnv(gatewayService, {
        PORT: "0",
        HOST: "127.0.0.1",
        ACCESS_TOKEN_JWKS_URL: fed.services.users.jwksUrl,
      });
      const gateway = await gatewayService.start(vars, { log: createLogger({ service: "gateway", level: "warn" }) });
      await new Promise((resolve) => setTimeout(resolve, 500)); // detectors fire right after construction
      await gateway.stop();
    } finally {
      http.request = original.http;
      https.request = original.https;
    }
    expect(seen.filter((t) => !/^(127\.0\.0\.1|localhost)|:\/\/(127\.0\.0\.1|localhost)/.test(t))).toEqual([]);
  });
});
