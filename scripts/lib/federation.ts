// The whole federation wired together: four subgraphs and the gateway, in one process, talking
// over HTTP. `npm start` (scripts/lib/system.ts) and the test harness (e2e/src/harness.ts) both
// start it, so the tests exercise exactly the wiring users run.
import { readFileSync } from "node:fs";
import type { SigningKey } from "@pooya/platform";
import { startGateway, SUPERGRAPH_PATH, type GatewayConfig } from "@pooya/gateway";
import { startUsersService, type UsersServiceConfig } from "@pooya/users/src/service.ts";
import { startCoursesService } from "@pooya/courses/src/service.ts";
import { startAttendanceService } from "@pooya/attendance/src/service.ts";
import { startFoodService } from "@pooya/food/src/service.ts";

export const SERVICE_NAMES = ["users", "courses", "attendance", "food"] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

export interface FederationConfig {
  databaseUrls: Record<ServiceName, string>;
  /** Per service; 1 on embedded Postgres. */
  databasePoolSizes?: Partial<Record<ServiceName, number>>;
  host: string;
  /** 0 = any free port. The gateway's must be known up front: subgraphs fetch its JWKS. */
  ports: Record<ServiceName, number> & { gateway: number };
  serviceSecret: string;
  gatewayKey: SigningKey;
  users: Pick<UsersServiceConfig, "signingKeys" | "admin" | "tokenIssuer" | "tokenAudience">;
  attendancePollIntervalMs?: number;
  production?: boolean;
  corsOrigins?: GatewayConfig["corsOrigins"];
}

type Started<K extends ServiceName> = Awaited<ReturnType<
  K extends "users" ? typeof startUsersService : K extends "courses" ? typeof startCoursesService
    : K extends "attendance" ? typeof startAttendanceService : typeof startFoodService
>>;
export type RunningServices = { [K in ServiceName]: Started<K> };

export async function startFederation(config: FederationConfig) {
  const ports = { ...config.ports };
  const services = {} as RunningServices;
  const local = (port: number) => `http://127.0.0.1:${port}`;

  async function startService(name: ServiceName) {
    const common = {
      host: config.host,
      port: ports[name],
      databaseUrl: config.databaseUrls[name],
      databasePoolSize: config.databasePoolSizes?.[name],
      serviceSecret: config.serviceSecret,
      gatewayKeys: { jwksUrl: `${local(ports.gateway)}/.well-known/jwks.json` },
    };
    switch (name) {
      case "users":
        services.users = await startUsersService({ ...common, ...config.users });
        break;
      case "courses":
        services.courses = await startCoursesService({ ...common, usersUrl: services.users.url });
        break;
      case "attendance":
        services.attendance = await startAttendanceService({ ...common, coursesUrl: services.courses.url, pollIntervalMs: config.attendancePollIntervalMs });
        break;
      case "food":
        services.food = await startFoodService({ ...common, usersUrl: services.users.url });
        break;
    }
    ports[name] = Number(new URL(services[name].url).port); // a restart comes back on the same port
    return services[name];
  }

  const started: ServiceName[] = [];
  try {
    for (const name of SERVICE_NAMES) {
      await startService(name);
      started.push(name);
    }
    const gateway = await startGateway({
      port: ports.gateway,
      host: config.host,
      supergraphSdl: readFileSync(SUPERGRAPH_PATH, "utf8"),
      subgraphUrls: Object.fromEntries(SERVICE_NAMES.map((n) => [n, services[n].graphqlUrl])),
      accessTokens: {
        jwksUrl: services.users.jwksUrl,
        issuer: config.users.tokenIssuer ?? "pooya-users",
        audience: config.users.tokenAudience ?? "pooya-api",
      },
      signingKey: config.gatewayKey,
      production: config.production,
      corsOrigins: config.corsOrigins,
    });
    return {
      gateway,
      services,
      startService,
      stopService: (name: ServiceName) => services[name].stop(),
      async stop() {
        await gateway.stop().catch((e) => console.error(e));
        for (const name of [...SERVICE_NAMES].reverse()) await services[name].stop().catch((e) => console.error(e));
      },
    };
  } catch (error) {
    for (const name of started.reverse()) await services[name].stop().catch(() => undefined);
    throw error;
  }
}

export type Federation = Awaited<ReturnType<typeof startFederation>>;
