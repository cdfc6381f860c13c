// Rotating the users service's signing key: new tokens use the new key, tokens signed with
// the previous key keep working until they expire, and the key file stays private.
import { afterAll, beforeAll, expect, test } from "vitest";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SignJWT, decodeProtectedHeader } from "jose";
import { generateSigningKey, type SigningKey } from "@pooya/identity";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { startFederation, type Federation } from "../src/harness.ts";

let fed: Federation;
let previous: SigningKey;
beforeAll(async () => {
  previous = await generateSigningKey();
  fed = await startFederation({ previousUsersKeys: [previous] });
});
afterAll(() => fed?.close());

test("after a rotation both keys are published, new tokens carry the new kid, old tokens still verify", async () => {
  const jwks = (await (await fetch(`${fed.services.users.url}/.well-known/jwks.json`)).json()) as {
    keys: { kid: string }[];
  };
  expect(jwks.keys.map((k) => k.kid)).toEqual([fed.usersKey.kid, previous.kid]);

  expect(decodeProtectedHeader(fed.admin.token).kid).toBe(fed.usersKey.kid);

  const signedBeforeRotation = await new SignJWT({ role: "STAFF" })
    .setProtectedHeader({ alg: "EdDSA", kid: previous.kid, typ: "at+jwt" })
    .setIssuer("pooya-users")
    .setAudience("pooya-api")
    .setSubject(fed.admin.userId)
    .setIssuedAt()
    .setExpirationTime("10m")
    .sign(previous.privateKey);
  const r = await fed.execute({ query: `{ me { id } }`, token: signedBeforeRotation });
  expect(r.status).toBe(200);
  expect(r.data?.me.id).toBe(fed.admin.userId);
});

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

/** `npm run keys:rotate` as an operator runs it, on a data folder of its own. */
async function rotate(dataDir: string, keySets: string[] = []): Promise<string> {
  const args = ["run", "--silent", "keys:rotate", ...(keySets.length ? ["--", ...keySets] : [])];
  const { stdout } = await promisify(execFile)("npm", args, {
    cwd: repoRoot,
    env: { ...process.env, POOYA_DATA_DIR: dataDir },
  });
  return stdout;
}

async function storedKids(file: string): Promise<string[]> {
  return (JSON.parse(await readFile(file, "utf8")) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
}

test("keys:rotate puts a new key first, keeps one previous key, and writes the file readable by its owner only", async () => {
  const dir = await mkdtemp(join(tmpdir(), "pooya-keys-"));
  try {
    const file = join(dir, "keys", "users-signing-keys.json");
    await rotate(dir); // no key file yet: the first key is made, then rotated
    const [newest, first] = await storedKids(file);
    expect(first).toBeDefined();
    const printed = await rotate(dir);
    const afterTwo = await storedKids(file);
    expect(afterTwo).toHaveLength(2);
    expect(afterTwo[1]).toBe(newest); // the previous newest is kept, the oldest dropped
    expect(afterTwo).not.toContain(first);
    expect(printed).toContain(`signing with ${afterTwo[0]}`);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readFile(file, "utf8")).toContain('"d"'); // private material, hence 0600 and .gitignore
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("keys:rotate also rotates each calling service's service-token keys, all of them or the ones named", async () => {
  const dir = await mkdtemp(join(tmpdir(), "pooya-keys-"));
  try {
    const fileOf = (name: string) => join(dir, "keys", `${name}-service-signing-keys.json`);
    await rotate(dir);
    // The gateway's too: it signs its reads of the event feeds.
    for (const name of ["courses", "attendance", "food", "notifications", "gateway"]) {
      expect(await storedKids(fileOf(name)), name).toHaveLength(2);
      expect((await stat(fileOf(name))).mode & 0o777, name).toBe(0o600);
    }
    const usersFile = join(dir, "keys", "users-signing-keys.json");
    const before = { courses: await storedKids(fileOf("courses")), food: await storedKids(fileOf("food")) };
    const usersBefore = await storedKids(usersFile);
    const printed = await rotate(dir, ["courses"]);
    const courses = await storedKids(fileOf("courses"));
    expect(courses[1]).toBe(before.courses[0]);
    expect(printed).toContain(`courses: ${fileOf("courses")}: signing with ${courses[0]}`);
    expect(await storedKids(fileOf("food"))).toEqual(before.food); // not named: untouched
    expect(await storedKids(usersFile)).toEqual(usersBefore);
    const unknownSet = expect.stringMatching(/no key set intruder; the key sets are access-tokens, courses/);
    await expect(rotate(dir, ["intruder"])).rejects.toMatchObject({ stderr: unknownSet });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
