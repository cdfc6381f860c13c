// Accounts and sessions through the real gateway, users subgraph and Postgres.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { errorCodes, startFederation, type Federation } from "../src/harness.ts";

let fed: Federation;
beforeAll(async () => {
  fed = await startFederation();
});
afterAll(() => fed?.close());

const REGISTER = `mutation($i: RegisterInput!) { register(input: $i) { accessToken refreshToken expiresIn user { id email name role createdAt } } }`;
const LOGIN = `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken refreshToken user { id } } }`;
const REFRESH = `mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken user { id } } }`;
const ME = `{ me { id email name role } }`;

const countUsers = async () => Number((await fed.db.users.query("SELECT count(*) FROM users")).rows[0].count);

describe("register, login, me", () => {
  test("a new account is a STUDENT that can sign in and see itself", async () => {
    const registered = await fed.execute({
      query: REGISTER,
      variables: { i: { email: "  Sara@Uni.Example ", password: "correct horse", name: "Sara" } },
    });
    expect(registered.errors).toBeUndefined();
    expect(registered.data?.register.user).toMatchObject({ email: "sara@uni.example", name: "Sara", role: "STUDENT" });
    expect(registered.data?.register.expiresIn).toBe(900);

    const login = await fed.execute({ query: LOGIN, variables: { e: "sara@uni.example", p: "correct horse" } });
    expect(login.errors).toBeUndefined();
    const me = await fed.execute({ query: ME, token: login.data?.login.accessToken });
    expect(me.data?.me).toMatchObject({
      id: registered.data?.register.user.id,
      role: "STUDENT",
      email: "sara@uni.example",
    });
  });

  test("a wrong password or unknown email is UNAUTHENTICATED, with one message for both", async () => {
    await fed.execute({
      query: REGISTER,
      variables: { i: { email: "omid@uni.example", password: "right password", name: "Omid" } },
    });
    const wrong = await fed.execute({ query: LOGIN, variables: { e: "omid@uni.example", p: "wrong password" } });
    const unknown = await fed.execute({ query: LOGIN, variables: { e: "nobody@uni.example", p: "wrong password" } });
    expect(errorCodes(wrong)).toEqual(["UNAUTHENTICATED"]);
    expect(errorCodes(unknown)).toEqual(["UNAUTHENTICATED"]);
    expect(wrong.errors?.[0]?.message).toBe(unknown.errors?.[0]?.message);
    expect(wrong.data).toBeNull();
  });

  test("after 5 attempts from one client the account refuses that client for a while (TOO_MANY_REQUESTS, HTTP 429), even with the right password", async () => {
    await fed.execute({
      query: REGISTER,
      variables: { i: { email: "brute@uni.example", password: "the right one", name: "B" } },
    });
    for (let i = 0; i < 5; i++) {
      expect(
        errorCodes(await fed.execute({ query: LOGIN, variables: { e: "brute@uni.example", p: `guess ${i}` } })),
      ).toEqual(["UNAUTHENTICATED"]);
    }
    const locked = await fed.execute({ query: LOGIN, variables: { e: "brute@uni.example", p: "the right one" } });
    expect(errorCodes(locked)).toEqual(["TOO_MANY_REQUESTS"]);
    expect(locked.status).toBe(429);
    expect(Number(locked.headers?.get("retry-after"))).toBeGreaterThan(800);
    expect(locked.errors?.[0]?.extensions?.retryAfterSeconds).toBeGreaterThan(800);
    // Five attempts were counted against the account as a whole; the sixth was refused before that.
    const { rows } = await fed.db.users.query("SELECT failed_logins FROM users WHERE email = 'brute@uni.example'");
    expect(rows[0].failed_logins).toBe(5);
  });

  test("a taken email (in any letter case) is a CONFLICT and writes nothing", async () => {
    await fed.execute({
      query: REGISTER,
      variables: { i: { email: "dup@uni.example", password: "password one", name: "First" } },
    });
    const before = await countUsers();
    const again = await fed.execute({
      query: REGISTER,
      variables: { i: { email: "DUP@uni.example", password: "password two", name: "Second" } },
    });
    expect(errorCodes(again)).toEqual(["CONFLICT"]);
    expect(await countUsers()).toBe(before);
  });

  test.each([
    ["a malformed email", { email: "not-an-email", password: "long enough", name: "X" }, "email"],
    ["a short password", { email: "short@uni.example", password: "short", name: "X" }, "password"],
    ["an empty name", { email: "noname@uni.example", password: "long enough", name: "   " }, "name"],
  ])("%s is BAD_USER_INPUT naming the field, and no row is written", async (_, input, field) => {
    const before = await countUsers();
    const r = await fed.execute({ query: REGISTER, variables: { i: input } });
    expect(errorCodes(r)).toEqual(["BAD_USER_INPUT"]);
    expect(r.errors?.[0]?.extensions?.field).toBe(field);
    expect(await countUsers()).toBe(before);
  });

  test("me without a token is UNAUTHENTICATED (HTTP 200: no token is not a bad token)", async () => {
    const r = await fed.execute({ query: ME });
    expect(r.status).toBe(200);
    expect(errorCodes(r)).toEqual(["UNAUTHENTICATED"]);
  });
});

