// Configuration from the environment, validated once at start: every variable is typed,
// defaulted and documented where its service declares it; all problems are reported together,
// each naming its variable, and a secret's value is never echoed.
import { z } from "zod";

/** A service's variables by name. Each is a zod schema from string to its typed value, with a description. */
export type EnvShape = Record<string, z.ZodType<unknown, string | undefined>>;
export type EnvValues<S extends EnvShape> = { [K in keyof S]: z.output<S[K]> };

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(
      `${problems.length} configuration problem${problems.length === 1 ? "" : "s"}:\n${problems.map((p) => `  ${p}`).join("\n")}`,
    );
    this.problems = problems;
  }
}

/** Reads and checks the variables of `shape` from `env`; an empty string counts as unset. */
export function readEnv<S extends EnvShape>(shape: S, env: NodeJS.ProcessEnv = process.env): EnvValues<S> {
  const input: Record<string, string> = {};
  for (const name of Object.keys(shape)) {
    const value = env[name];
    if (value !== undefined && value !== "") input[name] = value;
  }
  const result = z.object(shape).safeParse(input);
  if (result.success) return result.data as EnvValues<S>;
  throw new ConfigError(result.error.issues.map((issue) => `${String(issue.path[0] ?? "?")}: ${issue.message}`));
}

/** Several services' variables at once, so that a start reports every problem in one go. */
export function readAll<T extends Record<string, () => unknown>>(readers: T): { [K in keyof T]: ReturnType<T[K]> } {
  const problems: string[] = [];
  const values: Record<string, unknown> = {};
  for (const [key, read] of Object.entries(readers)) {
    try {
      values[key] = read();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(...error.problems.map((p) => (Object.keys(readers).length > 1 ? `[${key}] ${p}` : p)));
    }
  }
  if (problems.length) throw new ConfigError(problems);
  return values as { [K in keyof T]: ReturnType<T[K]> };
}

/** What a variable is, for the documentation table (docs/configuration.md is generated from this). */
export interface VariableDoc {
  name: string;
  required: boolean;
  /** The default as a value (shown as code), or described in words (`defaultText`). */
  defaultValue: string | undefined;
  defaultText?: string;
  description: string;
}

export function describeEnv(shape: EnvShape): VariableDoc[] {
  return Object.entries(shape).map(([name, schema]) => {
    const description = schema.description ?? "";
    const defaultText = (schema.meta() as { defaultText?: string } | undefined)?.defaultText;
    if (defaultText) return { name, required: false, defaultValue: undefined, defaultText, description };
    if (schema instanceof z.ZodDefault) {
      const value = schema.def.defaultValue as unknown;
      return {
        name,
        required: false,
        defaultValue: Array.isArray(value) ? value.join(",") : String(value),
        description,
      };
    }
    return { name, required: !(schema instanceof z.ZodOptional), defaultValue: undefined, description };
  });
}

// ---- variable kinds, each with a message that says what is expected -------------------------

function variable<T>(parse: (raw: string) => T, options: { secret?: boolean } = {}) {
  return z.string().transform((raw, ctx): T => {
    try {
      return parse(raw);
    } catch (error) {
      const got = options.secret ? "" : ` (got ${JSON.stringify(raw.length > 80 ? `${raw.slice(0, 80)}…` : raw)})`;
      ctx.addIssue({ code: "custom", message: `${(error as Error).message}${got}` });
      return z.NEVER;
    }
  });
}

const problem = (message: string) => new Error(message);

/** `raw` when it is a URL of one of `protocols` naming a host; else "must be `expected`". */
function serverUrl(raw: string, protocols: string[], expected: string): string {
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    // reported below
  }
  if (!url || !protocols.includes(url.protocol) || !url.hostname) throw problem(`must be ${expected}`);
  return raw;
}

