// A subgraph is defined by one declarative object: its name and port, whom it calls (each callee's
// URL, call settings and the service identity it signs with), the internal routes it serves,
// its own variables, the events it produces, its schema and migrations, and a lazily loaded
// wiring (its domain objects, context and routes). The kit owns the rest: configuration,
// migrations, the database, metrics, the outbox and its producer, the broker, the HTTP edge,
// readiness, and an ordered shutdown (a stack: what started last stops first).
import { fileURLToPath } from "node:url";
import type { FastifyInstance } from "fastify";
import type { PrismaPg } from "@prisma/adapter-pg";
import {
  callSettings,
  callVariables,
  checkDatabaseVariables,
  env,
  subgraphVariables,
  serviceUrlVariable,
  type EnvShape,
  type EnvValues,
} from "@pooya/runtime";
import { TRANSACTION_OPTIONS, connectDatabase, retryTransientReads } from "./database.ts";
import {
  brokerFor,
  createOutbox,
  eventSettings,
  INBOX_TABLES_DDL,
  OUTBOX_TABLES_DDL,
  eventVariables,
  startEventProducer,
  type Broker,
  type EventCatalog,
  type EventSettings,
  type Outbox,
  type SqlRunner,
} from "@pooya/events";
import type { Caller, Viewer } from "@pooya/identity";
import type { Logger } from "@pooya/runtime";
import { createMetrics, type Metrics } from "@pooya/runtime";
import { applyMigrations } from "./migrations.ts";
import { ShutdownStack, defineService, type RunningService, type ServiceDescriptor } from "@pooya/runtime";
import { type InternalRoute } from "@pooya/runtime";
import {
  callerUrls,
  callerVariables,
  loadServiceIdentity,
  serviceIdentityVariables,
  type ServiceIdentity,
} from "@pooya/identity";
import { serveSubgraph, subgraphSettings, type SubgraphSettings } from "./subgraph.ts";
import type { Policies } from "./authorization.ts";
import { createUpstream, type Upstream } from "@pooya/runtime";

/** What the kit needs of a generated Prisma client. */
export interface PrismaClientLike {
  $disconnect(): Promise<void>;
  $transaction(...args: never[]): Promise<unknown>;
}

/** A generated PrismaClient class. */
export type PrismaClientClass<P extends PrismaClientLike> = new (options: {
  adapter: PrismaPg;
  log: { emit: "event"; level: "query" }[];
}) => P;

/** A subgraph's database: its Prisma client on a pg pool, statements counted, transient reads retried once. */
export type SubgraphDatabase<P extends PrismaClientLike> = ReturnType<typeof connectDatabase<P>>;

/** The database of a generated PrismaClient class (`DatabaseOf<typeof PrismaClient>`). */
export type DatabaseOf<C> = C extends PrismaClientClass<infer P> ? SubgraphDatabase<P> : never;

/** The interactive-transaction client of a database's Prisma client. */
export type TransactionOf<D extends { prisma: PrismaClientLike }> = Parameters<
  Parameters<D["prisma"]["$transaction"]>[0]
>[0];

/** Connects a generated Prisma client the way every subgraph does. */
export function connectSubgraphDatabase<P extends PrismaClientLike>(
  Client: PrismaClientClass<P>,
  databaseUrl: string,
  options: { poolSize: number; log: Logger },
): SubgraphDatabase<P> {
  return connectDatabase(databaseUrl, options, (adapter, countStatement) => {
    const prisma = new Client({ adapter, log: [{ emit: "event", level: "query" }] });
    (prisma as unknown as { $on(event: "query", listener: () => void): void }).$on("query", countStatement);
    // A query extension: the client's API (and so its type) stays the generated one.
    return (prisma as unknown as { $extends(extension: typeof retryTransientReads): P }).$extends(retryTransientReads);
  });
}

/** What the kit hands a subgraph's wiring. */
export interface SubgraphParts<P extends PrismaClientLike, S extends EnvShape> {
  name: string;
  /** Every variable of the service, typed by its own ones. */
  vars: EnvValues<S>;
  settings: SubgraphSettings;
  log: Logger;
  metrics: Metrics;
  db: SubgraphDatabase<P>;
  /** An interactive transaction with the project's wait and time limits. */
  transaction<R>(work: (tx: TransactionOf<SubgraphDatabase<P>>) => Promise<R>): Promise<R>;
  /** Its outbox (events commit with the writes of `tx`); a subgraph that produces events uses it. */
  outbox: Outbox<TransactionOf<SubgraphDatabase<P>> & SqlRunner>;
  events: EventSettings;
  broker: Broker | undefined;
  /** The signing identity of its calls (a service that calls others has one). */
  identity: ServiceIdentity;
  /** The client for a service it calls (declared in `calls`). */
  upstream(callee: string): Upstream;
  /** Stops `stop` at shutdown before everything started earlier. */
  onStop(name: string, stop: () => unknown): void;
}

