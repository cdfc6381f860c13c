// Users for tests of subgraphs on their own (createTenv): made in a users service of the tenv,
// called directly as its seeded admin (no gateway, no access tokens).
import { randomBytes } from "node:crypto";
import type { Role } from "@pooya/identity";
import { ADMIN, type ServiceHandle } from "./tenv.ts";

export interface TestUser {
  id: string;
  role: Role;
  email: string;
  password: string;
  /** Who they are in an identity assertion (`execute({ viewer })`). */
  viewer: { userId: string; role: Role };
}

/** The admin the users service seeds at its first start (POOYA_ADMIN_EMAIL), as a STAFF viewer. */
export async function seededAdmin(users: ServiceHandle): Promise<{ userId: string; role: "STAFF" }> {
  const { rows } = await users.db.query("SELECT id FROM users WHERE email = $1", [ADMIN.email]);
  if (!rows[0]) throw new Error(`no seeded admin ${ADMIN.email} in the users database`);
  return { userId: rows[0].id as string, role: "STAFF" };
}

let counter = 0;

/** A user of `role`, created by the seeded admin through the users service's createUser. */
export async function createTestUser(users: ServiceHandle, role: Role, name?: string): Promise<TestUser> {
  counter += 1;
  const email = `${role.toLowerCase()}${counter}-${randomBytes(3).toString("hex")}@pooya.test`;
  const password = "password-" + randomBytes(4).toString("hex");
  const r = await users.execute({
    query: `mutation($i: CreateUserInput!) { createUser(input: $i) { id } }`,
    variables: { i: { email, password, name: name ?? `${role} ${counter}`, role } },
    viewer: await seededAdmin(users),
  });
  if (!r.data?.createUser) throw new Error(`createUser failed: ${JSON.stringify(r.errors)}`);
  const id = r.data.createUser.id as string;
  return { id, role, email, password, viewer: { userId: id, role } };
}

/** `count` users of `role` straight into the users database (no password hashing: they cannot sign in). */
export async function insertTestUsers(users: ServiceHandle, role: Role, count: number): Promise<TestUser[]> {
  const run = randomBytes(3).toString("hex");
  const { rows } = await users.db.query(
    `INSERT INTO users (id, email, name, role, password_hash)
     SELECT gen_random_uuid(), 'bulk-' || $2 || '-' || i || '@pooya.test', 'Bulk ' || i, $3, 'no-login'
     FROM generate_series(1, $1::int) i
     RETURNING id, email`,
    [count, run, role],
  );
  return rows.map((r) => ({ id: r.id, role, email: r.email, password: "", viewer: { userId: r.id, role } }));
}
