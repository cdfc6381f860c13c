// Subscriptions at the gateway. Apollo Gateway plans queries and mutations only, so the gateway
// serves subscriptions itself, on the same /graphql URL, over WebSocket (graphql-transport-ws):
//  1. connection_init carries { authorization: "Bearer <accessToken>" }; the token is verified
//     like an HTTP request's. None or a bad one closes the socket with 4401; an expired one with
//     4403 (graphql-ws clients retry that, with fresh connectionParams). The socket is closed
//     with 4403 the moment the token expires.
//  2. Each subscribe message is validated against the federated API schema and priced by demand
//     control. An operation subscribes to one root field; the supergraph names the subgraph
//     that owns it.
//  3. The gateway opens one WebSocket to that subgraph per client connection, carrying a signed
//     identity assertion (with the token's expiry) instead of the token, and relays results.
//     The selection must be served by that subgraph alone (no entity fields of others).
// Limits: at most MAX_SUBSCRIPTIONS_PER_CONNECTION at once per socket; a subgraph restart is
// bridged by reconnecting and resubscribing (events in the gap are not replayed: clients
// refetch the list); if the subgraph stays away, the subscription ends with SERVICE_UNAVAILABLE.
import { CloseCode, createClient, type Client, type ExecutionResult } from "graphql-ws";
import WebSocket from "ws";
import {
  GraphQLError,
  Kind,
  parse,
  print,
  type DocumentNode,
  type EnumTypeDefinitionNode,
  type GraphQLFormattedError,
  type GraphQLSchema,
  type ObjectTypeDefinitionNode,
  type ValidationRule,
} from "graphql";
import {
  SESSION_EXPIRED,
  graphqlOverWebSocket,
  isSubscription,
  onlyRootField,
  prepareOperation,
  type Logger,
  type Metrics,
  type Upstream,
} from "@pooya/runtime";
import { type Viewer } from "@pooya/identity";
import { AccessTokenError, bearerToken, type AccessTokenVerifier } from "./access-tokens.ts";
import { costRefusal, demandDirectivesOf, type DemandLimits } from "./demand-control.ts";
import { oversizedValue, type ValueLimits } from "./value-limits.ts";
import type { GatewayKeys } from "./keys.ts";
import type { GatewaySettings } from "./settings.ts";
import { unlistedDocumentRefusal } from "./trusted-documents.ts";

export const UNAUTHORIZED = {
  code: CloseCode.Unauthorized,
  reason: 'Unauthorized: send { "authorization": "Bearer <accessToken>" } in connection_init',
} as const;
export const BAD_TOKEN = {
  code: CloseCode.Unauthorized,
  reason: "Unauthorized: the access token is not valid",
} as const;
/** The token cannot be checked right now (its keys cannot be fetched): try again later. */
export const TRY_AGAIN_LATER = {
  code: 1013,
  reason: "Try again later: access tokens cannot be checked right now",
} as const;
export const TOO_MANY_CONNECTIONS = {
  code: 1013,
  reason: "Try again later: this gateway holds as many WebSockets as it serves",
} as const;

/** Which subgraph owns each root field of Subscription, from the supergraph's join directives. */
export function subscriptionOwners(supergraphSdl: string): Map<string, string> {
  const definitions = parse(supergraphSdl).definitions;
  const graphs = definitions.find(
    (d): d is EnumTypeDefinitionNode => d.kind === Kind.ENUM_TYPE_DEFINITION && d.name.value === "join__Graph",
  );
  const graphName = new Map(
    (graphs?.values ?? []).map((value) => {
      const name = value.directives
        ?.find((d) => d.name.value === "join__graph")
        ?.arguments?.find((a) => a.name.value === "name")?.value;
      return [value.name.value, name?.kind === Kind.STRING ? name.value : value.name.value.toLowerCase()] as const;
    }),
  );
  const graphOf = (directives: ObjectTypeDefinitionNode["directives"], directive: string) =>
    (directives ?? [])
      .filter((d) => d.name.value === directive)
      .map((d) => d.arguments?.find((a) => a.name.value === "graph")?.value)
      .flatMap((v) => (v?.kind === Kind.ENUM ? [graphName.get(v.value) ?? v.value] : []));
  const owners = new Map<string, string>();
  for (const definition of definitions) {
    if (definition.kind !== Kind.OBJECT_TYPE_DEFINITION || definition.name.value !== "Subscription") continue;
    const typeGraphs = graphOf(definition.directives, "join__type");
    for (const field of definition.fields ?? []) {
      const owner = graphOf(field.directives, "join__field")[0] ?? typeGraphs[0];
      if (owner) owners.set(field.name.value, owner);
    }
  }
  return owners;
}

