// Events name the federation entities they change (caches evict them): the catalogue fills the
// envelope's `entities` from the payload, the outbox stores them with the event, and they reach
// consumers on both transports — the feed and NATS JetStream. Outboxes created before the
// column existed get it from OUTBOX_TABLES_DDL; their old rows read as envelopes without entities.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, expect, test, vi } from "vitest";
import Fastify from "fastify";
import pg from "pg";
import { z } from "zod";
import { jetstreamManager } from "@nats-io/jetstream";
import { MACHINE_NATS_URL } from "@pooya/e2e";
import { createDatabases } from "@pooya/system";
import { createLogger } from "@pooya/runtime";
import {
  OUTBOX_TABLES_DDL,
  collectWrittenEntities,
  createOutbox,
  defineEvents,
  eventFields,
  writtenEntities,
  type EventEnvelope,
  type SqlRunner,
} from "@pooya/events";
import { connectBroker } from "../src/broker.ts";
import { EVENT_FEED_PATH, registerEventFeed } from "../src/feed.ts";
import { startRelay } from "../src/relay.ts";

const catalog = defineEvents("test", {
  SeatTaken: {
    version: 1,
    description: "A student took a seat.",
    payload: z.object({ courseId: eventFields.id(), studentId: eventFields.id() }),
    entities: (e) => [
      { type: "Course", id: e.courseId },
      { type: "User", id: e.studentId },
      { type: "Course", id: e.courseId }, // named twice: stored once
    ],
  },
});

/** outbox_events as services created it before events named their entities. */
const OLD_OUTBOX = `CREATE TABLE "outbox_events" (
    "sequence" BIGSERIAL NOT NULL, "id" UUID NOT NULL, "type" TEXT NOT NULL, "version" INTEGER NOT NULL DEFAULT 1,
    "payload" JSONB NOT NULL, "occurred_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP, "published_at" TIMESTAMPTZ(3),
    CONSTRAINT "outbox_events_pkey" PRIMARY KEY ("sequence"))`;

let databases: Awaited<ReturnType<typeof createDatabases>>;
let pool: pg.Pool;
const log = createLogger({ service: "test", level: "silent" });

beforeAll(async () => {
  databases = await createDatabases(["entities"]);
  pool = new pg.Pool({ connectionString: databases.urls.entities, max: 4 });
  await pool.query(OLD_OUTBOX);
  await pool.query(`INSERT INTO outbox_events (id, type, payload) VALUES (gen_random_uuid(), 'SeatTaken', '{}')`);
  // What the kit runs at every start: the column appears once, the old row keeps null.
  await pool.query(OUTBOX_TABLES_DDL);
  await pool.query(OUTBOX_TABLES_DDL);
});
afterAll(async () => {
  await pool?.end();
  await databases?.drop();
});

const outbox = () =>
  createOutbox<SqlRunner>({
    source: "test",
    pool,
    transaction: async (work) => {
      const client = await pool.connect();
      try {
        await client.query("BEGIN");
        const result = await work({
          $executeRawUnsafe: async (text, ...values) => (await client.query(text, values)).rowCount ?? 0,
          $queryRawUnsafe: async <T>(text: string, ...values: unknown[]) =>
            (await client.query(text, values)).rows as T,
        });
        await client.query("COMMIT");
        return result;
      } catch (error) {
        await client.query("ROLLBACK");
        throw error;
      } finally {
        client.release();
      }
    },
  });

const courseId = randomUUID();
const studentId = randomUUID();
const expected = [
  { type: "Course", id: courseId },
  { type: "User", id: studentId },
];

test("the catalogue names the entities, the outbox stores them and notes them in the request's collection", async () => {
  expect(catalog.create("SeatTaken", { courseId, studentId }).entities).toEqual(expected);
  const box = outbox();
  const noted = await collectWrittenEntities(async () => {
    // Rolled back: nothing committed, nothing noted.
    await expect(
      box.transaction(async (_tx, emit) => {
        emit(catalog.create("SeatTaken", { courseId: randomUUID(), studentId }));
        throw new Error("refused");
      }),
    ).rejects.toThrow("refused");
    expect(writtenEntities()).toEqual([]);
    await box.transaction(async (_tx, emit) => emit(catalog.create("SeatTaken", { courseId, studentId })));
    return writtenEntities();
  });
  expect(noted).toEqual(expected);
  expect(writtenEntities()).toBeUndefined(); // outside a collection
  const { rows } = await pool.query("SELECT entities FROM outbox_events ORDER BY sequence");
  expect(rows.map((r) => r.entities)).toEqual([null, expected]);
});

test("the feed carries them; an event written before they were recorded has none", async () => {
  const app = Fastify();
  registerEventFeed(app, { outbox: outbox(), pollIntervalMs: 1_000 });
  const response = await app.inject({ method: "GET", url: `${EVENT_FEED_PATH}?after=0` });
  await app.close();
  const { events } = response.json<{ events: EventEnvelope[] }>();
  expect(events).toHaveLength(2);
  expect(events[0]).not.toHaveProperty("entities");
  expect(events[1]).toMatchObject({ type: "SeatTaken", payload: { courseId, studentId }, entities: expected });
});

test("so does NATS JetStream (the outbox relay publishes them)", async () => {
  const broker = connectBroker({
    url: MACHINE_NATS_URL,
    subjectPrefix: `entitytest${process.pid}`,
    service: "test",
    log,
  });
  const nc = await broker.whenConnected();
  try {
    const relay = startRelay({ outbox: outbox(), pool, broker, pollIntervalMs: 100, log });
    const received: EventEnvelope[] = [];
    const consumer = broker.consume(`reader`, `${broker.subjectPrefix}.test.>`, async (events) => {
      received.push(...events);
    });
    await vi.waitFor(() => expect(received).toHaveLength(2), { timeout: 10_000, interval: 20 });
    await relay.stop();
    await consumer.stop();
    expect(received[0]).not.toHaveProperty("entities");
    expect(received[1]).toMatchObject({ type: "SeatTaken", entities: expected });
  } finally {
    if (nc) await (await jetstreamManager(nc)).streams.delete(broker.stream).catch(() => undefined);
    await broker.close();
  }
});
