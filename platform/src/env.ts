// Reading configuration from the environment, failing early with the variable's name.
export function requireEnv(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

export function portFromEnv(name: string, fallback: number, env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`${name} must be a port number`);
  return port;
}

/** Runs `stop` on SIGINT/SIGTERM once, then exits. */
export function stopOnSignals(stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    stop()
      .then(() => process.exit(0))
      .catch((error) => {
        console.error(`stopping after ${signal} failed`, error);
        process.exit(1);
      });
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
}

/** The settings every subgraph reads from its environment (see docs/operations.md). */
export function subgraphConfigFromEnv(service: string, defaultPort: number, env: NodeJS.ProcessEnv = process.env) {
  return {
    databaseUrl: requireEnv(`${service.toUpperCase()}_DATABASE_URL`, env),
    databasePoolSize: env.DATABASE_POOL_SIZE ? Number(env.DATABASE_POOL_SIZE) : undefined,
    port: portFromEnv("PORT", defaultPort, env),
    host: env.HOST ?? "0.0.0.0",
    gatewayKeys: { jwksUrl: requireEnv("GATEWAY_JWKS_URL", env) },
    serviceSecret: requireEnv("POOYA_SERVICE_SECRET", env),
  };
}
