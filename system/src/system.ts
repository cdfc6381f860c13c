// `npm start`'s system: the federation on embedded Postgres unless *_DATABASE_URL point at real
// servers, every service configured through its own variables, generated keys kept in the data folder.
import { join } from "node:path";
import {
  ConfigError,
  createLogger,
  env,
  logDestination,
  projectDataDir,
  readEnv,
  LOG_LEVELS,
  NODE_ENVIRONMENTS,
  type EnvShape,
} from "@pooya/runtime";
import { startEmbeddedPostgres } from "./embedded-postgres.ts";
import { checkFederationEnv, startFederation } from "./federation.ts";
import { SUBGRAPHS, SUBGRAPH_NAMES, type SubgraphName } from "./registry.ts";

export const DEMO_ADMIN = { email: "admin@pooya.local", password: "pooya-admin-demo" };
const SEED_UNLIMITED = ["LOGIN_LIMIT_PER_CLIENT", "REGISTER_LIMIT_PER_CLIENT", "REFRESH_LIMIT_PER_CLIENT"];

const databaseVariable = (name: string) => `${name.toUpperCase()}_DATABASE_URL`;
const portVariable = (name: string) => `${name.toUpperCase()}_PORT`;

/** `npm start`'s own variables; each service's are read by its own schema on top. */
export function systemEnv(): EnvShape {
  return {
    PORT: env.port().default(4000).describe("`npm start`: the gateway's port"),
    HOST: env.text().default("127.0.0.1").describe("`npm start`: the address every service listens on"),
    ...Object.fromEntries(
      SUBGRAPHS.flatMap((s) => [
        [
          portVariable(s.name),
          env.port().default(s.defaultPort).describe(`\`npm start\`: the ${s.name} subgraph's port`),
        ],
        [
          databaseVariable(s.name),
          env
            .postgresUrl()
            .optional()
            .describe(
              `\`npm start\`: the ${s.name} service's database; unset: embedded Postgres in \`$POOYA_DATA_DIR/pglite/${s.name}\``,
            ),
        ],
      ]),
    ),
    POOYA_DATA_DIR: env
      .text()
      .default(projectDataDir())
      .meta({ defaultText: "`.data` in the project root" })
      .describe("`npm start`: embedded databases and the generated key files"),
    POOYA_SEED: env
      .boolean()
      .optional()
      .describe(
        "`npm start`: seed the demo term when the users database is empty; default: true on embedded Postgres, else false",
      ),
    POOYA_ADMIN_EMAIL: env
      .text()
      .optional()
      .describe("`npm start`: unset on embedded Postgres: the demo admin `admin@pooya.local`"),
    POOYA_ADMIN_PASSWORD: env
      .secret({ min: 8 })
      .optional()
      .describe("`npm start`: unset on embedded Postgres: `pooya-admin-demo`"),
    NODE_ENV: env.oneOf(NODE_ENVIRONMENTS).default("development").describe("see the services"),
    LOG_LEVEL: env
      .oneOf(LOG_LEVELS)
      .default("warn")
      .describe("`npm start`: warnings and errors only by default; `info` adds a line per request and per migration"),
    LOG_FORMAT: env
      .oneOf(["json", "pretty"] as const)
      .default("pretty")
      .describe("`npm start`: pretty unless set to json"),
  };
}

export interface SystemOptions {
  env?: NodeJS.ProcessEnv;
  print?: (line: string) => void;
}