export const env = {
  integer: ({ min, max }: { min: number; max: number }) =>
    variable((raw) => {
      const n = Number(raw.trim());
      if (!/^-?\d+$/.test(raw.trim()) || n < min || n > max)
        throw problem(`must be a whole number from ${min} to ${max}`);
      return n;
    }),

  port: () =>
    variable((raw) => {
      const n = Number(raw.trim());
      if (!/^\d+$/.test(raw.trim()) || n > 65535) throw problem("must be a port number from 0 to 65535");
      return n;
    }),

  /** An http(s) base URL such as http://host:4001. */
  httpUrl: () =>
    variable((raw) => {
      let url: URL;
      try {
        url = new URL(raw.trim());
      } catch {
        throw problem("must be an http:// or https:// URL such as http://host:4001");
      }
      if (url.protocol !== "http:" && url.protocol !== "https:")
        throw problem("must be an http:// or https:// URL such as http://host:4001");
      return url.toString().replace(/\/$/, "");
    }),

  /** NATS server URLs, comma-separated (nats://host:4222); credentials in a URL are never echoed. */
  natsUrls: () =>
    variable(
      (raw) => {
        const expected = "one or more nats:// URLs such as nats://host:4222, comma-separated";
        const urls = raw
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean);
        if (urls.length === 0) throw problem(`must be ${expected}`);
        for (const url of urls) serverUrl(url, ["nats:", "tls:", "ws:", "wss:"], expected);
        return urls.join(",");
      },
      { secret: true },
    ),

  /** An SMTP server URL (smtp:// or smtps://); it may hold a password, so its value is never echoed. */
  smtpUrl: () =>
    variable(
      (raw) =>
        serverUrl(
          raw.trim(),
          ["smtp:", "smtps:"],
          "an smtp:// or smtps:// URL such as smtp://user:password@host:587 (URL-encode special characters)",
        ),
      { secret: true },
    ),

  /** A Postgres connection URL; it may hold a password, so its value is never echoed. */
  postgresUrl: () =>
    variable(
      (raw) => {
        let url: URL;
        try {
          url = new URL(raw.trim());
        } catch {
          throw problem(
            "must be a postgres:// URL (postgres://user:password@host:5432/database; URL-encode special characters in the password)",
          );
        }
        if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") throw problem("must be a postgres:// URL");
        if (!url.hostname) throw problem("must name a host (postgres://user:password@host:5432/database)");
        return raw.trim();
      },
      { secret: true },
    ),

  secret: ({ min }: { min: number }) =>
    variable(
      (raw) => {
        if (raw.length < min) throw problem(`must be at least ${min} characters`);
        return raw;
      },
      { secret: true },
    ),

  text: ({ max = 500 }: { max?: number } = {}) =>
    variable((raw) => {
      if (raw.length > max) throw problem(`must be at most ${max} characters`);
      return raw;
    }),

  /** Text that matches `pattern` (`expected` says how, in words). */
  matching: (pattern: RegExp, expected: string) =>
    variable((raw) => {
      const value = raw.trim();
      if (!pattern.test(value)) throw problem(`must be ${expected}`);
      return value;
    }),

  oneOf: <const T extends string>(values: readonly T[]) =>
    variable((raw): T => {
      const value = raw.trim() as T;
      if (!values.includes(value)) throw problem(`must be one of ${values.join(", ")}`);
      return value;
    }),

  boolean: () =>
    variable((raw) => {
      const value = raw.trim().toLowerCase();
      if (["true", "1", "yes", "on"].includes(value)) return true;
      if (["false", "0", "no", "off"].includes(value)) return false;
      throw problem("must be true or false");
    }),

  /** Comma-separated values. */
  list: () =>
    variable((raw) =>
      raw
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean),
    ),

  /** JSON checked against `schema`; secret by default (it usually holds keys). */
  json: <T>(schema: z.ZodType<T>, expected: string, { secret = true }: { secret?: boolean } = {}) =>
    variable(
      (raw) => {
        let value: unknown;
        try {
          value = JSON.parse(raw);
        } catch {
          throw problem(`must be JSON: ${expected}`);
        }
        const checked = schema.safeParse(value);
        if (!checked.success) throw problem(`must be ${expected}`);
        return checked.data;
      },
      { secret },
    ),
};

