// The broker in production mode: NATS JetStream (official client). One stream holds every
// service's events (`<prefix>.<source>.<EventType>`, deduplicated on the event id within a
// window, kept for a week); each consuming service reads each source through a durable pull
// consumer and acknowledges a message only after its own transaction committed. Core NATS
// (no persistence) carries live fan-out between replicas, e.g. new notifications to the
// replica that holds the recipient's WebSocket.
import { connect, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import {
  AckPolicy,
  DeliverPolicy,
  StorageType,
  jetstream,
  jetstreamManager,
  type ConsumerMessages,
  type JetStreamClient,
  type JsMsg,
} from "@nats-io/jetstream";
import type { Logger } from "@pooya/runtime";
import type { EventEnvelope } from "./envelope.ts";

const nanos = (ms: number) => ms * 1_000_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms).unref());

/** How long JetStream remembers an event id to drop a second publish of it (a relay that crashed between publish and commit). */
export const DUPLICATE_WINDOW_MS = 2 * 60_000;
export const STREAM_MAX_AGE_MS = 7 * 24 * 3_600_000;
/** An event not acknowledged in this time is delivered again (the consumer died or hung). */
const ACK_WAIT_MS = 30_000;
const PUBLISH_TIMEOUT_MS = 5_000;
/** Most events a consumer applies in one transaction. */
const CONSUME_BATCH = 100;

/** The stream of a subject prefix: pooya → POOYA_EVENTS. */
export const streamName = (prefix: string) => `${prefix.toUpperCase().replace(/[^A-Z0-9_-]/g, "_")}_EVENTS`;

export interface BrokerOptions {
  url: string;
  subjectPrefix: string;
  /** The service connecting (the connection's name on the server). */
  service: string;
  log: Logger;
}

export interface BrokerDelivery {
  /** Messages the consumer has not received yet (its lag). */
  pending: number;
  redeliveries: number;
}

export type Broker = ReturnType<typeof connectBroker>;

/**
 * Connects in the background and keeps reconnecting for as long as the service runs: a service
 * starts, and answers, while the broker is down; its events wait in its outbox meanwhile.
 */
