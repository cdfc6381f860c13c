// A live subscription without a broker: the producers' event feeds, read as the gateway (its own
// service key; the producers declare it a caller of their feed and find its keys beside its
// assertion keys). It starts at the feed's head — nothing older is passed on — hears what commits
// next, and when the producer goes away and comes back it says events may have been missed
// (onGap) and goes on. The producer is a real users service on its own database.
import { afterAll, beforeAll, expect, test } from "vitest";
import { createTenv, createTestUser, freePort, type ServiceHandle, type Tenv } from "@pooya/e2e";
import { createUpstream, type Upstream } from "@pooya/runtime";
import { createServiceIdentity } from "@pooya/identity";
import { subscribeToLiveEvents, type LiveEvents } from "../src/live.ts";
import { liveRecorder } from "./live-recorder.ts";

let tenv: Tenv;
let users: ServiceHandle<"users">;
let port: number;
let upstream: Upstream;
let live: LiveEvents | undefined;
const recorder = liveRecorder();

beforeAll(async () => {
  tenv = await createTenv();
  port = await freePort();
  users = await tenv.service("users", { env: { PORT: String(port) } });
  upstream = createUpstream({
    name: "users",
    baseUrl: `http://127.0.0.1:${port}`,
    connectTimeoutMs: 500,
    timeoutMs: 3_000,
    maxSockets: 4,
    log: recorder.log,
  });
});
afterAll(async () => {
  await live?.stop();
  await upstream?.close();
  await tenv?.dispose();
});

/** Whose account an event of users is about. */
const userOf = (event: { payload: Record<string, unknown> }) => event.payload.userId ?? event.payload.id;

test("from the head on, as they commit; a producer that went away and came back is a gap, then events again", async () => {
  const { events, gaps, until } = recorder;
  const before = await createTestUser(users, "STUDENT"); // committed before the subscription: never passed on
  live = subscribeToLiveEvents({
    service: "gateway",
    subjectPrefix: tenv.eventsPrefix,
    feeds: { users: upstream },
    identity: createServiceIdentity("gateway", [tenv.keys.services.gateway!]),
    pollIntervalMs: 100,
    log: recorder.log,
    onEvents: recorder.onEvents,
    onGap: recorder.onGap,
  });
  await until(() => gaps.length === 1, "the feed to be live");
  expect(gaps).toEqual(["users"]);

  const first = await createTestUser(users, "TEACHER");
  await until(() => events.some((e) => userOf(e) === first.id), "the new user's event");
  expect(events.map((e) => [e.source, e.type, userOf(e)])).toEqual([["users", "UserCreated", first.id]]);
  expect(events.some((e) => userOf(e) === before.id)).toBe(false);
  expect(live.status()).toMatchObject({ transport: "feed", live: true, sources: { users: { live: true } } });

  // The producer stops: the held-open read is answered, the next one reaches nothing.
  await users.kill();
  await until(() => recorder.logged("cannot read the event feed; retrying with backoff"), "a failed read");
  expect(live.status()).toMatchObject({ live: false, sources: { users: { live: false } } });
  // It comes back on its database and address; the subscriber notices, says so, and reads on.
  users = await tenv.service("users", { databaseUrl: users.databaseUrl, env: { PORT: String(port) } });
  await until(() => gaps.length === 2, "a gap once the feed is readable again");
  expect(gaps).toEqual(["users", "users"]);

  const second = await createTestUser(users, "STUDENT");
  await until(() => events.some((e) => userOf(e) === second.id), "an event after the restart");
  expect(events.map((e) => userOf(e))).toEqual([first.id, second.id]);
  expect(live.status()).toMatchObject({ live: true, sources: { users: { live: true } } });
});

test("a token the producer cannot trust is never read: only the gateway's own key opens its feed", async () => {
  const strangers = liveRecorder();
  const forged = subscribeToLiveEvents({
    service: "gateway",
    subjectPrefix: tenv.eventsPrefix,
    feeds: { users: upstream },
    // Signed as the gateway, with the key of another service.
    identity: createServiceIdentity("gateway", [tenv.keys.services.courses!]),
    pollIntervalMs: 100,
    log: strangers.log,
    onEvents: strangers.onEvents,
    onGap: strangers.onGap,
  });
  try {
    await strangers.until(
      () => strangers.logged("cannot read the event feed; retrying with backoff"),
      "the refused read",
    );
    const refused = strangers.lines.find((l) => l.msg === "cannot read the event feed; retrying with backoff");
    expect(String(refused?.reason)).toContain("HTTP 401");
    expect(strangers.gaps).toEqual([]);
    expect(forged.status().live).toBe(false);
  } finally {
    await forged.stop();
  }
});
