// What the gateway remembers to save signatures must not change what it accepts: a remembered
// access token still expires at its `exp`, a withdrawn signing key still stops its tokens at the
// next key refresh, a forged token is never remembered; an identity assertion is reused only for
// the same viewer and client address, and only for half its lifetime.
import { afterAll, beforeAll, expect, test } from "vitest";
import { startJwksServer } from "@pooya/e2e";
import { SignJWT } from "jose";
import { createLogger } from "@pooya/runtime";
import { ACCESS_TOKEN_DEFAULTS, createKeyStore, generateSigningKey, type SigningKey } from "@pooya/identity";
import { createAccessTokenVerifier } from "../src/access-tokens.ts";
import { reusingAssertionSigner } from "../src/identity-assertions.ts";

let jwks: Awaited<ReturnType<typeof startJwksServer>>;
let jwksUrl: string;
const log = createLogger({ service: "test", level: "silent" });

beforeAll(async () => {
  jwks = await startJwksServer([await generateSigningKey()]);
  jwksUrl = jwks.url;
});
afterAll(() => jwks.close());

const sign = (key: SigningKey, expiresInSeconds: number) =>
  new SignJWT({ role: "STUDENT" })
    .setProtectedHeader({ alg: ACCESS_TOKEN_DEFAULTS.algorithm, kid: key.kid, typ: ACCESS_TOKEN_DEFAULTS.type })
    .setIssuer(ACCESS_TOKEN_DEFAULTS.issuer)
    .setAudience(ACCESS_TOKEN_DEFAULTS.audience)
    .setSubject("00000000-0000-4000-8000-000000000001")
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + expiresInSeconds)
    .sign(key.privateKey);

const policy = () => ({ jwksUrl, issuer: ACCESS_TOKEN_DEFAULTS.issuer, audience: ACCESS_TOKEN_DEFAULTS.audience });

test("a remembered access token is refused once its exp has passed", async () => {
  const keys = createKeyStore({ name: "access-token", url: jwksUrl, log });
  await keys.load();
  const verifier = createAccessTokenVerifier(policy(), keys);
  const token = await sign(jwks.keys[0]!, 2);
  expect((await verifier.verify(token)).viewer.role).toBe("STUDENT");
  expect((await verifier.verify(token)).viewer.role).toBe("STUDENT"); // remembered
  await new Promise((resolve) => setTimeout(resolve, 2_100));
  await expect(verifier.verify(token)).rejects.toMatchObject({ reason: "expired" });
});

test("a remembered token signed with a withdrawn key is refused after the next key refresh", async () => {
  const keys = createKeyStore({ name: "access-token", url: jwksUrl, log, refreshAfterMs: 100 });
  await keys.load();
  const verifier = createAccessTokenVerifier(policy(), keys);
  const withdrawn = jwks.keys[0]!;
  const token = await sign(withdrawn, 600);
  await verifier.verify(token);
  jwks.publish([await generateSigningKey()]); // the publisher rotates and withdraws the old key
  await new Promise((resolve) => setTimeout(resolve, 150));
  // The refresh this triggers runs in the background (as it did before tokens were remembered);
  // once it has the new set, the withdrawn key's token is checked again and refused.
  await expect
    .poll(
      async () =>
        verifier.verify(token).then(
          () => "accepted",
          (error) => error.reason,
        ),
      { timeout: 5_000, interval: 50 },
    )
    .toBe("invalid");
});

test("a forged token is never remembered as valid", async () => {
  const keys = createKeyStore({ name: "access-token", url: jwksUrl, log });
  await keys.load();
  const verifier = createAccessTokenVerifier(policy(), keys);
  const good = await sign(jwks.keys[0]!, 600);
  const [header, payload] = good.split(".");
  const forged = `${header}.${payload}.${"A".repeat(86)}`;
  for (let i = 0; i < 2; i++) await expect(verifier.verify(forged)).rejects.toMatchObject({ reason: "invalid" });
  await expect(verifier.verify(good)).resolves.toBeTruthy();
});

test("an identity assertion is reused for the same viewer and address only, and for half its lifetime", async () => {
  let signed = 0;
  const signer = reusingAssertionSigner(async (viewer, ip) => `${viewer?.userId ?? "anonymous"}@${ip}#${++signed}`, {
    reuseMs: 200,
  });
  const alice = { userId: "a", role: "STUDENT" as const };
  const first = await signer(alice, "10.0.0.1");
  expect(await signer(alice, "10.0.0.1")).toBe(first);
  expect(await signer(alice, "10.0.0.2")).not.toBe(first);
  expect(await signer({ userId: "a", role: "STAFF" }, "10.0.0.1")).not.toBe(first);
  expect(await signer(null, "10.0.0.1")).toBe(`anonymous@10.0.0.1#${signed}`);
  await new Promise((resolve) => setTimeout(resolve, 250));
  expect(await signer(alice, "10.0.0.1")).not.toBe(first);
});
