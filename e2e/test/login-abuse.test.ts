// Sign-in abuse, bounded: attempts are counted before the password is checked (parallel bursts
// cannot slip past), per client address, per account and client, and per account from
// everywhere; a stranger does not lock the owner out; unknown emails answer like wrong
// passwords. The test acts as a trusted proxy, so X-Forwarded-For gives each request a client.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { errorCodes, startFederation, type Federation, type GraphQLResponse } from "../src/harness.ts";

const LOGIN = `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }`;
const REGISTER = `mutation($i: RegisterInput!) { register(input: $i) { accessToken } }`;
const hex16 = () => Math.floor(Math.random() * 0x10000).toString(16);
/** A random /64 of the documentation range, and addresses in it (each as a client that rotates through its own prefix would use). */
const randomPrefix64 = () => `2001:db8:${hex16()}:${hex16()}`;
const inPrefix = (prefix: string) => `${prefix}:${hex16()}:${hex16()}:${hex16()}:${hex16()}`;
const randomIp = () =>
  `10.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`;

let fed: Federation;
const login = (email: string, password: string, clientIp: string) =>
  fed.execute({ query: LOGIN, variables: { e: email, p: password }, headers: { "x-forwarded-for": clientIp } });

async function account(password = "the owner's password") {
  const email = `abuse-${randomBytes(4).toString("hex")}@uni.example`;
  const r = await fed.execute({
    query: REGISTER,
    variables: { i: { email, password, name: "Owner" } },
    headers: { "x-forwarded-for": randomIp() },
  });
  expect(r.errors).toBeUndefined();
  return { email, password };
}

const tally = (responses: GraphQLResponse[]) => ({
  checked: responses.filter((r) => errorCodes(r)[0] === "UNAUTHENTICATED").length,
  throttled: responses.filter((r) => errorCodes(r)[0] === "TOO_MANY_REQUESTS").length,
});

beforeAll(async () => {
  fed = await startFederation({
    env: {
      TRUSTED_PROXIES: "127.0.0.1",
      LOGIN_LIMIT_PER_CLIENT: "30",
      REGISTER_LIMIT_PER_CLIENT: "1000",
      LOGIN_LIMIT_PER_ACCOUNT: "20",
      REDIS_URL: "redis://127.0.0.1:6379",
    },
  });
});
afterAll(() => fed?.close());

describe("one account", () => {
  test("20 parallel wrong passwords from one client: 5 are checked, 15 refused with 429 before any check", async () => {
    const owner = await account();
    const ip = randomIp();
    const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => login(owner.email, `guess ${i}`, ip)));
    expect(tally(responses)).toEqual({ checked: 5, throttled: 15 });
    const refused = responses.find((r) => errorCodes(r)[0] === "TOO_MANY_REQUESTS")!;
    expect(refused.status).toBe(429);
    expect(Number(refused.headers?.get("retry-after"))).toBeGreaterThan(0);
  });

  test("a stranger who locked themself out does not lock the owner out", async () => {
    const owner = await account();
    const stranger = randomIp();
    for (let i = 0; i < 6; i++) await login(owner.email, `guess ${i}`, stranger);
    expect(errorCodes(await login(owner.email, owner.password, stranger))).toEqual(["TOO_MANY_REQUESTS"]);
    const fromHome = await login(owner.email, owner.password, randomIp());
    expect(fromHome.errors).toBeUndefined();
    expect(fromHome.data?.login.accessToken).toBeTruthy();
  });

  test("guesses spread over many clients stop at the account-wide ceiling (20 here), in parallel too", async () => {
    const owner = await account();
    const clients = Array.from({ length: 10 }, randomIp); // 10 clients × 5 attempts = 50 > 20
    const responses = await Promise.all(
      clients.flatMap((ip) => Array.from({ length: 5 }, (_, i) => login(owner.email, `guess ${ip} ${i}`, ip))),
    );
    const { checked, throttled } = tally(responses);
    expect(checked).toBe(20);
    expect(throttled).toBe(30);
    // Now everyone waits, the owner too: the price of a ceiling against distributed guessing.
    expect(errorCodes(await login(owner.email, owner.password, randomIp()))).toEqual(["TOO_MANY_REQUESTS"]);
  });

  test("unknown emails answer exactly like wrong passwords, throttling included", async () => {
    const owner = await account();
    const ip = randomIp();
    const nobody = `nobody-${randomBytes(4).toString("hex")}@uni.example`;
    const real = [];
    const fake = [];
    for (let i = 0; i < 6; i++) {
      real.push(await login(owner.email, `guess ${i}`, ip));
      fake.push(await login(nobody, `guess ${i}`, ip));
    }
    expect(real.map(errorCodes)).toEqual(fake.map(errorCodes));
    expect(real.map((r) => r.errors?.[0]?.message)).toEqual(fake.map((r) => r.errors?.[0]?.message));
    expect(real.map((r) => r.status)).toEqual(fake.map((r) => r.status));
  });
});

describe("one client", () => {
  test("more sign-ins than LOGIN_LIMIT_PER_CLIENT (30 here) from one address, over many accounts: the rest is 429, no password checked", async () => {
    const ip = randomIp();
    const responses: GraphQLResponse[] = [];
    for (let i = 0; i < 40; i++)
      responses.push(await login(`stuffing-${i}-${randomBytes(3).toString("hex")}@uni.example`, "password123", ip));
    expect(tally(responses)).toEqual({ checked: 30, throttled: 10 });
    const refused = responses.at(-1)!;
    expect(refused.status).toBe(429);
    expect(refused.errors?.[0]?.message).toMatch(/Too many login requests from your address/);
    // Another address is not affected.
    expect(errorCodes(await login("someone@uni.example", "password123", randomIp()))).toEqual(["UNAUTHENTICATED"]);
  });

  test("an IPv6 client is counted by its /64: a new address from the same prefix is the same client (per client, and per account and client)", async () => {
    const prefix = randomPrefix64();
    const owner = await account();
    // Six wrong passwords, each from another address of one /64: the pair limit (5) holds.
    const responses: GraphQLResponse[] = [];
    for (let i = 0; i < 6; i++) responses.push(await login(owner.email, `guess ${i}`, inPrefix(prefix)));
    expect(tally(responses)).toEqual({ checked: 5, throttled: 1 });
    // The owner, from another /64 of the same provider, still gets in.
    const fromHome = await login(owner.email, owner.password, inPrefix(randomPrefix64()));
    expect(fromHome.data?.login.accessToken).toBeTruthy();
    // The gateway's per-client count is one key for the whole prefix.
    const redis = new Redis("redis://127.0.0.1:6379");
    try {
      expect(await redis.keys(`pooya:gateway:client-login:${prefix}*`)).toEqual([
        `pooya:gateway:client-login:${prefix}::/64`,
      ]);
    } finally {
      redis.disconnect();
    }
  });

  test("the counts live in Redis when REDIS_URL is set, shared by every replica", async () => {
    const ip = randomIp();
    await login("someone-else@uni.example", "password123", ip);
    const redis = new Redis("redis://127.0.0.1:6379");
    try {
      expect(await redis.keys(`pooya:gateway:client-login:${ip}`)).toHaveLength(1);
      expect(await redis.keys(`pooya:users:login-unknown-account:someone-else@uni.example`)).toHaveLength(1);
    } finally {
      redis.disconnect();
    }
  });
});