export const NODE_ENVIRONMENTS = ["development", "production", "test"] as const;
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/** What every process reads: where it listens, how it logs, how long it may take to stop. */
export function processVariables(defaultPort: number) {
  return {
    PORT: env.port().default(defaultPort).describe("listening port"),
    HOST: env.text().default("0.0.0.0").describe("listening address"),
    REUSE_PORT: env
      .boolean()
      .default(false)
      .describe(
        "`true`: listen with SO_REUSEPORT (Linux), so a supervisor can start the new process on the port, wait for its /readyz, then stop the old one: a restart without a moment when nothing listens. Off by default: a second copy started by mistake fails with EADDRINUSE instead of sharing the port",
      ),
    NODE_ENV: env
      .oneOf(NODE_ENVIRONMENTS)
      .default("development")
      .describe("`production`: JSON logs by default, no Sandbox, no introspection, no suggestions in errors"),
    LOG_LEVEL: env.oneOf(LOG_LEVELS).default("info").describe("least severe log level written"),
    LOG_FORMAT: env
      .oneOf(["json", "pretty"] as const)
      .optional()
      .describe("`json` (one object per line) or `pretty` (for a terminal); default: json, pretty under `npm start`"),
    SHUTDOWN_TIMEOUT_MS: env
      .integer({ min: 100, max: 600_000 })
      .default(10_000)
      .describe("after SIGTERM, the process exits within this time whatever its clients do"),
    METRICS_PORT: env
      .port()
      .optional()
      .describe(
        "serve GET /metrics on this port, on a listener of its own, and not on `PORT` (the Kubernetes manifests set it, so a NetworkPolicy can let monitoring reach the metrics and nothing else); unset: on `PORT`",
      ),
    METRICS_ALLOW_FROM: env
      .list()
      .default(["loopback", "uniquelocal"])
      .describe(
        "client addresses or CIDRs that may read GET /metrics (`loopback`, `uniquelocal` = the private ranges, `linklocal` also accepted); others get 404",
      ),
    KEYS_REFRESH_MS: env
      .integer({ min: 100, max: 86_400_000 })
      .default(600_000)
      .describe(
        "how old fetched token keys may get before they are refreshed in the background (kept, whatever their age, while they cannot be fetched)",
      ),
  };
}

/** Problems among the process variables (each "NAME: what is wrong"). */
export function checkProcessVariables(vars: Record<string, unknown>): string[] {
  const { PORT: port, METRICS_PORT: metricsPort } = vars;
  // With SO_REUSEPORT the two listeners would even share one port, each taking some requests.
  if (typeof metricsPort === "number" && metricsPort !== 0 && metricsPort === port)
    return ["METRICS_PORT: must differ from PORT (unset it to serve /metrics on PORT)"];
  return [];
}

