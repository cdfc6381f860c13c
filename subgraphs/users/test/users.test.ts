// The users subgraph on its own database, called directly as the gateway calls it (a signed
// identity assertion per request): accounts, sign-in, `me`, entity references, its internal lookup.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createRemoteJWKSet, jwtVerify } from "jose";
import { createIdentityAssertionSigner, generateSigningKey } from "@pooya/identity";
import { createTenv, createTestUser, errorCodes, seededAdmin, type ServiceHandle, type Tenv } from "@pooya/e2e";

let tenv: Tenv;
let users: ServiceHandle<"users">;
beforeAll(async () => {
  tenv = await createTenv();
  users = await tenv.service("users");
});
afterAll(() => tenv?.dispose());

const REGISTER = `mutation($i: RegisterInput!) { register(input: $i) { accessToken user { id email role } } }`;
const LOGIN = `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken refreshToken user { id } } }`;
const ME = `{ me { id email name role } }`;

describe("sign-in and me", () => {
  test("register, then login: an access token signed with a key users publishes, for that user and role", async () => {
    const registered = await users.execute({
      query: REGISTER,
      variables: { i: { email: "Sara@Uni.example", password: "correct horse", name: "Sara" } },
    });
    expect(registered.errors).toBeUndefined();
    expect(registered.data!.register.user).toMatchObject({ email: "sara@uni.example", role: "STUDENT" });
    const login = await users.execute({ query: LOGIN, variables: { e: "sara@uni.example", p: "correct horse" } });
    expect(login.errors).toBeUndefined();
    const jwks = createRemoteJWKSet(new URL(users.running!.jwksUrl));
    const { payload } = await jwtVerify(login.data!.login.accessToken, jwks);
    expect(payload).toMatchObject({ sub: registered.data!.register.user.id, role: "STUDENT" });
  });

  test("me is the viewer of the assertion; anonymous is UNAUTHENTICATED; an assertion the gateway did not sign is 401", async () => {
    const teacher = await createTestUser(users, "TEACHER", "Dr Karimi");
    const me = await users.execute({ query: ME, viewer: teacher.viewer });
    expect(me.data?.me).toEqual({ id: teacher.id, email: teacher.email, name: "Dr Karimi", role: "TEACHER" });
    expect(errorCodes(await users.execute({ query: ME }))).toEqual(["UNAUTHENTICATED"]);
    const forged = await createIdentityAssertionSigner(await generateSigningKey())(teacher.viewer);
    const refused = await users.execute({ query: ME, assertion: forged });
    expect(refused.status).toBe(401);
    expect(refused.data ?? undefined).toBeUndefined();
    expect((await users.execute({ query: ME, assertion: null })).status).toBe(401);
  });

  test("a wrong password and an unknown email get the same UNAUTHENTICATED", async () => {
    const student = await createTestUser(users, "STUDENT");
    const wrong = await users.execute({ query: LOGIN, variables: { e: student.email, p: "not the password" } });
    const unknown = await users.execute({ query: LOGIN, variables: { e: "nobody@uni.example", p: "whatever" } });
    expect(errorCodes(wrong)).toEqual(["UNAUTHENTICATED"]);
    expect(wrong.errors?.[0]?.message).toBe(unknown.errors?.[0]?.message);
  });

  test("createUser is for STAFF only", async () => {
    const student = await createTestUser(users, "STUDENT");
    const input = { email: "t@uni.example", password: "password-1", name: "T", role: "TEACHER" };
    const CREATE = `mutation($i: CreateUserInput!) { createUser(input: $i) { id role } }`;
    expect(errorCodes(await users.execute({ query: CREATE, variables: { i: input }, viewer: student.viewer }))).toEqual(
      ["FORBIDDEN"],
    );
    expect(errorCodes(await users.execute({ query: CREATE, variables: { i: input } }))).toEqual(["UNAUTHENTICATED"]);
    const created = await users.execute({ query: CREATE, variables: { i: input }, viewer: await seededAdmin(users) });
    expect(created.data?.createUser.role).toBe("TEACHER");
  });
});

describe("entity references", () => {
  // Moved from e2e/test/users.test.ts: only the users subgraph is involved.
  test("200 User references in one _entities request cost one SQL statement in users", async () => {
    const { rows } = await users.db.query(
      `INSERT INTO users (id, email, name, role, password_hash)
       SELECT gen_random_uuid(), 'bulk' || i || '@uni.example', 'Bulk ' || i, 'STUDENT', 'not-a-real-hash' FROM generate_series(1, 200) i
       RETURNING id`,
    );
    const representations = rows.map((r) => ({ __typename: "User", id: r.id }));
    const { result, statements } = await users.running!.sqlStatements.measure(() =>
      users.execute({
        query: `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id name } } }`,
        variables: { r: representations },
        viewer: { userId: rows[0].id, role: "STAFF" },
      }),
    );
    expect(result.errors).toBeUndefined();
    expect(result.data?._entities).toHaveLength(200);
    expect(result.data?._entities.map((u: any) => u.id)).toEqual(rows.map((r) => r.id));
    expect(statements).toBe(1);
  });
});

describe("the internal lookup", () => {
  test("courses and food may look users up with their service token; another service or no token may not", async () => {
    const student = await createTestUser(users, "STUDENT", "Lookup Me");
    const body = { ids: [student.id] };
    for (const caller of ["courses", "food"]) {
      const r = await users.internal("/internal/users/lookup", { as: caller, body });
      expect(r.status, caller).toBe(200);
      expect(r.json.users).toEqual([{ id: student.id, role: "STUDENT", name: "Lookup Me" }]);
    }
    expect((await users.internal("/internal/users/lookup", { as: "attendance", body })).status).toBe(403);
    expect((await users.internal("/internal/users/lookup", { token: null, body })).status).toBe(401);
  });
});
