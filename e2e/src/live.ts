// WebSocket clients for tests: a graphql-ws subscription that collects what arrives, and a raw
// socket that reports how the server closed it.
import { createClient } from "graphql-ws";
import WebSocket from "ws";

export interface LiveNotification {
  id: string;
  kind: string;
  title: string;
  body: string;
  createdAt: string;
}

export const NOTIFICATION_ADDED = `subscription { notificationAdded { id kind title body createdAt } }`;

export const wsUrl = (graphqlUrl: string) => graphqlUrl.replace(/^http/, "ws");

/** Subscribes to notificationAdded as the holder of `token`; resolves once the server acknowledged the connection. */
export async function subscribeNotifications(graphqlUrl: string, token: string) {
  const received: { at: number; notification: LiveNotification }[] = [];
  const errors: unknown[] = [];
  let closed: { code: number; reason: string } | undefined;
  let acknowledged!: () => void;
  const ack = new Promise<void>((resolve) => (acknowledged = resolve));
  const client = createClient({
    url: wsUrl(graphqlUrl),
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
    lazy: false,
    onNonLazyError: () => undefined, // the test reads `closed` instead
    on: {
      connected: () => acknowledged(),
      closed: (event) => {
        const e = event as { code: number; reason: string };
        closed = { code: e.code, reason: String(e.reason) };
      },
    },
  });
  const unsubscribe = client.subscribe<{ notificationAdded: LiveNotification }>(
    { query: NOTIFICATION_ADDED },
    {
      next: (result) => {
        if (result.data) received.push({ at: Date.now(), notification: result.data.notificationAdded });
        if (result.errors) errors.push(...result.errors);
      },
      error: (error) => errors.push(error),
      complete: () => undefined,
    },
  );
  await ack;
  // The subscribe message follows the ack; give the relay a moment to open its upstream subscription.
  await new Promise((resolve) => setTimeout(resolve, 200));
  return {
    received,
    errors,
    get closed() {
      return closed;
    },
    /** Resolves with the first notification matching `predicate`, or rejects after `timeoutMs`. */
    async waitFor(predicate: (n: LiveNotification) => boolean, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = received.find((r) => predicate(r.notification));
        if (found) return found;
        if (Date.now() > deadline)
          throw new Error(
            `no matching notification within ${timeoutMs} ms (got ${JSON.stringify(received.map((r) => r.notification.title))}, errors ${JSON.stringify(errors)})`,
          );
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    async close() {
      unsubscribe();
      await client.dispose();
    },
  };
}

/** A raw graphql-transport-ws socket: sends connection_init with `payload`; resolves with the ack, or how the socket was closed. */
export function connectRaw(
  graphqlUrl: string,
  payload: Record<string, unknown> | undefined,
  options: { protocol?: string; timeoutMs?: number } = {},
) {
  return new Promise<{ acknowledged: boolean; code?: number; reason?: string; socket: WebSocket }>(
    (resolve, reject) => {
      const socket = new WebSocket(wsUrl(graphqlUrl), options.protocol ?? "graphql-transport-ws");
      const timer = setTimeout(() => reject(new Error("no answer from the server")), options.timeoutMs ?? 5_000);
      socket.on("open", () =>
        socket.send(JSON.stringify({ type: "connection_init", ...(payload ? { payload } : {}) })),
      );
      socket.on("message", (data) => {
        const message = JSON.parse(String(data)) as { type: string };
        if (message.type === "connection_ack") {
          clearTimeout(timer);
          resolve({ acknowledged: true, socket });
        }
      });
      socket.on("close", (code, reason) => {
        clearTimeout(timer);
        resolve({ acknowledged: false, code, reason: String(reason), socket });
      });
      socket.on("error", () => undefined);
    },
  );
}

/** Resolves with the close code and reason once `socket` closes. */
export const closeOf = (socket: WebSocket) =>
  new Promise<{ code: number; reason: string }>((resolve) =>
    socket.once("close", (code, reason) => resolve({ code, reason: String(reason) })),
  );