/** How a service calls others: timeouts, pool size, circuit breaker; `<NAME>_…` overrides per called service. */
export function callVariables(callees: readonly string[]) {
  const perCallee: Record<string, z.ZodOptional<ReturnType<typeof env.integer>>> = {};
  for (const callee of callees) {
    const prefix = callee.toUpperCase();
    perCallee[`${prefix}_CONNECT_TIMEOUT_MS`] = env
      .integer({ min: 10, max: 60_000 })
      .optional()
      .describe(`CALL_CONNECT_TIMEOUT_MS for calls to ${callee}`);
    perCallee[`${prefix}_TIMEOUT_MS`] = env
      .integer({ min: 50, max: 300_000 })
      .optional()
      .describe(`CALL_TIMEOUT_MS for calls to ${callee}`);
  }
  return {
    CALL_CONNECT_TIMEOUT_MS: env
      .integer({ min: 10, max: 60_000 })
      .default(1_000)
      .describe("time to connect to a called service"),
    CALL_TIMEOUT_MS: env
      .integer({ min: 50, max: 300_000 })
      .default(3_000)
      .describe("time for a whole call to another service, retries included; then its fields answer GATEWAY_TIMEOUT"),
    CALL_MAX_SOCKETS: env
      .integer({ min: 1, max: 10_000 })
      .default(64)
      .describe("keep-alive connections kept to each called service at most"),
    BREAKER_FAILURE_PERCENT: env
      .integer({ min: 1, max: 99 })
      .default(50)
      .describe(
        "a called service's circuit breaker opens when more than this share (%) of the calls in `BREAKER_WINDOW_MS` failed (errors, timeouts, 5xx), once there were `BREAKER_MIN_CALLS`",
      ),
    BREAKER_MIN_CALLS: env
      .integer({ min: 1, max: 100_000 })
      .default(20)
      .describe(
        "fewest calls in the window before the failure share can open the breaker (a few slow calls open nothing)",
      ),
    BREAKER_WINDOW_MS: env
      .integer({ min: 1_000, max: 600_000 })
      .default(10_000)
      .describe("the sliding window over which the failure share is counted"),
    BREAKER_CONNECTION_FAILURES: env
      .integer({ min: 1, max: 1_000 })
      .default(5)
      .describe(
        "calls in a row that cannot reach the called service at all (connection refused, unreachable, reset) that open its breaker",
      ),
    BREAKER_PROBE_INTERVAL_MS: env
      .integer({ min: 100, max: 60_000 })
      .default(1_000)
      .describe(
        "while a breaker is open, how often the called service's `/readyz` is asked; a ready answer closes the breaker at once",
      ),
    BREAKER_OPEN_MS: env
      .integer({ min: 100, max: 3_600_000 })
      .default(60_000)
      .describe(
        "while a breaker is open, the longest wait before one call goes through to try the service (1 s, doubling up to this), whatever `/readyz` says",
      ),
    ...perCallee,
  };
}

/** The settings of calls to `callee` at `baseUrl`, from the variables of callVariables. */
export function callSettings(vars: Record<string, unknown>, callee: string, baseUrl: string) {
  const prefix = callee.toUpperCase();
  return {
    name: callee,
    baseUrl,
    connectTimeoutMs: (vars[`${prefix}_CONNECT_TIMEOUT_MS`] ?? vars.CALL_CONNECT_TIMEOUT_MS) as number,
    timeoutMs: (vars[`${prefix}_TIMEOUT_MS`] ?? vars.CALL_TIMEOUT_MS) as number,
    maxSockets: vars.CALL_MAX_SOCKETS as number,
    breaker: {
      failureRate: (vars.BREAKER_FAILURE_PERCENT as number) / 100,
      minimumCalls: vars.BREAKER_MIN_CALLS as number,
      windowMs: vars.BREAKER_WINDOW_MS as number,
      connectionFailures: vars.BREAKER_CONNECTION_FAILURES as number,
      probeIntervalMs: vars.BREAKER_PROBE_INTERVAL_MS as number,
      maxOpenMs: vars.BREAKER_OPEN_MS as number,
    },
  };
}

/**
 * Where a subgraph's database is: `<NAME>_DATABASE_URL`, or — when that is unset — libpq's own
 * PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD, taken as they are (a password with `/`, `#`,
 * `+` or `@` needs no URL-encoding there). Containers use the latter; `npm start`, which runs
 * every service in one process, the former.
 */