describe("refresh tokens", () => {
  test("rotate: the new pair works and the old refresh token is refused", async () => {
    const reg = await fed.execute({
      query: REGISTER,
      variables: { i: { email: "rot@uni.example", password: "password 123", name: "Rot" } },
    });
    const first = reg.data?.register.refreshToken as string;
    const rotated = await fed.execute({ query: REFRESH, variables: { t: first } });
    expect(rotated.errors).toBeUndefined();
    expect(rotated.data?.refreshToken.refreshToken).not.toBe(first);
    const me = await fed.execute({ query: ME, token: rotated.data?.refreshToken.accessToken });
    expect(me.data?.me.email).toBe("rot@uni.example");

    const replay = await fed.execute({ query: REFRESH, variables: { t: first } });
    expect(errorCodes(replay)).toEqual(["UNAUTHENTICATED"]);
    // Replaying a used token is a theft signal: the whole family, including the newest token, is revoked.
    const newest = await fed.execute({ query: REFRESH, variables: { t: rotated.data?.refreshToken.refreshToken } });
    expect(errorCodes(newest)).toEqual(["UNAUTHENTICATED"]);
  });

  test("only the hash of a refresh token is stored", async () => {
    const reg = await fed.execute({
      query: REGISTER,
      variables: { i: { email: "hash@uni.example", password: "password 123", name: "Hash" } },
    });
    const token = reg.data?.register.refreshToken as string;
    const { rows } = await fed.db.users.query("SELECT token_hash FROM refresh_tokens WHERE token_hash = $1", [token]);
    expect(rows).toHaveLength(0);
    const total = await fed.db.users.query("SELECT count(*) FROM refresh_tokens");
    expect(Number(total.rows[0].count)).toBeGreaterThan(0);
  });

  test("two concurrent refreshes with one token: exactly one succeeds", async () => {
    const reg = await fed.execute({
      query: REGISTER,
      variables: { i: { email: "race@uni.example", password: "password 123", name: "Race" } },
    });
    const token = reg.data?.register.refreshToken;
    const results = await Promise.all([1, 2].map(() => fed.execute({ query: REFRESH, variables: { t: token } })));
    expect(results.filter((r) => r.data?.refreshToken).length).toBe(1);
  });

  test("logout ends the session: its refresh token stops working", async () => {
    const reg = await fed.execute({
      query: REGISTER,
      variables: { i: { email: "out@uni.example", password: "password 123", name: "Out" } },
    });
    const { accessToken, refreshToken } = reg.data!.register;
    const out = await fed.execute({
      query: `mutation($t: String!) { logout(refreshToken: $t) }`,
      variables: { t: refreshToken },
      token: accessToken,
    });
    expect(out.data?.logout).toBe(true);
    expect(errorCodes(await fed.execute({ query: REFRESH, variables: { t: refreshToken } }))).toEqual([
      "UNAUTHENTICATED",
    ]);
    const again = await fed.execute({
      query: `mutation($t: String!) { logout(refreshToken: $t) }`,
      variables: { t: refreshToken },
      token: accessToken,
    });
    expect(again.data?.logout).toBe(false);
  });
});