/** ws with a handshake deadline and a bounded message size (the relay's upstream sockets). */
function timedWebSocket(handshakeTimeoutMs: number) {
  return class TimedWebSocket extends WebSocket {
    constructor(address: string | URL, protocols?: string | string[]) {
      super(address, protocols, { handshakeTimeout: handshakeTimeoutMs, maxPayload: 4 * 1024 * 1024 });
    }
  };
}

export interface SubscriptionGatewayOptions {
  supergraphSdl: string;
  /** The API schema once loaded (validation). */
  schema: () => GraphQLSchema;
  validationRules: readonly ValidationRule[];
  limits: DemandLimits & ValueLimits;
  accessTokens: AccessTokenVerifier;
  /** Signs the identity assertion for a subgraph socket (viewer, client address, token expiry). */
  signAssertion: (viewer: Viewer, clientIp: string, sessionExpiresAt: number) => Promise<string>;
  /** Each subgraph's GraphQL URL (http…/graphql). */
  subgraphUrl: (name: string) => string;
  maxSubscriptionsPerConnection: number;
  maxConnections: number;
  connectTimeoutMs: number;
  formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  log: Logger;
  metrics: Metrics;
  /** An error when this document may not run (trusted documents enforced), else undefined. */
  refuseDocument?: ((query: string) => GraphQLError | undefined) | undefined;
}

/** One client connection: who it is, its subgraph sockets, its subscriptions. */
interface Session {
  viewer: NonNullable<Viewer>;
  expiresAt: number;
  clientIp: string;
  upstreams: Map<string, Client>;
  active: number;
  expiry?: NodeJS.Timeout;
}

const unavailable = (subgraph: string) =>
  new GraphQLError(`The ${subgraph} service cannot be reached right now; subscribe again shortly.`, {
    extensions: { code: "SERVICE_UNAVAILABLE", retryAfterSeconds: 5 },
  });