export function databaseVariables<const N extends string>(name: N) {
  const databaseUrl = `${name.toUpperCase() as Uppercase<N>}_DATABASE_URL` as const;
  return {
    [databaseUrl]: env
      .postgresUrl()
      .optional()
      .describe(
        "the service's own Postgres database (`postgres://user:password@host:5432/database`); unset: the PG* variables",
      ),
    PGHOST: env.text({ max: 255 }).optional().describe("with no `<NAME>_DATABASE_URL`: the database server's host"),
    PGPORT: env.port().default(5432).describe("with no `<NAME>_DATABASE_URL`: its port"),
    PGDATABASE: env.text({ max: 63 }).optional().describe("with no `<NAME>_DATABASE_URL`: the database"),
    PGUSER: env.text({ max: 63 }).optional().describe("with no `<NAME>_DATABASE_URL`: the role"),
    PGPASSWORD: env
      .secret({ min: 1 })
      .optional()
      .describe("with no `<NAME>_DATABASE_URL`: the role's password, any characters, as it is"),
  } as {
    [K in `${Uppercase<N>}_DATABASE_URL`]: z.ZodOptional<ReturnType<typeof env.postgresUrl>>;
  } & {
    PGHOST: z.ZodOptional<ReturnType<typeof env.text>>;
    PGPORT: z.ZodDefault<ReturnType<typeof env.port>>;
    PGDATABASE: z.ZodOptional<ReturnType<typeof env.text>>;
    PGUSER: z.ZodOptional<ReturnType<typeof env.text>>;
    PGPASSWORD: z.ZodOptional<ReturnType<typeof env.secret>>;
  };
}

/** The database URL of `name`'s variables: its `<NAME>_DATABASE_URL`, or one built from the PG* parts (each part encoded). */
export function databaseUrlOf(name: string, vars: Record<string, unknown>): string | undefined {
  const url = vars[`${name.toUpperCase()}_DATABASE_URL`] as string | undefined;
  if (url) return url;
  const {
    PGHOST: host,
    PGPORT: port,
    PGDATABASE: database,
    PGUSER: user,
    PGPASSWORD: password,
  } = vars as Record<string, string | number | undefined>;
  if (!host || !database || !user) return undefined;
  const credentials = `${encodeURIComponent(String(user))}${password ? `:${encodeURIComponent(String(password))}` : ""}`;
  return `postgres://${credentials}@${host}:${port ?? 5432}/${encodeURIComponent(String(database))}`;
}

/** The problem when neither way of naming the database is complete. */
export function checkDatabaseVariables(name: string) {
  return (vars: Record<string, unknown>): string[] =>
    databaseUrlOf(name, vars)
      ? []
      : [
          `${name.toUpperCase()}_DATABASE_URL: set it, or PGHOST, PGDATABASE and PGUSER (and PGPASSWORD, PGPORT) instead`,
        ];
}

/** What every subgraph reads besides the process variables. */
export function subgraphVariables<const N extends string>(name: N, defaultPort: number) {
  return {
    ...processVariables(defaultPort),
    ...databaseVariables(name),
    DATABASE_POOL_SIZE: env
      .integer({ min: 1, max: 1000 })
      .default(10)
      .describe("connections in the service's database pool"),
    GRAPHQL_EXECUTOR: env
      .oneOf(["compiled", "graphql-js"] as const)
      .default("compiled")
      .describe(
        "`compiled`: an operation used twice is compiled by graphql-jit (the gateway's fetches repeat; entity batches run several times faster); `graphql-js`: every operation interpreted",
      ),
    GATEWAY_JWKS_URL: env
      .httpUrl()
      .describe("the gateway's `/.well-known/jwks.json` (keys of the identity assertions subgraphs accept)"),
  };
}

/** The `<NAME>_URL` variable through which a service reaches another. */
export const serviceUrlVariable = (name: string) => `${name.toUpperCase()}_URL`;

/** `.data` in the project root when run through npm (any workspace), else in the working directory. */
export function projectDataDir(): string {
  return `${process.env.npm_config_local_prefix ?? process.cwd()}/.data`;
}