export async function startSystem({ env: environment = process.env, print = console.log }: SystemOptions = {}) {
  const started = Date.now();
  // Every problem of npm start's variables and of every service's is reported in one go.
  const problems: string[] = [];
  const collect = (check: () => void) => {
    try {
      check();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(...error.problems);
    }
  };
  let settings = readEnv(systemEnv(), {});
  collect(() => {
    settings = readEnv(systemEnv(), environment);
  });
  const dataDir = settings.POOYA_DATA_DIR as string;
  const embedded = SUBGRAPH_NAMES.filter((name) => !settings[databaseVariable(name)]);
  const allEmbedded = embedded.length === SUBGRAPH_NAMES.length;
  const admin =
    settings.POOYA_ADMIN_EMAIL && settings.POOYA_ADMIN_PASSWORD
      ? { email: settings.POOYA_ADMIN_EMAIL as string, password: settings.POOYA_ADMIN_PASSWORD as string }
      : allEmbedded
        ? DEMO_ADMIN
        : undefined;
  const seed = (settings.POOYA_SEED as boolean | undefined) ?? allEmbedded;
  // One process, every service: one METRICS_PORT would be taken by the first service to start.
  if (environment.METRICS_PORT)
    problems.push(
      "METRICS_PORT: not for npm start (every service runs in this one process, each serving /metrics on its own port); set it per service where each runs as its own process",
    );
  if (seed && !admin)
    problems.push(
      "POOYA_SEED: seeding needs POOYA_ADMIN_EMAIL and POOYA_ADMIN_PASSWORD (the seed signs in as that STAFF account)",
    );

  const shared: NodeJS.ProcessEnv = {
    ...environment,
    HOST: settings.HOST as string,
    NODE_ENV: settings.NODE_ENV as string,
    LOG_LEVEL: settings.LOG_LEVEL as string,
    POOYA_DATA_DIR: dataDir,
    ...(admin ? { POOYA_ADMIN_EMAIL: admin.email, POOYA_ADMIN_PASSWORD: admin.password } : {}),
    // The demo seed registers and signs in hundreds of people from this machine, through the
    // gateway: per-client limits (unless set) are raised for a seeded demo system.
    ...(seed
      ? Object.fromEntries(SEED_UNLIMITED.filter((name) => !environment[name]).map((name) => [name, "1000000"]))
      : {}),
  };
  const perService = (databaseUrls: Partial<Record<SubgraphName, string>>) =>
    Object.fromEntries(
      SUBGRAPH_NAMES.map((name) => [
        name,
        {
          PORT: String(settings[portVariable(name)]),
          [databaseVariable(name)]: databaseUrls[name] ?? (settings[databaseVariable(name)] as string),
          // PGlite's socket server shares one session between its connections: one connection per pool.
          ...(embedded.includes(name) ? { DATABASE_POOL_SIZE: "1" } : {}),
        },
      ]),
    ) as unknown as Record<SubgraphName, NodeJS.ProcessEnv>;
  const gateway = { PORT: String(settings.PORT) };

  // Every service's variables are checked before any database starts or any key file is written.
  const placeholders = Object.fromEntries(embedded.map((name) => [name, "postgres://embedded@127.0.0.1:1/embedded"]));
  collect(() => checkFederationEnv({ env: shared, subgraphs: perService(placeholders), gateway }));
  if (problems.length) throw new ConfigError(problems);

  const destination = logDestination(settings.LOG_FORMAT as "json" | "pretty" | undefined);
  const logFor = (service: string) => createLogger({ service, level: settings.LOG_LEVEL as string, destination });
  const stopDatabases: (() => Promise<void>)[] = [];
  const stopAllDatabases = async () => {
    for (const stop of stopDatabases.reverse())
      await stop().catch((error) => logFor("system").error({ err: error }, "embedded Postgres did not stop"));
  };
  try {
    const databaseUrls: Partial<Record<SubgraphName, string>> = {};
    for (const name of embedded) {
      const pg = await startEmbeddedPostgres(join(dataDir, "pglite", name), { port: 0, maxConnections: 4 });
      stopDatabases.push(pg.stop);
      databaseUrls[name] = pg.url;
    }
    let stoppingDatabases = false;
    if (embedded.length) print(`embedded Postgres (PGlite) for ${embedded.join(", ")} in ${join(dataDir, "pglite")}`);
    const federation = await startFederation({ env: shared, subgraphs: perService(databaseUrls), gateway, logFor });
    return {
      gateway: federation.gateway,
      services: federation.services,
      admin,
      seed,
      embedded,
      readyInMs: Date.now() - started,
      /** How long stop() may take: the services' SHUTDOWN_TIMEOUT_MS. */
      shutdownTimeoutMs: federation.gateway.shutdownTimeoutMs,
      async stop() {
        await federation.stop();
        stoppingDatabases = true;
        await stopAllDatabases();
      },
      /** What stop() is waiting for. */
      stopping: () => federation.stopping() ?? (stoppingDatabases ? "embedded Postgres" : undefined),
    };
  } catch (error) {
    await stopAllDatabases();
    throw error;
  }
}

export type RunningSystem = Awaited<ReturnType<typeof startSystem>>;