export function connectBroker(options: BrokerOptions) {
  const { log, subjectPrefix } = options;
  const stream = streamName(subjectPrefix);
  let connection: NatsConnection | undefined;
  let connected = false;
  let stopped = false;
  const listeners = new Set<(connected: boolean) => void>();

  const setConnected = (value: boolean) => {
    if (connected === value) return;
    connected = value;
    for (const listener of listeners) listener(value);
  };

  async function ensureStream(nc: NatsConnection) {
    const jsm = await jetstreamManager(nc);
    const config = {
      name: stream,
      subjects: [`${subjectPrefix}.>`],
      storage: StorageType.File,
      max_age: nanos(STREAM_MAX_AGE_MS),
      duplicate_window: nanos(DUPLICATE_WINDOW_MS),
    };
    try {
      await jsm.streams.info(stream);
    } catch {
      await jsm.streams.add(config);
      log.info({ stream, subjects: config.subjects }, "event stream created");
    }
  }

  async function watch(nc: NatsConnection) {
    for await (const status of nc.status()) {
      if (status.type === "disconnect") {
        log.warn({ server: status.server }, "broker connection lost; reconnecting (events wait in the outboxes)");
        setConnected(false);
      } else if (status.type === "reconnect") {
        log.info({ server: status.server }, "broker connection back");
        // A broker that lost its storage comes back without the stream.
        await ensureStream(nc).catch((error: Error) =>
          log.warn({ reason: error.message }, "could not check the event stream"),
        );
        setConnected(true);
      }
    }
  }

  (async () => {
    for (let attempt = 0; !stopped; attempt += 1) {
      try {
        const nc = await connect({
          servers: options.url.split(","),
          name: options.service,
          maxReconnectAttempts: -1,
          reconnectTimeWait: 500,
          timeout: 5_000,
          pingInterval: 10_000,
          maxPingOut: 3,
        });
        if (stopped) {
          await nc.close();
          return;
        }
        await ensureStream(nc);
        connection = nc;
        void watch(nc);
        log.info({ server: nc.getServer(), stream }, "connected to the broker");
        setConnected(true);
        return;
      } catch (error) {
        if (attempt === 0)
          log.warn(
            { url: options.url, reason: (error as Error).message },
            "broker not reachable; retrying in the background",
          );
        await sleep(Math.min(5_000, 250 * 2 ** Math.min(attempt, 5)));
      }
    }
  })();

  let stop!: () => void;
  const stoppedPromise = new Promise<void>((resolve) => (stop = resolve));
  /** Resolves with the connection once it is up (now, or when it comes back); undefined when the broker stopped first. */
  const whenConnected = (): Promise<NatsConnection | undefined> => {
    if (connected && connection) return Promise.resolve(connection);
    if (stopped) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const listener = (up: boolean) => {
        if (!up) return;
        listeners.delete(listener);
        resolve(connection);
      };
      listeners.add(listener);
      void stoppedPromise.then(() => {
        listeners.delete(listener);
        resolve(undefined);
      });
    });
  };

  let js: JetStreamClient | undefined;

  return {
    stream,
    subjectPrefix,
    get connected() {
      return connected;
    },
    /** Called with true/false as the connection comes and goes. */
    onConnectionChange(listener: (connected: boolean) => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    whenConnected,
    status: () => ({ connected, server: connection?.getServer() }),

    /** Publishes one event to JetStream; resolves once it is stored (a duplicate counts as stored). */
    async publish(subject: string, event: EventEnvelope): Promise<{ duplicate: boolean }> {
      if (!connected || !connection) throw new Error("not connected to the broker");
      js ??= jetstream(connection);
      const ack = await js.publish(subject, JSON.stringify(event), { msgID: event.id, timeout: PUBLISH_TIMEOUT_MS });
      return { duplicate: ack.duplicate };
    },

    /**
     * Reads `filterSubject` through the durable consumer `durable` for as long as the service
     * runs. Messages that have arrived are handed to `handle` together (up to BATCH, in stream
     * order; one at a time when traffic is light, so nothing waits for a batch to fill); once
     * `handle` resolved (its transaction committed) they are acknowledged. A failed `handle`
     * gets them delivered again after `retryMs`.
     */
    consume(
      durable: string,
      filterSubject: string,
      handle: (events: EventEnvelope[], delivery: BrokerDelivery) => Promise<void>,
      retryMs = 1_000,
    ) {
      let messages: ConsumerMessages | undefined;
      let halted = false;
      const consumerConfig = {
        durable_name: durable,
        filter_subject: filterSubject,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ack_wait: nanos(ACK_WAIT_MS),
        max_ack_pending: 1_000,
      };
      const queue: JsMsg[] = [];
      let working: Promise<void> | undefined;

      async function work() {
        while (queue.length > 0 && !halted) {
          const batch = queue.splice(0, CONSUME_BATCH);
          const events: EventEnvelope[] = [];
          const accepted: JsMsg[] = [];
          for (const message of batch) {
            try {
              events.push(message.json<EventEnvelope>());
              accepted.push(message);
            } catch {
              log.error({ subject: message.subject, streamSequence: message.seq }, "not an event envelope; dropped");
              message.term("not an event envelope");
            }
          }
          if (events.length === 0) continue;
          const last = accepted.at(-1)!;
          try {
            await handle(events, {
              pending: last.info.pending + queue.length,
              redeliveries: Math.max(...accepted.map((m) => m.info.deliveryCount)) - 1,
            });
            for (const message of accepted) message.ack();
          } catch (error) {
            log.warn(
              { durable, events: events.length, firstEventId: events[0]!.id, reason: (error as Error).message },
              "events not applied; delivered again later",
            );
            for (const message of accepted) message.nak(retryMs);
          }
        }
      }
      const kick = () => {
        working ??= work().finally(() => {
          working = undefined;
          if (queue.length > 0 && !halted) kick();
        });
      };

      const done = (async () => {
        while (!stopped && !halted) {
          const nc = await whenConnected();
          if (!nc || stopped || halted) return;
          try {
            const jsm = await jetstreamManager(nc);
            await ensureStream(nc);
            await jsm.consumers.add(stream, consumerConfig);
            const consumer = await jetstream(nc).consumers.get(stream, durable);
            messages = await consumer.consume({ max_messages: 200 });
            void (async () => {
              for await (const status of messages.status()) {
                if (
                  status.type === "consumer_not_found" ||
                  status.type === "stream_not_found" ||
                  status.type === "consumer_deleted"
                ) {
                  // The broker lost them (restarted without its storage): put them back; consume() resumes.
                  await ensureStream(nc).catch(() => undefined);
                  await jsm.consumers.add(stream, consumerConfig).catch(() => undefined);
                }
              }
            })().catch(() => undefined);
            // Reading never waits for the work: what arrives meanwhile forms the next batch.
            for await (const message of messages) {
              queue.push(message);
              kick();
            }
          } catch (error) {
            if (stopped || halted) return;
            log.warn({ durable, reason: (error as Error).message }, "broker consumer interrupted; resuming");
          }
          if (!stopped && !halted) await sleep(1_000);
        }
      })();
      return {
        async stop() {
          halted = true;
          await messages?.close().catch(() => undefined);
          await done;
          await working;
          // Received but not applied: back to the stream at once, for whoever consumes next.
          for (const message of queue.splice(0)) message.nak();
        },
      };
    },

    /** Core NATS (not stored): reaches whoever subscribes now, e.g. every replica of a service. */
    broadcast(subject: string, data: unknown): void {
      if (connected) connection?.publish(subject, JSON.stringify(data));
    },
    /** Receives broadcasts on `subject` (resubscribed after reconnects by the client). */
    listen(subject: string, onMessage: (data: unknown) => void): { stop(): void } {
      let subscription: Subscription | undefined;
      let cancelled = false;
      void whenConnected().then((nc) => {
        if (!nc || cancelled) return;
        subscription = nc.subscribe(subject, {
          callback: (error, message) => {
            if (error) return;
            try {
              onMessage(message.json());
            } catch (cause) {
              log.warn({ subject, reason: (cause as Error).message }, "broadcast not handled");
            }
          },
        });
      });
      return {
        stop() {
          cancelled = true;
          subscription?.unsubscribe();
        },
      };
    },

    async close(): Promise<void> {
      stopped = true;
      stop();
      if (connection && !connection.isClosed()) await connection.drain().catch(() => connection?.close());
    },
  };
}
