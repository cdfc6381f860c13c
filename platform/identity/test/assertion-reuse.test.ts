// What a subgraph remembers to save signature checks must not change what it accepts: a
// remembered identity assertion is refused once it has expired, one signed with a withdrawn
// gateway key is refused after the next key refresh, and a forged one is never remembered.
import { afterAll, beforeAll, expect, test } from "vitest";
import { startJwksServer } from "@pooya/e2e";
import { SignJWT } from "jose";
import { createLogger } from "@pooya/runtime";
import {
  createIdentityAssertionSigner,
  createIdentityAssertionVerifier,
  createKeyStore,
  generateSigningKey,
} from "@pooya/identity";
import { IDENTITY_ASSERTION_AUDIENCE, IDENTITY_ASSERTION_ISSUER } from "../src/identity.ts";

let jwks: Awaited<ReturnType<typeof startJwksServer>>;
let jwksUrl: string;
const log = createLogger({ service: "test", level: "silent" });

beforeAll(async () => {
  jwks = await startJwksServer([await generateSigningKey()]);
  jwksUrl = jwks.url;
});
afterAll(() => jwks.close());

async function verifierWith(refreshAfterMs?: number) {
  const keys = createKeyStore({
    name: "gateway assertion",
    url: jwksUrl,
    log,
    ...(refreshAfterMs ? { refreshAfterMs } : {}),
  });
  await keys.load();
  return createIdentityAssertionVerifier(keys.getKey, keys);
}

const student = { userId: "00000000-0000-4000-8000-000000000001", role: "STUDENT" as const };

test("a remembered assertion is refused once it has expired", async () => {
  const verify = await verifierWith();
  const assertion = await new SignJWT({ role: "STUDENT" })
    .setProtectedHeader({ alg: "EdDSA", kid: jwks.keys[0]!.kid, typ: "identity+jwt" })
    .setIssuer(IDENTITY_ASSERTION_ISSUER)
    .setAudience(IDENTITY_ASSERTION_AUDIENCE)
    .setSubject(student.userId)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + 2)
    .sign(jwks.keys[0]!.privateKey);
  expect((await verify(assertion)).viewer).toEqual(student);
  expect((await verify(assertion)).viewer).toEqual(student); // remembered
  await new Promise((resolve) => setTimeout(resolve, 2_100));
  await expect(verify(assertion)).rejects.toMatchObject({ extensions: { code: "UNAUTHENTICATED" } });
});

test("a remembered assertion signed with a withdrawn gateway key is refused after the next key refresh", async () => {
  const verify = await verifierWith(100);
  const assertion = await createIdentityAssertionSigner(jwks.keys[0]!)(student, "10.0.0.1");
  expect((await verify(assertion)).clientIp).toBe("10.0.0.1");
  jwks.publish([await generateSigningKey()]); // the gateway's key is replaced
  await new Promise((resolve) => setTimeout(resolve, 150));
  await expect
    .poll(
      async () =>
        verify(assertion).then(
          () => "accepted",
          (error) => error.extensions?.code,
        ),
      { timeout: 5_000, interval: 50 },
    )
    .toBe("UNAUTHENTICATED");
});

test("a forged assertion is never remembered as valid", async () => {
  const verify = await verifierWith();
  const good = await createIdentityAssertionSigner(jwks.keys[0]!)(student);
  const [header, payload] = good.split(".");
  const forged = `${header}.${payload}.${"A".repeat(86)}`;
  for (let i = 0; i < 2; i++)
    await expect(verify(forged)).rejects.toMatchObject({ extensions: { code: "UNAUTHENTICATED" } });
  await expect(verify(good)).resolves.toMatchObject({ viewer: student });
});
