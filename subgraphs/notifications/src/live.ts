// New notifications to the subscriptions open on this replica. With a broker, each new
// notification is broadcast (core NATS, not stored) so that the replica holding the
// recipient's WebSocket delivers it, whichever replica applied the event; without one, this
// process is the only replica. A subscriber that falls behind (more than MAX_QUEUED waiting)
// loses the oldest: live delivery is a convenience, the list (User.notifications) is the record.
import type { Logger, Metrics } from "@pooya/runtime";
import type { Broker } from "@pooya/events";
import type { Notification } from "./generated/prisma/client.ts";

const MAX_QUEUED = 100;

interface Subscriber {
  push(notification: Notification): void;
}

/** The wire form of a notification between replicas (dates as ISO strings). */
type Broadcast = Omit<Notification, "createdAt" | "readAt"> & { createdAt: string; readAt: string | null };

const fromBroadcast = (n: Broadcast): Notification => ({
  ...n,
  createdAt: new Date(n.createdAt),
  readAt: n.readAt ? new Date(n.readAt) : null,
});

export function createLiveNotifications(options: { broker?: Broker; log: Logger; metrics?: Metrics }) {
  const { broker, log } = options;
  const subscribers = new Map<string, Set<Subscriber>>();
  // Not under the event stream's subjects (<prefix>.>): broadcasts are not stored.
  const subject = broker ? `${broker.subjectPrefix}-live.notifications` : "";
  let dropped = 0;

  options.metrics?.gauge(
    "live_subscriptions",
    "notificationAdded subscriptions open on this replica",
    [] as const,
    (set) => {
      let count = 0;
      for (const set of subscribers.values()) count += set.size;
      set({}, count);
    },
  );

  function deliver(notification: Notification) {
    for (const subscriber of subscribers.get(notification.userId) ?? []) subscriber.push(notification);
  }

  const listening = broker?.listen(subject, (data) => deliver(fromBroadcast(data as Broadcast)));

  return {
    /** A notification was committed: to its recipient's open subscriptions, wherever they are. */
    publish(notification: Notification) {
      if (broker?.connected) broker.broadcast(subject, notification);
      else deliver(notification); // no broker (or it is unreachable): this replica's subscribers
    },

    /** The user's new notifications, until the subscriber stops (return()). */
    subscribe(userId: string): AsyncIterableIterator<Notification> {
      const queue: Notification[] = [];
      let waiting: ((result: IteratorResult<Notification>) => void) | undefined;
      let done = false;
      const subscriber: Subscriber = {
        push(notification) {
          if (done) return;
          if (waiting) {
            const resolve = waiting;
            waiting = undefined;
            resolve({ value: notification, done: false });
            return;
          }
          queue.push(notification);
          if (queue.length > MAX_QUEUED) {
            queue.shift();
            if (dropped++ % 100 === 0)
              log.warn({ userId }, "a live subscriber is not keeping up; oldest notifications dropped from its queue");
          }
        },
      };
      const set = subscribers.get(userId) ?? new Set();
      set.add(subscriber);
      subscribers.set(userId, set);
      const finish = (): Promise<IteratorResult<Notification>> => {
        done = true;
        set.delete(subscriber);
        if (set.size === 0) subscribers.delete(userId);
        waiting?.({ value: undefined, done: true });
        waiting = undefined;
        queue.length = 0;
        return Promise.resolve({ value: undefined, done: true });
      };
      return {
        next() {
          if (queue.length > 0) return Promise.resolve({ value: queue.shift()!, done: false });
          if (done) return Promise.resolve({ value: undefined, done: true });
          return new Promise((resolve) => (waiting = resolve));
        },
        return: finish,
        throw: async (error: unknown) => {
          await finish();
          throw error;
        },
        [Symbol.asyncIterator]() {
          return this;
        },
      };
    },

    stop() {
      listening?.stop();
    },
  };
}

export type LiveNotifications = ReturnType<typeof createLiveNotifications>;
