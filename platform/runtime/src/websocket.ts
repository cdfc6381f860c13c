// GraphQL over WebSocket (the graphql-transport-ws protocol, graphql-ws) on a service's edge:
// the upgrade on the same URL as HTTP, a bounded message size, a keep-alive ping that ends
// connections whose peer vanished, operations parsed and validated with typed error codes,
// errors masked like HTTP ones, and every socket told to reconnect (1001) when the service drains.
import fastifyWebsocket, { type WebSocket } from "@fastify/websocket";
import type { FastifyRequest } from "fastify";
import { CloseCode, handleProtocols, makeServer, type ServerOptions, type SubscribePayload } from "graphql-ws";
import {
  GraphQLError,
  Kind,
  getOperationAST,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type ExecutionArgs,
  type GraphQLFormattedError,
  type GraphQLSchema,
  type ValidationRule,
} from "graphql";
import type { Edge } from "./edge.ts";
import { errorFields, type Logger } from "./logging.ts";

export interface SocketExtra {
  readonly socket: WebSocket;
  readonly request: FastifyRequest;
}

/** Largest message a client may send (a subscribe message holds one operation). */
export const WEBSOCKET_MAX_PAYLOAD_BYTES = 64 * 1024;
/** Close codes beyond graphql-ws's own: the access token expired (retryable with a fresh one). */
export const SESSION_EXPIRED = {
  code: CloseCode.Forbidden,
  reason: "Forbidden: the access token expired; reconnect with a fresh one",
} as const;
export const GOING_AWAY = { code: 1001, reason: "Server shutting down; reconnect" } as const;

/** @fastify/websocket on the edge (call before the routes): sockets are closed with 1001 as the drain starts. */
export async function enableWebSockets(edge: Edge, options: { maxPayloadBytes?: number } = {}) {
  await edge.app.register(fastifyWebsocket, {
    options: {
      maxPayload: options.maxPayloadBytes ?? WEBSOCKET_MAX_PAYLOAD_BYTES,
      handleProtocols: (protocols) => handleProtocols(protocols),
    },
    errorHandler(error, socket, request) {
      const code = (error as { code?: string }).code;
      // A client that breaks the WebSocket protocol (a frame over the limit, bad masking, bad
      // UTF-8): ws closes it with the matching code (1009, 1002, 1007); it is not our fault.
      if (code?.startsWith("WS_ERR_")) {
        request.log.info({ code, reason: error.message }, "websocket closed: the client broke the protocol");
        return;
      }
      request.log.error({ err: errorFields(error) }, "websocket handler failed");
      socket.terminate();
    },
  });
  edge.onDrain(() => {
    for (const client of edge.app.websocketServer.clients) client.close(GOING_AWAY.code, GOING_AWAY.reason);
  });
}

/** Parses and validates a subscribe message's operation; errors carry GRAPHQL_PARSE_FAILED / GRAPHQL_VALIDATION_FAILED. */
export function prepareOperation(
  schema: GraphQLSchema,
  payload: SubscribePayload,
  rules?: readonly ValidationRule[],
): { document: DocumentNode; args: ExecutionArgs } | GraphQLError[] {
  let document: DocumentNode;
  try {
    document = parse(payload.query, { maxTokens: 2_000 });
  } catch (error) {
    return [new GraphQLError((error as Error).message, { extensions: { code: "GRAPHQL_PARSE_FAILED" } })];
  }
  const errors = validate(schema, document, rules ? [...specifiedRules, ...rules] : undefined);
  if (errors.length)
    return errors.map(
      (e) => new GraphQLError(e.message, { nodes: e.nodes, extensions: { code: "GRAPHQL_VALIDATION_FAILED" } }),
    );
  const operation = getOperationAST(document, payload.operationName);
  if (!operation)
    return [
      new GraphQLError("Name the operation to run (operationName).", {
        extensions: { code: "OPERATION_RESOLUTION_FAILURE" },
      }),
    ];
  return {
    document,
    args: { schema, document, variableValues: payload.variables, operationName: payload.operationName },
  };
}

export const isSubscription = (document: DocumentNode, operationName?: string | null) =>
  getOperationAST(document, operationName)?.operation === "subscription";

export const onlyRootField = (document: DocumentNode, operationName?: string | null) => {
  const selections = getOperationAST(document, operationName)?.selectionSet.selections ?? [];
  return selections.length === 1 && selections[0]!.kind === Kind.FIELD ? selections[0]!.name.value : undefined;
};

/**
 * A @fastify/websocket route handler serving graphql-transport-ws with graphql-ws's server.
 * `formatError` masks errors as the HTTP path does.
 */
export function graphqlOverWebSocket<E extends Record<PropertyKey, unknown>>(
  options: ServerOptions<Record<string, unknown> | undefined, SocketExtra & Partial<E>>,
  settings: {
    log: Logger;
    keepAliveMs?: number;
    formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  },
) {
  const { log, formatError } = settings;
  const keepAliveMs = settings.keepAliveMs ?? 12_000;
  const format = (errors: readonly GraphQLError[]) => errors.map((error) => formatError(error.toJSON(), error));
  const server = makeServer<Record<string, unknown> | undefined, SocketExtra & Partial<E>>({
    connectionInitWaitTimeout: 5_000,
    ...options,
    onError: (ctx, id, payload, errors) => options.onError?.(ctx, id, payload, errors) ?? format(errors),
    onNext: async (ctx, id, payload, args, result) => {
      const custom = await options.onNext?.(ctx, id, payload, args, result);
      const next = custom ?? result;
      return next.errors ? { ...next, errors: format(next.errors as GraphQLError[]) } : next;
    },
  });
  return function handler(socket: WebSocket, request: FastifyRequest) {
    // Ping the peer; one that does not answer within the interval is gone (e.g. a laptop closed).
    let pongWait: NodeJS.Timeout | undefined;
    const ping = setInterval(() => {
      if (socket.readyState !== socket.OPEN) return;
      pongWait = setTimeout(() => socket.terminate(), keepAliveMs);
      socket.once("pong", () => clearTimeout(pongWait));
      socket.ping();
    }, keepAliveMs);
    const closed = server.opened(
      {
        protocol: socket.protocol,
        send: (data) =>
          new Promise<void>((resolve, reject) => {
            if (socket.readyState !== socket.OPEN) return resolve();
            socket.send(data, (error) => (error ? reject(error) : resolve()));
          }),
        close: (code, reason) => socket.close(code, reason),
        onMessage: (handle) =>
          socket.on("message", async (data) => {
            try {
              await handle(String(data));
            } catch (error) {
              log.error({ err: errorFields(error) }, "websocket message failed");
              socket.close(CloseCode.InternalServerError, "Internal server error");
            }
          }),
      },
      { socket, request } as SocketExtra & Partial<E>,
    );
    socket.once("close", (code, reason) => {
      clearInterval(ping);
      clearTimeout(pongWait);
      void closed(code, String(reason));
    });
  };
}
