// The whole system in one process: four subgraphs and the gateway, on embedded Postgres
// unless *_DATABASE_URL point at real servers. Used by `npm start` and its end-to-end test.
import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { readFileSync } from "node:fs";
import { generateSigningKey } from "@pooya/platform";
import { startGateway, SUPERGRAPH_PATH } from "@pooya/gateway";
import { startUsersService } from "@pooya/users/src/service.ts";
import { startCoursesService } from "@pooya/courses/src/service.ts";
import { startAttendanceService } from "@pooya/attendance/src/service.ts";
import { startFoodService } from "@pooya/food/src/service.ts";
import { startEmbeddedPostgres, type EmbeddedPostgres } from "./embedded-postgres.ts";

export const SERVICES = ["users", "courses", "attendance", "food"] as const;
type Service = (typeof SERVICES)[number];

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
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch((e) => console.error(e));
  };
  try {
    const urls = {} as Record<Service, string>;
    const embedded: Service[] = [];
    for (const service of SERVICES) {
      const configured = env[`${service.toUpperCase()}_DATABASE_URL`];
      if (configured) {
        urls[service] = configured;
        continue;
      }
      const pg: EmbeddedPostgres = await startEmbeddedPostgres(join(dataDir, "pglite", service), { port: 0, maxConnections: 4 });
      stops.push(pg.stop);
      urls[service] = pg.url;
      embedded.push(service);
    }
    if (embedded.length) log(`embedded Postgres (PGlite) for ${embedded.join(", ")} in ${join(dataDir, "pglite")}`);

    const host = env.HOST ?? "127.0.0.1";
    const port = (name: string, fallback: number) => Number(env[name] ?? fallback);
    const gatewayPort = port("PORT", 4000);
    const local = (p: number) => `http://127.0.0.1:${p}`;
    const serviceSecret = env.POOYA_SERVICE_SECRET ?? (await loadOrCreateSecret(join(dataDir, "service-secret")));
    // PGlite's socket server shares one session between its connections: one connection per pool.
    const poolSize = (service: Service) => (embedded.includes(service) ? 1 : undefined);
    const common = { host, serviceSecret, gatewayKeys: { jwksUrl: `${local(gatewayPort)}/.well-known/jwks.json` } };
    const admin = env.POOYA_ADMIN_EMAIL && env.POOYA_ADMIN_PASSWORD
      ? { email: env.POOYA_ADMIN_EMAIL, password: env.POOYA_ADMIN_PASSWORD }
      : embedded.length === SERVICES.length ? DEMO_ADMIN : undefined;

    const users = await startUsersService({
      ...common, port: port("USERS_PORT", 4001), databaseUrl: urls.users, databasePoolSize: poolSize("users"), admin,
      signingKeys: { env: env.USERS_SIGNING_KEYS, file: join(dataDir, "keys", "users-signing-keys.json") },
    });
    stops.push(users.stop);
    const courses = await startCoursesService({ ...common, port: port("COURSES_PORT", 4002), databaseUrl: urls.courses, databasePoolSize: poolSize("courses"), usersUrl: users.url });
    stops.push(courses.stop);
    const attendance = await startAttendanceService({ ...common, port: port("ATTENDANCE_PORT", 4003), databaseUrl: urls.attendance, databasePoolSize: poolSize("attendance"), coursesUrl: courses.url });
    stops.push(attendance.stop);
    const food = await startFoodService({ ...common, port: port("FOOD_PORT", 4004), databaseUrl: urls.food, databasePoolSize: poolSize("food"), usersUrl: users.url });
    stops.push(food.stop);

    const gateway = await startGateway({
      port: gatewayPort,
      host,
      supergraphSdl: readFileSync(SUPERGRAPH_PATH, "utf8"),
      subgraphUrls: { users: users.graphqlUrl, courses: courses.graphqlUrl, attendance: attendance.graphqlUrl, food: food.graphqlUrl },
      accessTokens: { jwksUrl: users.jwksUrl, issuer: env.TOKEN_ISSUER ?? "pooya-users", audience: env.TOKEN_AUDIENCE ?? "pooya-api" },
      signingKey: await generateSigningKey(),
      production: env.NODE_ENV === "production",
      corsOrigins: env.CORS_ORIGINS ? env.CORS_ORIGINS.split(",").map((o) => o.trim()) : "*",
    });
    stops.push(gateway.stop);

    return { gateway, services: { users, courses, attendance, food }, admin, embedded, readyInMs: Date.now() - started, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