/** What a subgraph's wiring gives the kit. */
export interface SubgraphServing<C extends { viewer: Viewer }, X> {
  /** A fresh context per request (DataLoaders live here) for the verified caller. */
  context(caller: Caller): C;
  /** Its own HTTP routes (internal endpoints, key sets). */
  routes?(app: FastifyInstance): void;
  /** More readiness details (reported, not required); `events` joins the producer's. */
  readiness?(): Record<string, unknown>;
  /** Once it listens (e.g. event consumers, whose sources verify it with the keys it publishes); may call onStop. */
  listening?(parts: Pick<SubgraphParts<never, EnvShape>, "onStop">): void;
  /** What the running service exposes beyond its URLs (tests read it). */
  expose?(service: { url: string }): X;
}

export interface SubgraphWiring<P extends PrismaClientLike, S extends EnvShape, C extends { viewer: Viewer }, X> {
  client: PrismaClientClass<P>;
  /** Typed where they are written (generated `Resolvers` from schema.graphql); any resolver map here. */
  resolvers: object;
  /** The named policies its schema's @policy directives name. */
  policies?: Policies<C>;
  wire(parts: SubgraphParts<P, S>): Promise<SubgraphServing<C, X>> | SubgraphServing<C, X>;
}

/** Nothing beyond what every subgraph has (no own variables, nothing more exposed). */
type NoExtras = Record<never, never>;

/** A subgraph's wiring (its wiring module's default export); `env` types `vars`, the kit reads them all. */
export function wireSubgraph<
  P extends PrismaClientLike,
  C extends { viewer: Viewer },
  X = NoExtras,
  S extends EnvShape = NoExtras,
>(
  options: { client: PrismaClientClass<P>; resolvers: object; policies?: Policies<C>; env?: S },
  wire: SubgraphWiring<P, S, C, X>["wire"],
): SubgraphWiring<P, S, C, X> {
  return { client: options.client, resolvers: options.resolvers, policies: options.policies, wire };
}

