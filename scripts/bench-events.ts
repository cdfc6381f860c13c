// npm run bench:events: how fast events travel, on both transports. Prints numbers; asserts nothing.
//  1. event → notification: a teacher marks a student ABSENT (one at a time); measured from the
//     mutation's answer to the notification on that student's WebSocket at the gateway, and from
//     the event's transaction (outbox occurred_at) to the notification's (created_at): both are
//     now() in their transaction, read from the databases' clocks on one machine.
//  2. relay throughput (JetStream): a backlog of events put in food's outbox at once; the time
//     until the relay has published them all, and until notifications has consumed them all.
//  3. the same backlog on the feed transport: until notifications has consumed them all.
//  4. commit → eviction in a gateway's entity cache: a teacher renames a course through one
//     gateway; another gateway (CACHE=on, in process: it learns of the change only from the event)
//     evicts the course. Measured from the mutation's answer (after its commit) to the eviction,
//     and from the event's transaction (occurredAt) to the eviction (the gateway's
//     gateway_entity_cache_invalidation_delay_seconds).
// BENCH_EVENT_SAMPLES (default 200) marks per transport, BENCH_BACKLOG (default 20000) events.
// The broker is the machine's NATS (NATS_URL, default nats://127.0.0.1:4222).
import {
  OPS,
  createCourse,
  day,
  enroll,
  percentile,
  startFederation,
  subscribeNotifications,
  MACHINE_NATS_URL,
  type Federation,
} from "@pooya/e2e";

const samples = Number(process.env.BENCH_EVENT_SAMPLES ?? 200);
const backlog = Number(process.env.BENCH_BACKLOG ?? 20_000);
const summary = (values: number[]) =>
  `p50 ${percentile(values, 0.5).toFixed(1)} ms · p99 ${percentile(values, 0.99).toFixed(1)} ms · max ${Math.max(...values).toFixed(1)} ms (${values.length} samples)`;

/** Commit → eviction at a gateway replica that hears of the change only through the event. */
async function evictionLatency(fed: Federation) {
  const replica = await fed.startGateway({ CACHE: "on" });
  const teacher = await fed.createUser("TEACHER");
  const course = await createCourse(fed, teacher, { capacity: 10 });
  const answeredToEvicted: number[] = [];
  const evictedEvents = () => replica.entityCache.stats().evictions.event;
  for (let i = 0; i < samples; i++) {
    const before = evictedEvents();
    const r = await fed.execute({
      query: `mutation($id: ID!, $i: UpdateCourseInput!) { updateCourse(id: $id, input: $i) { id } }`,
      variables: { id: course.id, i: { title: `Title ${i}` } },
      token: teacher.token,
    });
    if (r.errors) throw new Error(JSON.stringify(r.errors));
    const answered = performance.now();
    const deadline = answered + 5_000;
    while (evictedEvents() === before) {
      if (performance.now() > deadline) throw new Error("the replica did not evict within 5 s");
      await new Promise((resolve) => setImmediate(resolve));
    }
    answeredToEvicted.push(performance.now() - answered);
  }
  const metrics = await replica.metrics.registry.getSingleMetricAsString(
    "gateway_entity_cache_invalidation_delay_seconds",
  );
  const quantile = (q: string) =>
    Number(new RegExp(`quantile="${q}"[^}]*} ([0-9.e+-]+)`).exec(metrics)?.[1] ?? NaN) * 1000;
  return {
    answeredToEvicted,
    fromTransaction: `p50 ${quantile("0.5").toFixed(1)} ms · p99 ${quantile("0.99").toFixed(1)} ms`,
  };
}

