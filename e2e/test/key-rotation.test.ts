// Rotating the users service's signing key: new tokens use the new key, tokens signed with
// the previous key keep working until they expire, and the key file stays private.
import { afterAll, beforeAll, expect, test } from "vitest";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SignJWT, decodeProtectedHeader } from "jose";
import { generateSigningKey, type SigningKey } from "@pooya/platform";
import { loadSigningKeys, rotateSigningKeys } from "@pooya/users/src/auth/signing-keys.ts";
import { startFederation, type Federation } from "../src/harness.ts";

let fed: Federation;
let previous: SigningKey;
beforeAll(async () => {
  previous = await generateSigningKey();
  fed = await startFederation({ previousUsersKeys: [previous] });
});
afterAll(() => fed?.close());

test("after a rotation both keys are published, new tokens carry the new kid, old tokens still verify", async () => {
  const jwks = (await (await fetch(`${fed.services.users.url}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] };
  expect(jwks.keys.map((k) => k.kid)).toEqual([fed.usersKey.kid, previous.kid]);

  expect(decodeProtectedHeader(fed.admin.token).kid).toBe(fed.usersKey.kid);

  const signedBeforeRotation = await new SignJWT({ role: "STAFF" })
    .setProtectedHeader({ alg: "EdDSA", kid: previous.kid, typ: "at+jwt" })
    .setIssuer("pooya-users").setAudience("pooya-api").setSubject(fed.admin.userId)
    .setIssuedAt().setExpirationTime("10m")
    .sign(previous.privateKey);
  const r = await fed.execute({ query: `{ me { id } }`, token: signedBeforeRotation });
  expect(r.status).toBe(200);
  expect(r.data?.me.id).toBe(fed.admin.userId);
});

test("keys:rotate puts a new key first, keeps one previous key, and writes the file readable by its owner only", async () => {
  const dir = await mkdtemp(join(tmpdir(), "pooya-keys-"));
  try {
    const file = join(dir, "keys", "users-signing-keys.json");
    const [first] = await loadSigningKeys({ file }); // first start: generated and saved
    const afterOne = await rotateSigningKeys(file);
    const afterTwo = await rotateSigningKeys(file);
    expect(afterOne.map((k) => k.kid)).toEqual([afterOne[0]!.kid, first!.kid]);
    expect(afterTwo.map((k) => k.kid)).toEqual([afterTwo[0]!.kid, afterOne[0]!.kid]); // the oldest is dropped
    expect((await loadSigningKeys({ file })).map((k) => k.kid)).toEqual(afterTwo.map((k) => k.kid));
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readFile(file, "utf8")).toContain('"d"'); // private material, hence 0600 and .gitignore
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