/** The graphql-ws handler for the gateway's /graphql (GET upgrade). */
export function createSubscriptionGateway(options: SubscriptionGatewayOptions) {
  const { log } = options;
  const owners = subscriptionOwners(options.supergraphSdl);
  const demandDirectives = demandDirectivesOf(options.supergraphSdl);
  const UpstreamSocket = timedWebSocket(options.connectTimeoutMs);
  const sessions = new Set<Session>();
  let connections = 0;
  options.metrics.gauge(
    "websocket_connections",
    "GraphQL WebSocket connections open on this gateway",
    [] as const,
    (set) => set({}, connections),
  );
  options.metrics.gauge("subscriptions_active", "Subscriptions running on this gateway", [] as const, (set) => {
    let active = 0;
    for (const session of sessions) active += session.active;
    set({}, active);
  });

  function upstreamFor(session: Session, subgraph: string): Client {
    let client = session.upstreams.get(subgraph);
    if (client) return client;
    const url = options.subgraphUrl(subgraph).replace(/^http/, "ws");
    client = createClient({
      url,
      webSocketImpl: UpstreamSocket,
      lazy: true,
      lazyCloseTimeout: 1_000,
      keepAlive: 10_000,
      connectionAckWaitTimeout: options.connectTimeoutMs,
      // A fresh assertion per (re)connection: they live 60 s, the connection may live for hours.
      connectionParams: async () => ({
        identityAssertion: await options.signAssertion(session.viewer, session.clientIp, session.expiresAt),
      }),
      // The subgraph restarting: reconnect and resubscribe, for about 10 s.
      retryAttempts: 6,
      retryWait: (retries) => new Promise((resolve) => setTimeout(resolve, Math.min(4_000, 250 * 2 ** retries))),
      // …but not when the subgraph refused the identity or the session ended (the client's socket ends too).
      shouldRetry: (event) =>
        ![CloseCode.Unauthorized, CloseCode.Forbidden].includes((event as { code?: number })?.code as never),
      on: {
        error: (error) => log.debug({ subgraph, reason: (error as Error)?.message }, "subscription relay socket error"),
      },
    });
    session.upstreams.set(subgraph, client);
    return client;
  }

  async function* relay(
    session: Session,
    subgraph: string,
    document: DocumentNode,
    variables: Record<string, unknown> | undefined,
    operationName: string | undefined,
  ): AsyncGenerator<ExecutionResult> {
    const results = upstreamFor(session, subgraph).iterate({
      query: print(document),
      variables: variables ?? {},
      ...(operationName ? { operationName } : {}),
    });
    try {
      for await (const result of results) {
        yield {
          ...(result.data !== undefined ? { data: result.data } : {}),
          ...(result.errors
            ? {
                errors: result.errors.map(
                  (e) => new GraphQLError(e.message, { path: e.path, extensions: e.extensions }),
                ),
              }
            : {}),
        };
      }
    } catch (error) {
      if (Array.isArray(error)) {
        // The subgraph refused the operation (an error message): its errors, typed.
        yield {
          errors: (error as GraphQLFormattedError[]).map(
            (e) => new GraphQLError(e.message, { extensions: e.extensions }),
          ),
        };
      } else {
        log.warn(
          {
            subgraph,
            reason: (error as { reason?: string; message?: string })?.reason ?? (error as Error)?.message,
            code: (error as { code?: number })?.code,
          },
          "subscription relay ended",
        );
        yield { errors: [unavailable(subgraph)] };
      }
    } finally {
      await results.return?.();
    }
  }

  const handler = graphqlOverWebSocket<{ session: Session }>(
    {
      async onConnect(ctx) {
        const socket = ctx.extra.socket;
        const params = ctx.connectionParams ?? {};
        const authorization = params.authorization ?? params.Authorization;
        const refuse = (close: { code: number; reason: string }) => {
          socket.close(close.code, close.reason);
          return false;
        };
        if (connections >= options.maxConnections) return refuse(TOO_MANY_CONNECTIONS);
        const token = typeof authorization === "string" ? bearerToken(authorization) : undefined;
        if (!token) return refuse(UNAUTHORIZED);
        let verified;
        try {
          verified = await options.accessTokens.verify(token);
        } catch (error) {
          if (!(error instanceof AccessTokenError)) throw error;
          return refuse(
            error.reason === "expired"
              ? SESSION_EXPIRED
              : error.reason === "keys-unavailable"
                ? TRY_AGAIN_LATER
                : BAD_TOKEN,
          );
        }
        const session: Session = {
          viewer: verified.viewer,
          expiresAt: verified.expiresAt,
          clientIp: ctx.extra.request.ip,
          upstreams: new Map(),
          active: 0,
        };
        // The token's end is the connection's end; clients reconnect with a fresh token.
        session.expiry = setTimeout(
          () => socket.close(SESSION_EXPIRED.code, SESSION_EXPIRED.reason),
          verified.expiresAt * 1000 - Date.now(),
        );
        ctx.extra.session = session;
        sessions.add(session);
        connections += 1;
        return { expiresAt: new Date(verified.expiresAt * 1000).toISOString() };
      },
      onSubscribe(ctx, _id, payload) {
        const session = ctx.extra.session!;
        const refused = options.refuseDocument?.(payload.query);
        if (refused) return [refused];
        const prepared = prepareOperation(options.schema(), payload, options.validationRules);
        if (Array.isArray(prepared)) return prepared;
        const { document, args } = prepared;
        if (!isSubscription(document, payload.operationName)) {
          return [
            new GraphQLError(
              "This socket carries subscriptions; send queries and mutations over HTTP (POST /graphql).",
              { extensions: { code: "BAD_REQUEST" } },
            ),
          ];
        }
        const field = onlyRootField(document, payload.operationName);
        const owner = field ? owners.get(field) : undefined;
        if (!field || !owner)
          return [
            new GraphQLError("Subscribe to one field per operation (no fragments at the root).", {
              extensions: { code: "BAD_REQUEST" },
            }),
          ];
        if (session.active >= options.maxSubscriptionsPerConnection) {
          return [
            new GraphQLError(
              `At most ${options.maxSubscriptionsPerConnection} subscriptions run at once on one connection.`,
              { extensions: { code: "TOO_MANY_REQUESTS", retryAfterSeconds: 1 } },
            ),
          ];
        }
        const refusal =
          oversizedValue(options.limits, document, payload.variables) ??
          costRefusal(options.limits, {
            schema: args.schema,
            directives: demandDirectives,
            document,
            variables: payload.variables ?? undefined,
            operationName: payload.operationName,
          });
        if (refusal) return [refusal];
        session.active += 1;
        return { ...args, contextValue: { session, owner } };
      },
      subscribe: (args) => {
        const { session, owner } = args.contextValue as { session: Session; owner: string };
        return relay(session, owner, args.document, args.variableValues ?? undefined, args.operationName ?? undefined);
      },
      onComplete(ctx) {
        const session = ctx.extra.session;
        if (session && session.active > 0) session.active -= 1;
      },
      onClose(ctx) {
        const session = ctx.extra.session;
        if (!session) return;
        clearTimeout(session.expiry);
        for (const client of session.upstreams.values()) void client.dispose();
        sessions.delete(session);
        connections -= 1;
      },
    },
    { log, formatError: options.formatError },
  );

  return {
    handler,
    owners,
    get connections() {
      return connections;
    },
  };
}

