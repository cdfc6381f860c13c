// Domain events on both transports: the services' event feeds over HTTP (no broker, the
// zero-setup default) and NATS JetStream (NATS_URL). The same producers and consumers, the same
// apply code; the attendance replica must come out exact either way, and live notifications
// arrive within a second. On JetStream: events carry Nats-Msg-Id = event id, every outbox row
// is marked published, and a broker restart in the middle of purchases loses and duplicates nothing.
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import { connect } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { streamName } from "@pooya/events";
import { startFederation, type Federation } from "../src/harness.ts";
import { OPS, addMeal, createCourse, day, enroll, topUp } from "../src/fixtures.ts";
import { subscribeNotifications } from "../src/live.ts";
import { MACHINE_NATS_URL, startNatsServer } from "../src/nats.ts";

const pick = <T>(items: T[]) => items[Math.floor(Math.random() * items.length)]!;

/** Random enrollments and drops, several at once, over two courses and eight students. */
async function enrollmentChurn(fed: Federation) {
  const teacher = await fed.createUser("TEACHER");
  const students = await Promise.all(Array.from({ length: 8 }, () => fed.createUser("STUDENT")));
  const courses = [await createCourse(fed, teacher), await createCourse(fed, teacher)];
  for (let round = 0; round < 10; round++) {
    await Promise.all(
      Array.from({ length: 6 }, async () => {
        const student = pick(students);
        const course = pick(courses);
        const enrolled = await fed.execute({ query: OPS.enroll, variables: { c: course.id }, token: student.token });
        if (enrolled.errors)
          await fed.execute({ query: OPS.drop, variables: { c: course.id, s: student.id }, token: student.token });
      }),
    );
  }
  return courses.map((c) => c.id);
}

async function expectReplicaExact(fed: Federation, courseIds: string[]) {
  await fed.eventsSettled();
  const truth = await fed.db.courses.query(
    "SELECT course_id::text, student_id::text FROM enrollments WHERE course_id = ANY($1::uuid[]) ORDER BY 1, 2",
    [courseIds],
  );
  const replica = await fed.db.attendance.query(
    "SELECT course_id::text, student_id::text FROM enrollment_replicas WHERE enrolled AND course_id = ANY($1::uuid[]) ORDER BY 1, 2",
    [courseIds],
  );
  expect(truth.rows.length).toBeGreaterThan(0);
  expect(replica.rows).toEqual(truth.rows);
  const courses = await fed.db.courses.query(
    "SELECT id::text AS course_id, teacher_id::text, code FROM courses WHERE id = ANY($1::uuid[]) ORDER BY 1",
    [courseIds],
  );
  const replicaCourses = await fed.db.attendance.query(
    "SELECT course_id::text, teacher_id::text, code FROM course_replicas WHERE course_id = ANY($1::uuid[]) ORDER BY 1",
    [courseIds],
  );
  expect(replicaCourses.rows).toEqual(courses.rows);
}

