// The gateway's live events (gateway/src/live-events.ts) over real producers on their own
// databases: without a broker it reads each producer's feed as the gateway (its own service key;
// the producers let it), a producer that is not there is reported as not live and reads on
// while the others are heard; with NATS_URL the events come through the broker. Metrics say
// which transport and source is live, what was heard and how many gaps there were.
import { afterAll, expect, test } from "vitest";
import {
  MACHINE_NATS_URL,
  createTenv,
  createTestUser,
  seededAdmin,
  uniqueCode,
  type ServiceHandle,
  type Tenv,
} from "@pooya/e2e";
import { createMetrics, createLogger, type Logger } from "@pooya/runtime";
import { createServiceIdentity } from "@pooya/identity";
import { liveRecorder } from "@pooya/events/testing";
import { SUPERGRAPH_PATH, readSupergraph } from "../src/supergraph.ts";
import { startLiveEvents, type LiveEventsHandle } from "../src/live-events.ts";
import type { GatewaySettings } from "../src/settings.ts";

const tenvs: Tenv[] = [];
const handles: LiveEventsHandle[] = [];
afterAll(async () => {
  for (const handle of handles) await handle.stop();
  for (const tenv of tenvs) await tenv.dispose();
});

const quietLog = (): Logger => createLogger({ service: "gateway", level: "error" });

function settingsFor(tenv: Tenv, subgraphUrls: Record<string, string>, natsUrl?: string) {
  return {
    supergraphSdl: readSupergraph(SUPERGRAPH_PATH).sdl,
    subgraphUrls,
    calls: (name, baseUrl) => ({ name, baseUrl, connectTimeoutMs: 500, timeoutMs: 3_000, maxSockets: 4 }),
    events: {
      natsUrl,
      subjectPrefix: tenv.eventsPrefix,
      pollIntervalMs: 100,
      identity: createServiceIdentity("gateway", [tenv.keys.services.gateway!]),
    },
  } satisfies Pick<GatewaySettings, "supergraphSdl" | "subgraphUrls" | "calls" | "events">;
}

/** A course by staff in courses (its CourseCreated event), taught by a new teacher of users. */
async function createCourse(users: ServiceHandle<"users">, courses: ServiceHandle<"courses">) {
  const teacher = await createTestUser(users, "TEACHER");
  const r = await courses.execute({
    query: `mutation($i: CreateCourseInput!) { createCourse(input: $i) { id } }`,
    variables: { i: { code: uniqueCode(), title: "Live", capacity: 3, teacherId: teacher.id } },
    viewer: await seededAdmin(users),
  });
  if (!r.data?.createCourse) throw new Error(JSON.stringify(r.errors));
  return { teacher, courseId: r.data.createCourse.id as string };
}

test("without a broker: the producers' feeds, read as the gateway; one that is down is not live, the others are heard", async () => {
  const tenv = await createTenv();
  tenvs.push(tenv);
  const users = await tenv.service("users");
  const courses = await tenv.service("courses");
  const down = (name: string) => `${tenv.standInUrl}/${name}/graphql`; // answers 503
  const metrics = createMetrics("gateway");
  const seen = liveRecorder();
  const live = startLiveEvents(
    settingsFor(tenv, {
      users: users.graphqlUrl,
      courses: courses.graphqlUrl,
      attendance: down("attendance"),
      food: down("food"),
    }),
    { log: quietLog(), metrics, onEvents: seen.onEvents, onGap: seen.onGap },
  );
  handles.push(live);
  await seen.until(() => seen.gaps.includes("users") && seen.gaps.includes("courses"), "users and courses live");
  expect(live.status()).toMatchObject({
    transport: "feed",
    live: false,
    sources: {
      users: { live: true },
      courses: { live: true },
      attendance: { live: false },
      food: { live: false },
    },
  });

  const { teacher, courseId } = await createCourse(users, courses);
  await seen.until(
    () => seen.events.some((e) => e.type === "CourseCreated" && e.payload.courseId === courseId),
    "the course's event",
  );
  expect(seen.events.find((e) => e.type === "UserCreated")?.payload.userId).toBe(teacher.id);

  const text = await metrics.registry.metrics();
  expect(text).toContain('live_events_connected{transport="feed",source="users",service="gateway"} 1');
  expect(text).toContain('live_events_connected{transport="feed",source="food",service="gateway"} 0');
  expect(text).toContain('live_events_received_total{source="courses",service="gateway"} 1');
  expect(text).toContain('live_events_gaps_total{source="users",service="gateway"} 1');
});

test("with NATS_URL: what the producers' relays publish, through the broker", async () => {
  const tenv = await createTenv({ env: { NATS_URL: MACHINE_NATS_URL } });
  tenvs.push(tenv);
  const users = await tenv.service("users");
  const courses = await tenv.service("courses");
  const metrics = createMetrics("gateway");
  const seen = liveRecorder();
  // No feed is read: the subgraph addresses do not matter.
  const live = startLiveEvents(settingsFor(tenv, {}, MACHINE_NATS_URL), {
    log: quietLog(),
    metrics,
    onEvents: seen.onEvents,
    onGap: seen.onGap,
  });
  handles.push(live);
  await seen.until(() => seen.gaps.length === 1, "the broker subscription");
  expect(seen.gaps).toEqual([undefined]);

  const { courseId } = await createCourse(users, courses);
  await seen.until(() => seen.events.some((e) => e.payload.courseId === courseId), "the course's event");
  expect(live.status()).toMatchObject({ transport: "nats", live: true });
  const text = await metrics.registry.metrics();
  expect(text).toContain('live_events_connected{transport="nats",source="*",service="gateway"} 1');
  expect(text).toContain('live_events_gaps_total{source="*",service="gateway"} 1');
});