/** The gateway's subscriptions: its settings, keys and subgraphs as the relay's options. */
export function startSubscriptions(
  settings: Pick<GatewaySettings, "supergraphSdl" | "subgraphUrls" | "limits" | "subscriptions" | "trustedDocuments">,
  parts: Pick<SubscriptionGatewayOptions, "schema" | "validationRules" | "formatError" | "log" | "metrics"> & {
    keys: GatewayKeys;
    upstreams: Map<string, Upstream>;
    documentHash: (text: string) => string;
  },
) {
  const { keys, upstreams } = parts;
  return createSubscriptionGateway({
    supergraphSdl: settings.supergraphSdl,
    schema: parts.schema,
    validationRules: parts.validationRules,
    limits: settings.limits,
    accessTokens: keys.accessTokens,
    signAssertion: (viewer, clientIp, sessionExpiresAt) =>
      keys.signIdentityAssertion(viewer, clientIp, sessionExpiresAt),
    subgraphUrl: (name) => settings.subgraphUrls[name] ?? upstreams.get(name)!.baseUrl,
    maxSubscriptionsPerConnection: settings.subscriptions.maxPerConnection,
    maxConnections: settings.subscriptions.maxConnections,
    connectTimeoutMs: Math.max(...[...upstreams.values()].map((u) => u.timeoutMs)),
    formatError: parts.formatError,
    log: parts.log,
    metrics: parts.metrics,
    refuseDocument: unlistedDocumentRefusal(settings.trustedDocuments, parts.documentHash),
  });
}
