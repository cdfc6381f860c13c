// `npm start`'s system: the federation on embedded Postgres unless *_DATABASE_URL point at
// real servers, configured from the environment, secrets kept in the data folder.
import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { generateSigningKey } from "@pooya/platform";
import { startEmbeddedPostgres } from "./embedded-postgres.ts";
import { SERVICE_NAMES, startFederation, type ServiceName } from "./federation.ts";

export const SERVICES = SERVICE_NAMES;
export const DEMO_ADMIN = { email: "admin@pooya.local", password: "pooya-admin-demo" };

async function loadOrCreateSecret(file: string): Promise<string> {
  try {
    return (await readFile(file, "utf8")).trim();
  } catch {
    const secret = randomBytes(32).toString("base64url");
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    await writeFile(file, secret + "\n", { mode: 0o600 });
    return secret;
  }
}

export interface SystemOptions {
  env?: NodeJS.ProcessEnv;
  dataDir: string;
  log?: (line: string) => void;
}

export async function startSystem({ env = process.env, dataDir, log = console.log }: SystemOptions) {
  const started = Date.now();
  const stopDatabases: (() => Promise<void>)[] = [];
  const stopAllDatabases = async () => {
    for (const stop of stopDatabases.reverse()) await stop().catch((e) => console.error(e));
  };
  try {
    const databaseUrls = {} as Record<ServiceName, string>;
    const embedded: ServiceName[] = [];
    for (const service of SERVICE_NAMES) {
      const configured = env[`${service.toUpperCase()}_DATABASE_URL`];
      if (configured) {
        databaseUrls[service] = configured;
        continue;
      }
      const pg = await startEmbeddedPostgres(join(dataDir, "pglite", service), { port: 0, maxConnections: 4 });
      stopDatabases.push(pg.stop);
      databaseUrls[service] = pg.url;
      embedded.push(service);
    }
    if (embedded.length) log(`embedded Postgres (PGlite) for ${embedded.join(", ")} in ${join(dataDir, "pglite")}`);

    const port = (name: string, fallback: number) => Number(env[name] ?? fallback);
    const admin = env.POOYA_ADMIN_EMAIL && env.POOYA_ADMIN_PASSWORD
      ? { email: env.POOYA_ADMIN_EMAIL, password: env.POOYA_ADMIN_PASSWORD }
      : embedded.length === SERVICE_NAMES.length ? DEMO_ADMIN : undefined;
    const federation = await startFederation({
      databaseUrls,
      // PGlite's socket server shares one session between its connections: one connection per pool.
      databasePoolSizes: Object.fromEntries(embedded.map((s) => [s, 1])),
      host: env.HOST ?? "127.0.0.1",
      ports: {
        gateway: port("PORT", 4000),
        users: port("USERS_PORT", 4001),
        courses: port("COURSES_PORT", 4002),
        attendance: port("ATTENDANCE_PORT", 4003),
        food: port("FOOD_PORT", 4004),
      },
      serviceSecret: env.POOYA_SERVICE_SECRET ?? (await loadOrCreateSecret(join(dataDir, "service-secret"))),
      gatewayKey: await generateSigningKey(),
      users: {
        admin,
        signingKeys: { env: env.USERS_SIGNING_KEYS, file: join(dataDir, "keys", "users-signing-keys.json") },
        tokenIssuer: env.TOKEN_ISSUER,
        tokenAudience: env.TOKEN_AUDIENCE,
      },
      attendancePollIntervalMs: env.ENROLLMENT_POLL_INTERVAL_MS ? Number(env.ENROLLMENT_POLL_INTERVAL_MS) : undefined,
      production: env.NODE_ENV === "production",
      corsOrigins: env.CORS_ORIGINS ? env.CORS_ORIGINS.split(",").map((o) => o.trim()) : "*",
    });
    return {
      gateway: federation.gateway,
      services: federation.services,
      admin,
      embedded,
      readyInMs: Date.now() - started,
      async stop() {
        await federation.stop();
        await stopAllDatabases();
      },
    };
  } catch (error) {
    await stopAllDatabases();
    throw error;
  }
}