async function latency(fed: Federation) {
  const teacher = await fed.createUser("TEACHER");
  const students = await Promise.all(Array.from({ length: 4 }, () => fed.createUser("STUDENT")));
  const course = await createCourse(fed, teacher, { capacity: 10 });
  for (const s of students) await enroll(fed, s.token, course.id);
  await fed.eventsSettled();
  const live = await Promise.all(students.map((s) => subscribeNotifications(fed.gateway.graphqlUrl, s.token)));
  const endToEnd: number[] = [];
  try {
    for (let i = 0; i < samples; i++) {
      const n = i % students.length;
      // A new day per mark for the student: every mark is news (ABSENT where there was none).
      const date = day(-1 - Math.floor(i / students.length));
      const before = live[n]!.received.length;
      const r = await fed.execute({
        query: OPS.mark,
        variables: { i: { courseId: course.id, studentId: students[n]!.id, date, status: "ABSENT" } },
        token: teacher.token,
      });
      if (r.errors) throw new Error(JSON.stringify(r.errors));
      const answered = performance.now();
      const deadline = answered + 5_000;
      while (live[n]!.received.length === before) {
        if (performance.now() > deadline) throw new Error("a notification did not arrive within 5 s");
        await new Promise((resolve) => setImmediate(resolve));
      }
      endToEnd.push(performance.now() - answered);
    }
  } finally {
    await Promise.all(live.map((l) => l.close()));
  }
  await fed.eventsSettled();
  // The event's transaction to the notification's, from the two databases' clocks (one machine).
  const { rows: events } = await fed.db.attendance.query(
    "SELECT id::text, extract(epoch from occurred_at) * 1000 AS at FROM outbox_events WHERE type = 'AttendanceMarked'",
  );
  const { rows: made } = await fed.db.notifications.query(
    "SELECT source_event_id::text AS id, extract(epoch from created_at) * 1000 AS at FROM notifications WHERE kind = 'ATTENDANCE_MARKED'",
  );
  const committed = new Map(events.map((e) => [e.id as string, Number(e.at)]));
  const commitToRow = made.flatMap((m) => (committed.has(m.id) ? [Number(m.at) - committed.get(m.id)!] : []));
  return { endToEnd, commitToRow };
}

/** `count` events of a type nobody handles (consumers record and skip them) into food's outbox in one statement. */
async function fillOutbox(fed: Federation, count: number): Promise<number> {
  const started = performance.now();
  await fed.db.food.query(
    `INSERT INTO outbox_events (id, type, payload) SELECT gen_random_uuid(), 'BenchmarkTick', jsonb_build_object('n', i) FROM generate_series(1, $1::int) i`,
    [count],
  );
  return started;
}

async function until(check: () => Promise<boolean>, timeoutMs = 600_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return performance.now();
}

const consumedAll = (fed: Federation) => async () => {
  const head = (await fed.db.food.query("SELECT max(sequence)::text AS head FROM outbox_events")).rows[0].head;
  const cursor = (
    await fed.db.notifications.query("SELECT last_sequence::text AS at FROM replication_cursors WHERE source = 'food'")
  ).rows[0]?.at;
  return cursor === head;
};

const rate = (count: number, ms: number) =>
  `${Math.round((count / ms) * 1000).toLocaleString("en-US")} events/s (${count.toLocaleString("en-US")} in ${(ms / 1000).toFixed(2)} s)`;

const results: Record<string, unknown> = {};
for (const transport of ["feed", "jetstream"] as const) {
  const fed = await startFederation({ env: transport === "jetstream" ? { NATS_URL: MACHINE_NATS_URL } : {} });
  try {
    console.log(`\n${transport}`);
    const { endToEnd, commitToRow } = await latency(fed);
    console.log(`  mutation answered → notification on the WebSocket: ${summary(endToEnd)}`);
    console.log(`  event's transaction → notification's transaction:   ${summary(commitToRow)}`);
    results[`${transport} latency`] = { endToEnd: summary(endToEnd), commitToRow: summary(commitToRow) };

    const eviction = await evictionLatency(fed);
    console.log(`  mutation answered → evicted at another gateway:    ${summary(eviction.answeredToEvicted)}`);
    console.log(`  event's transaction → evicted (gateway's summary):  ${eviction.fromTransaction}`);
    results[`${transport} eviction`] = {
      answeredToEvicted: summary(eviction.answeredToEvicted),
      fromTransaction: eviction.fromTransaction,
    };

    const started = await fillOutbox(fed, backlog);
    if (transport === "jetstream") {
      const published = await until(
        async () =>
          (await fed.db.food.query("SELECT count(*)::int AS n FROM outbox_events WHERE published_at IS NULL")).rows[0]
            .n === 0,
      );
      console.log(
        `  relay: ${rate(backlog, published - started)} published to JetStream (batches of 200, each awaited)`,
      );
      results["relay throughput"] = rate(backlog, published - started);
    }
    const consumed = await until(consumedAll(fed));
    console.log(`  notifications consumed the backlog: ${rate(backlog, consumed - started)}`);
    results[`${transport} consumer throughput`] = rate(backlog, consumed - started);
  } finally {
    await fed.close();
  }
}
console.log("\n" + JSON.stringify(results));
