// How a service describes itself (name, port, whom it calls, its variables, how it starts) and
// how it runs as a process: configuration checked once, structured logs, a shutdown that always
// ends within SHUTDOWN_TIMEOUT_MS.
import closeWithGrace from "close-with-grace";
import { ConfigError, checkProcessVariables, readEnv, type EnvShape, type EnvValues } from "./config.ts";
import { createLogger, errorFields, type Logger } from "./logging.ts";
import type { Tracing } from "./tracing.ts";

/** An internal route a service serves, and which services may call it (declared with the callee's descriptor). */
export interface InternalRoute {
  method: "GET" | "POST";
  path: string;
  /** The services that may call it; each must list the callee in its own `calls`. */
  callers: readonly string[];
}

/** Every service that may call one of `routes`. */
export function callersOf(routes: readonly InternalRoute[]): string[] {
  return [...new Set(routes.flatMap((route) => route.callers))];
}

/** A catalogue of the domain events a service publishes (`defineEvents` of @pooya/events). */
export interface PublishedEvents {
  source: string;
}

export interface RunningService {
  name: string;
  /** Base URL (http://host:port). */
  url: string;
  graphqlUrl: string;
  /** Drains HTTP (bounded by the shutdown deadline), then closes databases and timers. */
  stop(): Promise<void>;
}

export interface ServiceRuntime {
  log: Logger;
}

export interface ServiceDescriptor<
  S extends EnvShape = EnvShape,
  R extends RunningService = RunningService,
  N extends string = string,
> {
  name: N;
  defaultPort: number;
  /** Services it calls over HTTP; each one's base URL comes from `<NAME>_URL`. */
  calls: readonly string[];
  /** The internal routes it serves to other services, and which services may call each (those list it in `calls`). */
  internalRoutes?: readonly InternalRoute[];
  /** Its variables; a function when they depend on other variables (the gateway's subgraph URLs). */
  env: S | ((env: NodeJS.ProcessEnv) => S);
  /** Problems that involve several variables (each "NAME: what is wrong"). */
  check?: (vars: EnvValues<S>) => string[];
  /** What others rely on: where token keys are published; the domain events it publishes (its catalogue, docs/events.md). */
  publishes?: { accessTokenKeys?: string; events?: PublishedEvents };
  start(vars: EnvValues<S>, runtime: ServiceRuntime): Promise<R>;
}

export function defineService<const N extends string, S extends EnvShape, R extends RunningService>(
  descriptor: ServiceDescriptor<S, R, N>,
): ServiceDescriptor<S, R, N> {
  return descriptor;
}

/** Any service, whatever its variables and running shape (for lists of services). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- `check` takes S contravariantly: only `any` admits every S
export type AnyServiceDescriptor = ServiceDescriptor<any, any, string>;

export function envShapeOf(
  descriptor: { env: EnvShape | ((env: NodeJS.ProcessEnv) => EnvShape) },
  env: NodeJS.ProcessEnv = process.env,
): EnvShape {
  return typeof descriptor.env === "function" ? descriptor.env(env) : descriptor.env;
}

/** The service's variables read from `env` and checked, typed as its start() takes them. */
export function readServiceEnv<D extends AnyServiceDescriptor>(
  descriptor: D,
  env: NodeJS.ProcessEnv = process.env,
): Parameters<D["start"]>[0] {
  const vars = readEnv(envShapeOf(descriptor, env), env);
  const problems = [...checkProcessVariables(vars), ...(descriptor.check?.(vars) ?? [])];
  if (problems.length) throw new ConfigError(problems);
  return vars;
}

/** The part of the deadline the HTTP drain may use; the rest is for closing databases. */
export function drainDeadline(shutdownTimeoutMs: number): number {
  return Math.max(shutdownTimeoutMs - 1_000, Math.round(shutdownTimeoutMs * 0.8));
}

const DATABASE_ERRORS: Record<string, string> = {
  ECONNREFUSED: "nothing listens at the database's address",
  ENOTFOUND: "the database's host name does not resolve",
  ETIMEDOUT: "the database did not answer in time",
  "3D000": "the database does not exist",
  "28P01": "the database refused the password",
  "28000": "the database refused the role",
};

/** A startup failure in words an operator acts on; the stack only for what we did not foresee. */
export function describeStartupFailure(error: unknown): { message: string; err?: Record<string, unknown> } {
  const code = (error as { code?: string }).code;
  if (code && DATABASE_ERRORS[code]) return { message: `${DATABASE_ERRORS[code]} (${(error as Error).message})` };
  if (error instanceof ConfigError) return { message: error.message };
  return { message: (error as Error)?.message ?? String(error), err: errorFields(error) };
}

/** The entry point of a service's process (its main.ts): `await runService(descriptor)`. */
export async function runService<S extends EnvShape, R extends RunningService, N extends string>(
  descriptor: ServiceDescriptor<S, R, N>,
  options: { env?: NodeJS.ProcessEnv; tracing?: Tracing } = {},
): Promise<R> {
  const env = options.env ?? process.env;
  let vars: EnvValues<S>;
  try {
    vars = readServiceEnv(descriptor, env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(
      `${descriptor.name} cannot start: ${error.message}\nSee docs/configuration.md for every variable.\n`,
    );
    process.exit(1);
  }
  const settings = vars as unknown as {
    LOG_LEVEL: string;
    LOG_FORMAT?: "json" | "pretty";
    SHUTDOWN_TIMEOUT_MS: number;
  };
  const log = createLogger({
    service: descriptor.name,
    level: settings.LOG_LEVEL,
    format: settings.LOG_FORMAT ?? "json",
  });
  let running: R;
  try {
    running = await descriptor.start(vars, { log });
  } catch (error) {
    const failure = describeStartupFailure(error);
    log.fatal(failure.err ? { err: failure.err } : {}, `could not start: ${failure.message}`);
    process.exit(1);
  }
  log.info({ url: running.graphqlUrl }, `${descriptor.name} ready`);
  closeWithGrace(
    {
      delay: settings.SHUTDOWN_TIMEOUT_MS,
      logger: {
        error: (message: unknown) =>
          log.error(typeof message === "string" ? message : { err: errorFields(message) }, "shutdown"),
      },
    },
    async ({ signal, err }) => {
      if (err) log.fatal({ err: errorFields(err) }, "stopping after an uncaught error");
      else log.info({ signal }, "stopping");
      await running.stop();
      await options.tracing?.shutdown(); // sends the spans still buffered
      log.info("stopped");
    },
  );
  return running;
}