describe("staff administration", () => {
  test("STAFF creates a TEACHER; a STUDENT calling createUser is FORBIDDEN; anonymous is UNAUTHENTICATED", async () => {
    const CREATE = `mutation($i: CreateUserInput!) { createUser(input: $i) { id role } }`;
    const input = { email: "teacher@uni.example", password: "password 123", name: "Dr T", role: "TEACHER" };
    const created = await fed.execute({ query: CREATE, variables: { i: input }, token: fed.admin.token });
    expect(created.data?.createUser.role).toBe("TEACHER");

    const student = await fed.createUser("STUDENT");
    const before = await countUsers();
    const denied = await fed.execute({
      query: CREATE,
      variables: { i: { ...input, email: "x@uni.example", role: "STAFF" } },
      token: student.token,
    });
    expect(errorCodes(denied)).toEqual(["FORBIDDEN"]);
    const anonymous = await fed.execute({ query: CREATE, variables: { i: { ...input, email: "y@uni.example" } } });
    expect(errorCodes(anonymous)).toEqual(["UNAUTHENTICATED"]);
    expect(await countUsers()).toBe(before);
  });

  test("user(id): STAFF and the user themself; anyone else is FORBIDDEN", async () => {
    const a = await fed.createUser("STUDENT");
    const b = await fed.createUser("STUDENT");
    const Q = `query($id: ID!) { user(id: $id) { id email } }`;
    expect((await fed.execute({ query: Q, variables: { id: a.id }, token: a.token })).data?.user.id).toBe(a.id);
    expect((await fed.execute({ query: Q, variables: { id: a.id }, token: fed.admin.token })).data?.user.id).toBe(a.id);
    expect(errorCodes(await fed.execute({ query: Q, variables: { id: a.id }, token: b.token }))).toEqual(["FORBIDDEN"]);
    expect(
      (
        await fed.execute({
          query: Q,
          variables: { id: "00000000-0000-4000-8000-000000000000" },
          token: fed.admin.token,
        })
      ).data?.user,
    ).toBeNull();
  });

  test("users(): STAFF pages through a role with a cursor; others are FORBIDDEN", async () => {
    for (let i = 0; i < 3; i++) await fed.createUser("TEACHER");
    const Q = `query($after: String) { users(role: TEACHER, first: 2, after: $after) { totalCount edges { cursor node { id role } } pageInfo { hasNextPage endCursor } } }`;
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page: any = await fed.execute({ query: Q, variables: { after }, token: fed.admin.token });
      expect(page.errors).toBeUndefined();
      seen.push(...page.data.users.edges.map((e: any) => e.node.id));
      expect(page.data.users.edges.every((e: any) => e.node.role === "TEACHER")).toBe(true);
      if (!page.data.users.pageInfo.hasNextPage) {
        expect(seen.length).toBe(page.data.users.totalCount);
        break;
      }
      after = page.data.users.pageInfo.endCursor;
    }
    expect(new Set(seen).size).toBe(seen.length);
    const student = await fed.createUser("STUDENT");
    expect(errorCodes(await fed.execute({ query: Q, variables: { after: null }, token: student.token }))).toEqual([
      "FORBIDDEN",
    ]);
    const tooMany = await fed.execute({ query: `{ users(first: 101) { totalCount } }`, token: fed.admin.token });
    expect(errorCodes(tooMany)).toEqual(["BAD_USER_INPUT"]);
    const badCursor = await fed.execute({
      query: `{ users(after: "nonsense") { totalCount } }`,
      token: fed.admin.token,
    });
    expect(errorCodes(badCursor)).toEqual(["BAD_USER_INPUT"]);
  });
});

// "200 User references in one _entities request cost one SQL statement" moved to subgraphs/users/test/.

