// A live subscription through NATS: what the outbox relay publishes to JetStream reaches a core
// subscriber as it is stored, only the sources it asked for; when the broker goes away and comes
// back, the subscriber is told events may have been missed (onGap) and hears new ones again.
// The broker is a nats-server of the test's own, so that it can be stopped and started.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, expect, test } from "vitest";
import { startNatsServer, type NatsServer } from "@pooya/e2e";
import { connectBroker, type Broker } from "../src/broker.ts";
import type { EventEnvelope } from "../src/envelope.ts";
import { subscribeToLiveEvents, type LiveEvents } from "../src/live.ts";
import { liveRecorder } from "./live-recorder.ts";

let nats: NatsServer;
let broker: Broker;
let live: LiveEvents | undefined;
const prefix = `t${randomUUID().slice(0, 8)}`;
const recorder = liveRecorder();

beforeAll(async () => {
  nats = await startNatsServer();
  broker = connectBroker({ url: nats.url, subjectPrefix: prefix, service: "producer", log: recorder.log });
});
afterAll(async () => {
  await live?.stop();
  await broker?.close();
  await nats?.close();
});

let sequence = 0;
const envelope = (source: string): EventEnvelope => ({
  id: randomUUID(),
  type: "ThingChanged",
  version: 1,
  occurredAt: new Date().toISOString(),
  source,
  sequence: String(++sequence),
  payload: { thingId: randomUUID() },
});

/** Publishes as the outbox relay does (JetStream, `<prefix>.<source>.<type>`), once the broker is connected. */
async function publish(event: EventEnvelope) {
  await broker.whenConnected();
  await broker.publish(`${prefix}.${event.source}.${event.type}`, event);
  return event;
}

test("events stored in JetStream reach the subscriber; a broker restart is a gap, then events flow again", async () => {
  const { events, gaps, until } = recorder;
  live = subscribeToLiveEvents({
    service: "gateway",
    natsUrl: nats.url,
    subjectPrefix: prefix,
    sources: ["users", "courses"],
    pollIntervalMs: 100,
    log: recorder.log,
    onEvents: recorder.onEvents,
    onGap: recorder.onGap,
  });
  // Live: said once (whatever was derived before may be stale), for every source.
  await until(() => gaps.length === 1, "the subscription to be live");
  expect(gaps).toEqual([undefined]);
  expect(live.status()).toMatchObject({ transport: "nats", live: true, broker: { connected: true } });

  const first = await publish(envelope("users"));
  await publish(envelope("food")); // not asked for
  const second = await publish(envelope("courses"));
  await until(() => events.length >= 2, "two events");
  expect(events.map((e) => e.id)).toEqual([first.id, second.id]);
  expect(events[0]).toEqual(first);

  await nats.stop();
  await until(() => recorder.logged("live events: broker connection lost; reconnecting"), "the disconnect");
  expect(live.status().live).toBe(false);
  await nats.start();
  await until(() => gaps.length === 2, "a gap after the broker came back");
  expect(gaps).toEqual([undefined, undefined]);
  expect(live.status().live).toBe(true);

  const third = await publish(envelope("users"));
  await until(() => events.length >= 3, "an event after the restart");
  expect(events.map((e) => e.id)).toEqual([first.id, second.id, third.id]);
});