async function liveLatency(fed: Federation) {
  const teacher = await fed.createUser("TEACHER");
  const [a, b] = [await fed.createUser("STUDENT"), await fed.createUser("STUDENT")];
  const course = await createCourse(fed, teacher);
  await enroll(fed, a.token, course.id);
  await enroll(fed, b.token, course.id);
  await fed.eventsSettled();
  const liveA = await subscribeNotifications(fed.gateway.graphqlUrl, a.token);
  const liveB = await subscribeNotifications(fed.gateway.graphqlUrl, b.token);
  try {
    const started = Date.now();
    await fed.execute({
      query: OPS.mark,
      variables: { i: { courseId: course.id, studentId: a.id, date: day(0), status: "ABSENT" } },
      token: teacher.token,
    });
    const got = await liveA.waitFor((n) => n.kind === "ATTENDANCE_MARKED", 1_000);
    expect(got.at - started).toBeLessThan(1_000);
    expect(got.notification.title).toBe(`Marked ABSENT in ${course.code}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(liveB.received).toEqual([]);
    expect(liveA.received).toHaveLength(1);
    expect(liveA.errors).toEqual([]);
  } finally {
    await liveA.close();
    await liveB.close();
  }
}

describe.each([
  { transport: "feed", env: {} },
  { transport: "jetstream", env: { NATS_URL: MACHINE_NATS_URL } },
])("events on the $transport transport", ({ transport, env }) => {
  let fed: Federation;
  beforeAll(async () => {
    fed = await startFederation({ env });
  });
  afterAll(() => fed?.close());

  test("the attendance replica is exactly courses' enrollments after concurrent enrollments and drops", async () => {
    await expectReplicaExact(fed, await enrollmentChurn(fed));
  });

  test("a student marked ABSENT gets it over WebSocket within 1 s; a classmate gets nothing", async () => {
    await liveLatency(fed);
  });

  test.runIf(transport === "jetstream")(
    "events reach the stream with Nats-Msg-Id = event id; every outbox row is marked published",
    async () => {
      const student = await fed.createUser("STUDENT");
      await topUp(fed, student.id, 700);
      await fed.eventsSettled();
      await vi.waitFor(
        async () => {
          for (const service of ["users", "courses", "attendance", "food"] as const) {
            const { rows } = await fed.db[service].query(
              "SELECT count(*)::int AS n FROM outbox_events WHERE published_at IS NULL",
            );
            expect(rows[0].n).toBe(0);
          }
        },
        { timeout: 5_000, interval: 50 },
      );
      const nc = await connect({ servers: MACHINE_NATS_URL });
      try {
        const jsm = await jetstreamManager(nc);
        const message = await jsm.streams.getMessage(streamName(fed.eventsPrefix), {
          last_by_subj: `${fed.eventsPrefix}.food.WalletToppedUp`,
        });
        const envelope = message!.json<{
          id: string;
          type: string;
          source: string;
          version: number;
          payload: { userId: string; amount: number };
        }>();
        expect(message!.header.get("Nats-Msg-Id")).toBe(envelope.id);
        expect(envelope).toMatchObject({
          type: "WalletToppedUp",
          source: "food",
          version: 1,
          payload: { userId: student.id, amount: 700 },
        });
        const { rows } = await fed.db.food.query(
          "SELECT id::text FROM outbox_events WHERE type = 'WalletToppedUp' ORDER BY sequence DESC LIMIT 1",
        );
        expect(rows[0].id).toBe(envelope.id);
        // The consumers read the stream (durable consumers, one per source).
        const consumer = await jsm.consumers.info(streamName(fed.eventsPrefix), "notifications-food");
        expect(consumer.delivered.stream_seq).toBeGreaterThan(0);
        expect(consumer.num_ack_pending).toBe(0);
      } finally {
        await nc.close();
      }
    },
  );
});

describe("a broker restart in the middle of purchases", () => {
  test("every receipt notification arrives exactly once; while the broker is away, the feeds carry the events", async () => {
    const nats = await startNatsServer();
    const fed = await startFederation({ env: { NATS_URL: nats.url } });
    try {
      const students = await Promise.all(Array.from({ length: 4 }, () => fed.createUser("STUDENT")));
      const meal = await addMeal(fed, { price: 10, stock: 10_000 });
      for (const s of students) await topUp(fed, s.id, 100_000);
      await fed.eventsSettled();

      const orders: string[] = [];
      const buying = (async () => {
        const started = Date.now();
        for (let i = 0; Date.now() - started < 12_000; i++) {
          await Promise.all(
            students.map(async (s, n) => {
              const r = await fed.execute({
                query: OPS.buy,
                variables: { i: { mealId: meal.id, quantity: 1, idempotencyKey: `r${i}-${n}` } },
                token: s.token,
              });
              expect(r.errors).toBeUndefined();
              orders.push(r.data!.buyMeal.id);
            }),
          );
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      })();
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      await nats.stop();
      const from = Date.now();
      await new Promise((resolve) => setTimeout(resolve, 5_000));
      await nats.start();
      const outage = { from, to: Date.now() };
      await buying;

      await fed.eventsSettled(30_000);
      const events = await fed.db.food.query(
        "SELECT id::text, payload->>'orderId' AS order_id FROM outbox_events WHERE type = 'FoodOrderConfirmed' AND payload->>'orderId' = ANY($1)",
        [orders],
      );
      expect(events.rows).toHaveLength(orders.length); // one event per purchase
      const notified = await fed.db.notifications.query(
        "SELECT source_event_id::text, count(*)::int AS n, min(created_at) AS created_at FROM notifications WHERE kind = 'ORDER_CONFIRMED' AND source_event_id = ANY($1::uuid[]) GROUP BY 1",
        [events.rows.map((r) => r.id)],
      );
      expect(notified.rows).toHaveLength(orders.length); // none lost
      expect(notified.rows.every((r) => r.n === 1)).toBe(true); // none twice
      const mails = await fed.db.notifications.query(
        "SELECT count(*)::int AS n FROM outgoing_mails WHERE template = 'ORDER_RECEIPT' AND source_event_id = ANY($1::uuid[])",
        [events.rows.map((r) => r.id)],
      );
      expect(mails.rows[0].n).toBe(orders.length);
      // Purchases went on during the outage, and their notifications did not wait for the broker.
      const duringOutage = notified.rows.filter(
        (r) => r.created_at.getTime() > outage.from + 2_500 && r.created_at.getTime() < outage.to,
      );
      expect(duringOutage.length).toBeGreaterThan(0);
      // Once back, the relay published the backlog: nothing is left unpublished.
      await vi.waitFor(
        async () => {
          const { rows } = await fed.db.food.query(
            "SELECT count(*)::int AS n FROM outbox_events WHERE published_at IS NULL",
          );
          expect(rows[0].n).toBe(0);
        },
        { timeout: 10_000, interval: 100 },
      );
    } finally {
      await fed.close();
      await nats.close();
    }
  }, 120_000);
});