describe("account edits through the gateway", () => {
  const CHANGE = `mutation($c: String!, $n: String!) { changeMyPassword(currentPassword: $c, newPassword: $n) { accessToken refreshToken user { id } } }`;

  test("a password change ends the other sessions at once; the returned pair works", async () => {
    const student = await fed.createUser("STUDENT");
    const other = (await fed.execute({ query: LOGIN, variables: { e: student.email, p: student.password } })).data!
      .login;
    const changed = await fed.execute({
      query: CHANGE,
      variables: { c: student.password, n: "new password 123" },
      token: student.token,
    });
    expect(changed.errors).toBeUndefined();
    const pair = changed.data!.changeMyPassword;
    expect(errorCodes(await fed.execute({ query: REFRESH, variables: { t: other.refreshToken } }))).toEqual([
      "UNAUTHENTICATED",
    ]);
    expect((await fed.execute({ query: ME, token: pair.accessToken })).data?.me.id).toBe(student.id);
    const renewed = await fed.execute({ query: REFRESH, variables: { t: pair.refreshToken } });
    expect(renewed.data?.refreshToken.user.id).toBe(student.id);
  });

  test("a deactivated account's refresh and login are refused with reason ACCOUNT_DEACTIVATED, as the client sees it", async () => {
    const teacher = await fed.createUser("TEACHER");
    const session = (await fed.execute({ query: LOGIN, variables: { e: teacher.email, p: teacher.password } })).data!
      .login;
    const done = await fed.execute({
      query: `mutation($id: ID!) { deactivateUser(id: $id) { id active } }`,
      variables: { id: teacher.id },
      token: fed.admin.token,
    });
    expect(done.data?.deactivateUser).toEqual({ id: teacher.id, active: false });
    for (const refused of [
      await fed.execute({ query: REFRESH, variables: { t: session.refreshToken } }),
      await fed.execute({ query: LOGIN, variables: { e: teacher.email, p: teacher.password } }),
    ]) {
      expect(refused.errors?.[0]?.extensions).toEqual({ code: "UNAUTHENTICATED", reason: "ACCOUNT_DEACTIVATED" });
      expect(refused.errors?.[0]?.message).toMatch("deactivated");
    }
    const staffView = await fed.execute({
      query: `query($id: ID!) { user(id: $id) { active } }`,
      variables: { id: teacher.id },
      token: fed.admin.token,
    });
    expect(staffView.data?.user).toEqual({ active: false });
  });
});

describe("health", () => {
  test("healthz and readyz answer on the gateway and the users subgraph", async () => {
    for (const base of [fed.gateway.url, fed.services.users.url]) {
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      const ready = await fetch(`${base}/readyz`);
      expect(ready.status).toBe(200);
      expect(((await ready.json()) as { status: string }).status).toBe("ready");
    }
  });

  test("browsers on another origin may call the gateway (CORS preflight), not the subgraphs", async () => {
    const preflight = await fetch(fed.gateway.graphqlUrl, {
      method: "OPTIONS",
      headers: {
        origin: "https://panel.example.edu",
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type",
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("*");
    expect(preflight.headers.get("access-control-allow-headers")).toContain("authorization");
    const call = await fetch(fed.gateway.graphqlUrl, {
      method: "POST",
      headers: {
        origin: "https://panel.example.edu",
        "content-type": "application/json",
        authorization: `Bearer ${fed.admin.token}`,
      },
      body: JSON.stringify({ query: "{ me { id } }" }),
    });
    expect(call.headers.get("access-control-allow-origin")).toBe("*");
    const subgraph = await fetch(fed.services.users.graphqlUrl, {
      method: "OPTIONS",
      headers: { origin: "https://panel.example.edu" },
    });
    expect(subgraph.headers.get("access-control-allow-origin")).toBeNull();
  });

  test("the users JWKS publishes public keys only", async () => {
    const jwks = (await (await fetch(`${fed.services.users.url}/.well-known/jwks.json`)).json()) as {
      keys: Record<string, unknown>[];
    };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: "OKP", crv: "Ed25519", alg: "EdDSA", kid: fed.usersKey.kid });
    expect(jwks.keys[0]?.d).toBeUndefined();
  });
});
