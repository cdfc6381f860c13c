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

describe("editing an account", () => {
  const UPDATE = `mutation($i: UpdateProfileInput!) { updateMyProfile(input: $i) { id name active } }`;
  const CHANGE = `mutation($c: String!, $n: String!) { changeMyPassword(currentPassword: $c, newPassword: $n) { accessToken refreshToken expiresIn user { id } } }`;
  const REFRESH = `mutation($t: String!) { refreshToken(refreshToken: $t) { refreshToken user { id } } }`;
  const DEACTIVATE = `mutation($id: ID!) { deactivateUser(id: $id) { id active } }`;
  const REACTIVATE = `mutation($id: ID!) { reactivateUser(id: $id) { id active } }`;

  /** The events the account's edits wrote to the outbox, oldest first. */
  const eventsOf = async (userId: string) =>
    (
      await users.db.query(
        `SELECT type, payload FROM outbox_events WHERE payload->>'userId' = $1 AND type NOT IN ('UserCreated') ORDER BY sequence`,
        [userId],
      )
    ).rows;
  const login = async (email: string, password: string) => {
    const r = await users.execute({ query: LOGIN, variables: { e: email, p: password } });
    return r.data?.login as { accessToken: string; refreshToken: string; user: { id: string } } | undefined;
  };
  const refresh = (token: string) => users.execute({ query: REFRESH, variables: { t: token } });

  test("updateMyProfile: trimmed name, in the answer, the row and an event; bad names at their field; anonymous refused", async () => {
    const student = await createTestUser(users, "STUDENT", "Old Name");
    const r = await users.execute({ query: UPDATE, variables: { i: { name: "  New Name " } }, viewer: student.viewer });
    expect(r.errors).toBeUndefined();
    expect(r.data?.updateMyProfile).toEqual({ id: student.id, name: "New Name", active: true });
    expect((await users.execute({ query: ME, viewer: student.viewer })).data?.me.name).toBe("New Name");
    expect(await eventsOf(student.id)).toEqual([
      { type: "UserProfileUpdated", payload: { userId: student.id, name: "New Name" } },
    ]);

    for (const name of ["   ", "x".repeat(101)]) {
      const bad = await users.execute({ query: UPDATE, variables: { i: { name } }, viewer: student.viewer });
      expect(errorCodes(bad)).toEqual(["BAD_USER_INPUT"]);
      expect(bad.errors?.[0]?.extensions?.field).toBe("name");
    }
    expect(errorCodes(await users.execute({ query: UPDATE, variables: { i: { name: "Anon" } } }))).toEqual([
      "UNAUTHENTICATED",
    ]);
    // Nothing of the refused edits was written.
    expect((await users.execute({ query: ME, viewer: student.viewer })).data?.me.name).toBe("New Name");
    expect(await eventsOf(student.id)).toHaveLength(1);
  });

  test("changeMyPassword ends every other session at once; the returned pair works; the old password no longer signs in", async () => {
    const student = await createTestUser(users, "STUDENT");
    const [laptop, phone] = [
      await login(student.email, student.password),
      await login(student.email, student.password),
    ];
    const changed = await users.execute({
      query: CHANGE,
      variables: { c: student.password, n: "a brand new password" },
      viewer: student.viewer,
    });
    expect(changed.errors).toBeUndefined();
    const pair = changed.data!.changeMyPassword;
    expect(pair.user.id).toBe(student.id);
    const jwks = createRemoteJWKSet(new URL(users.running!.jwksUrl));
    expect((await jwtVerify(pair.accessToken, jwks)).payload.sub).toBe(student.id);

    // Both earlier sessions are over; the new one refreshes.
    for (const session of [laptop!, phone!])
      expect(errorCodes(await refresh(session.refreshToken))).toEqual(["UNAUTHENTICATED"]);
    const renewed = await refresh(pair.refreshToken);
    expect(renewed.errors).toBeUndefined();
    expect(renewed.data?.refreshToken.user.id).toBe(student.id);

    expect(await login(student.email, student.password)).toBeUndefined();
    expect(await login(student.email, "a brand new password")).toBeDefined();
    expect(await eventsOf(student.id)).toEqual([{ type: "UserPasswordChanged", payload: { userId: student.id } }]);
  });

  test("changeMyPassword: a wrong current password is BAD_USER_INPUT at currentPassword and counts as a sign-in attempt; a bad new one at newPassword", async () => {
    const student = await createTestUser(users, "STUDENT");
    const session = await login(student.email, student.password);
    const attempt = (c: string, n: string) =>
      users.execute({ query: CHANGE, variables: { c, n }, viewer: student.viewer, clientIp: "203.0.113.7" });

    for (const [c, n, field] of [
      [student.password, "short", "newPassword"],
      [student.password, "y".repeat(129), "newPassword"],
      [student.password, student.password, "newPassword"],
    ] as const) {
      const r = await attempt(c, n);
      expect(errorCodes(r), n).toEqual(["BAD_USER_INPUT"]);
      expect(r.errors?.[0]?.extensions?.field).toBe(field);
    }
    // Five wrong guesses from one client, then that client is throttled even with the right one.
    for (let i = 0; i < 5; i++) {
      const wrong = await attempt("not my password", "another good password");
      expect(errorCodes(wrong)).toEqual(["BAD_USER_INPUT"]);
      expect(wrong.errors?.[0]?.extensions?.field).toBe("currentPassword");
    }
    expect(errorCodes(await attempt(student.password, "another good password"))).toEqual(["TOO_MANY_REQUESTS"]);
    expect(
      errorCodes(await users.execute({ query: CHANGE, variables: { c: "x", n: "another good password" } })),
    ).toEqual(["UNAUTHENTICATED"]);

    // Nothing changed: the old password signs in, the old session still refreshes, no event.
    expect((await refresh(session!.refreshToken)).errors).toBeUndefined();
    expect(await login(student.email, student.password)).toBeDefined();
    expect(await eventsOf(student.id)).toEqual([]);
  });

  test("deactivateUser: STAFF only, not themself, NOT_FOUND for no one; sessions end at once; login and refresh refused with ACCOUNT_DEACTIVATED; reactivateUser undoes it", async () => {
    const admin = await seededAdmin(users);
    const teacher = await createTestUser(users, "TEACHER");
    const student = await createTestUser(users, "STUDENT");
    const session = await login(student.email, student.password);

    expect(
      errorCodes(await users.execute({ query: DEACTIVATE, variables: { id: student.id }, viewer: teacher.viewer })),
    ).toEqual(["FORBIDDEN"]);
    expect(errorCodes(await users.execute({ query: DEACTIVATE, variables: { id: student.id } }))).toEqual([
      "UNAUTHENTICATED",
    ]);
    const self = await users.execute({ query: DEACTIVATE, variables: { id: admin.userId }, viewer: admin });
    expect(errorCodes(self)).toEqual(["BAD_USER_INPUT"]);
    for (const id of [crypto.randomUUID(), "not-an-id"]) {
      expect(errorCodes(await users.execute({ query: DEACTIVATE, variables: { id }, viewer: admin }))).toEqual([
        "NOT_FOUND",
      ]);
      expect(errorCodes(await users.execute({ query: REACTIVATE, variables: { id }, viewer: admin }))).toEqual([
        "NOT_FOUND",
      ]);
    }
    expect(await eventsOf(student.id)).toEqual([]);

    const done = await users.execute({ query: DEACTIVATE, variables: { id: student.id }, viewer: admin });
    expect(done.errors).toBeUndefined();
    expect(done.data?.deactivateUser).toEqual({ id: student.id, active: false });
    // Again: nothing changes, nothing is announced.
    expect((await users.execute({ query: DEACTIVATE, variables: { id: student.id }, viewer: admin })).data).toEqual({
      deactivateUser: { id: student.id, active: false },
    });

    const refused = await refresh(session!.refreshToken);
    expect(errorCodes(refused)).toEqual(["UNAUTHENTICATED"]);
    expect(refused.errors?.[0]?.extensions?.reason).toBe("ACCOUNT_DEACTIVATED");
    const signIn = await users.execute({ query: LOGIN, variables: { e: student.email, p: student.password } });
    expect(errorCodes(signIn)).toEqual(["UNAUTHENTICATED"]);
    expect(signIn.errors?.[0]?.extensions?.reason).toBe("ACCOUNT_DEACTIVATED");
    // A wrong password is told nothing about the account.
    const guess = await users.execute({ query: LOGIN, variables: { e: student.email, p: "a wrong guess" } });
    expect(guess.errors?.[0]?.extensions?.reason).toBeUndefined();
    // Its access token, still within its lifetime, cannot edit the account or mint a new pair.
    for (const [query, variables] of [
      [UPDATE, { i: { name: "Still here" } }],
      [CHANGE, { c: student.password, n: "a brand new password" }],
    ] as const) {
      const r = await users.execute({ query, variables, viewer: student.viewer });
      expect(r.errors?.[0]?.extensions).toMatchObject({ code: "UNAUTHENTICATED", reason: "ACCOUNT_DEACTIVATED" });
    }
    const { rows } = await users.db.query(
      "SELECT count(*)::int AS live FROM refresh_tokens WHERE user_id = $1 AND revoked_at IS NULL",
      [student.id],
    );
    expect(rows[0].live).toBe(0);

    // active: the user themself or STAFF.
    const ACTIVE = `query($id: ID!) { user(id: $id) { active } }`;
    expect((await users.execute({ query: ACTIVE, variables: { id: student.id }, viewer: admin })).data?.user).toEqual({
      active: false,
    });
    expect((await users.execute({ query: `{ me { active } }`, viewer: teacher.viewer })).data?.me).toEqual({
      active: true,
    });
    const other = await users.execute({
      query: `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { name active } } }`,
      variables: { r: [{ __typename: "User", id: student.id }] },
      viewer: teacher.viewer,
    });
    expect(errorCodes(other)).toEqual(["FORBIDDEN"]);

    const back = await users.execute({ query: REACTIVATE, variables: { id: student.id }, viewer: admin });
    expect(back.data?.reactivateUser).toEqual({ id: student.id, active: true });
    expect(
      errorCodes(await users.execute({ query: REACTIVATE, variables: { id: student.id }, viewer: teacher.viewer })),
    ).toEqual(["FORBIDDEN"]);
    // Signs in again; the ended session stays ended.
    expect(await login(student.email, student.password)).toBeDefined();
    expect(errorCodes(await refresh(session!.refreshToken))).toEqual(["UNAUTHENTICATED"]);
    expect(await eventsOf(student.id)).toEqual([
      { type: "UserDeactivated", payload: { userId: student.id } },
      { type: "UserReactivated", payload: { userId: student.id } },
    ]);
  });
});