export interface SubgraphDefinition<N extends string, S extends EnvShape, X> {
  name: N;
  /** Its default PORT. */
  port: number;
  /** The services it calls, each with what for (the description of its `<NAME>_URL`). */
  calls?: Readonly<Record<string, string>>;
  /** The internal routes it serves, and which services may call each. */
  internalRoutes?: readonly InternalRoute[];
  /** Its own variables (the common ones, callee URLs, call settings and event variables come from the kit). */
  env?: S;
  /** Problems that involve several of its variables ("NAME: what is wrong"). */
  check?: (vars: EnvValues<S>) => string[];
  /** The domain events it publishes (its catalogue): an outbox, its feed and, with NATS, a relay. */
  produces?: EventCatalog;
  /** The services whose events it consumes (it keeps an inbox and a cursor per source). */
  consumes?: readonly string[];
  /** Where it publishes the access-token keys (the one service that issues tokens). */
  accessTokenKeys?: string;
  /**
   * `import.meta.url` of the definition (src/index.ts, or its chunk in dist/ at the same depth): its SDL is
   * `../schema.graphql` from there, its committed Prisma migrations `../prisma/migrations`.
   */
  source: string;
  /** Serves subscriptions over WebSocket (for the gateway's relay). */
  subscriptions?: boolean;
  /** Its wiring module, loaded at start (after tracing). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- typed where the wiring is written (wireSubgraph); loaded lazily here
  wiring: () => Promise<{ default: SubgraphWiring<any, any, any, X> }>;
}

type SubgraphEnv<N extends string, S extends EnvShape> = ReturnType<typeof subgraphVariables<N>> & S;

export type RunningSubgraph<X> = Awaited<ReturnType<typeof serveSubgraph>> & X & RunningService;

/** The variables of a subgraph, in the order the docs list them. */
function subgraphEnv(definition: SubgraphDefinition<string, EnvShape, unknown>): EnvShape {
  const callees = Object.keys(definition.calls ?? {});
  return {
    ...subgraphVariables(definition.name, definition.port),
    ...Object.fromEntries(
      Object.entries(definition.calls ?? {}).map(([callee, what]) => [
        serviceUrlVariable(callee),
        env.httpUrl().describe(what),
      ]),
    ),
    ...definition.env,
    ...(callees.length ? { ...callVariables(callees), ...serviceIdentityVariables(definition.name) } : {}),
    ...callerVariables(definition.internalRoutes ?? []),
    ...eventVariables(),
  };
}

export function defineSubgraph<const N extends string, S extends EnvShape = NoExtras, X = NoExtras>(
  definition: SubgraphDefinition<N, S, X>,
): ServiceDescriptor<SubgraphEnv<N, S>, RunningSubgraph<X>, N> {
  const { name } = definition;
  const callees = Object.keys(definition.calls ?? {});
  const publishes = {
    ...(definition.accessTokenKeys ? { accessTokenKeys: definition.accessTokenKeys } : {}),
    ...(definition.produces ? { events: definition.produces } : {}),
  };
  return defineService({
    name,
    defaultPort: definition.port,
    calls: callees,
    ...(definition.internalRoutes ? { internalRoutes: definition.internalRoutes } : {}),
    env: subgraphEnv(definition as unknown as SubgraphDefinition<string, EnvShape, unknown>) as SubgraphEnv<N, S>,
    check: (vars) => [...checkDatabaseVariables(name)(vars), ...(definition.check?.(vars) ?? [])],
    ...(Object.keys(publishes).length ? { publishes } : {}),
    async start(vars, { log }) {
      const { default: wiring } = await definition.wiring();
      return startSubgraph(
        definition as unknown as SubgraphDefinition<string, EnvShape, unknown>,
        wiring,
        vars as Record<string, unknown>,
        log,
      ) as Promise<RunningSubgraph<X>>;
    },
  });
}

async function startSubgraph(
  definition: SubgraphDefinition<string, EnvShape, unknown>,
  wiring: SubgraphWiring<PrismaClientLike, EnvShape, { viewer: Viewer }, unknown>,
  vars: Record<string, unknown>,
  log: Logger,
) {
  const { name } = definition;
  const stack = new ShutdownStack();
  try {
    const settings = subgraphSettings(name, vars);
    await applyMigrations(
      settings.databaseUrl,
      fileURLToPath(new URL("../prisma/migrations", definition.source)),
      log,
      // The shared event tables, defined once in @pooya/events: an outbox for a producer, an
      // inbox and cursors for a consumer.
      (definition.produces ? OUTBOX_TABLES_DDL : "") + (definition.consumes?.length ? INBOX_TABLES_DDL : "") ||
        undefined,
    );
    const db = connectSubgraphDatabase(wiring.client, settings.databaseUrl, {
      poolSize: settings.databasePoolSize,
      log,
    });
    stack.push("database", () => db.close());
    const metrics = createMetrics(name);
    const callees = Object.keys(definition.calls ?? {});
    const identity = callees.length ? await loadServiceIdentity(name, vars) : undefined;
    const upstreams = new Map<string, Upstream>();
    for (const callee of callees) {
      const upstream = createUpstream({
        ...callSettings(vars, callee, vars[serviceUrlVariable(callee)] as string),
        log,
        metrics,
      });
      upstreams.set(callee, upstream);
      stack.push(`calls to ${callee}`, () => upstream.close());
    }
    const events = eventSettings(vars);
    const broker = brokerFor(name, events, log);
    if (broker) stack.push("broker", () => broker.close());
    const transaction = <R>(work: (tx: never) => Promise<R>) =>
      db.prisma.$transaction(work as never, TRANSACTION_OPTIONS as never) as Promise<R>;
    const outbox = createOutbox<SqlRunner>({
      source: name,
      pool: db.pool,
      transaction: transaction as unknown as Outbox<SqlRunner>["transaction"],
    });
    const producer = definition.produces
      ? startEventProducer({ service: name, outbox, pool: db.pool, broker, settings: events, log, metrics })
      : undefined;
    if (producer) stack.push("event relay", () => producer.stop());
    const onStop = (step: string, stop: () => unknown) => stack.push(step, stop);

    const serving = await wiring.wire({
      name,
      vars,
      settings,
      log,
      metrics,
      db,
      transaction,
      outbox: outbox as never,
      events,
      broker,
      get identity(): ServiceIdentity {
        if (!identity) throw new Error(`${name} calls no service: it has no service identity`);
        return identity;
      },
      upstream(callee) {
        const upstream = upstreams.get(callee);
        if (!upstream) throw new Error(`${name} does not declare ${callee} in its calls`);
        return upstream;
      },
      onStop,
    });

    const service = await serveSubgraph({
      name,
      settings,
      log,
      metrics,
      schema: new URL("../schema.graphql", definition.source),
      resolvers: wiring.resolvers,
      policies: wiring.policies as Policies<never>,
      ...(identity ? { identity } : {}),
      ...(definition.subscriptions ? { subscriptions: true } : {}),
      ...(definition.internalRoutes
        ? { internalRoutes: definition.internalRoutes, callerUrls: callerUrls(definition.internalRoutes, vars) }
        : {}),
      db,
      createContext: (_viewer, caller) => serving.context(caller),
      routes(app) {
        producer?.routes(app);
        serving.routes?.(app);
      },
      readinessDetails() {
        const details = serving.readiness?.() ?? {};
        const own = details.events as Record<string, unknown> | undefined;
        const events = producer ? { ...producer.status(), ...own } : own;
        return { ...details, ...(events ? { events } : {}) };
      },
    });
    stack.push("HTTP", () => service.stop());
    // Held-open feed reads answer at once, before the HTTP drain waits for them.
    if (producer) stack.push("event feed", () => producer.closeFeed());
    serving.listening?.({ onStop });
    return { ...service, ...(serving.expose?.(service) as object | undefined), stop: () => stack.unwind() };
  } catch (error) {
    await stack.unwind().catch(() => undefined);
    throw error;
  }
}
