// Structured logs with pino: JSON lines in production, pretty in a terminal. Each HTTP request
// gets a child logger carrying its request id; code running for a request logs through
// `currentLog()` so every line of that request carries the id, on every service it crosses.
import { pino, type Logger, type LoggerOptions } from "pino";
import pretty from "pino-pretty";
import { requestContext } from "@fastify/request-context";
import { activeTraceFields } from "./tracing.ts";

export type { Logger };

export interface LogSettings {
  service: string;
  level?: string;
  format?: "json" | "pretty";
  /** Where lines go; services of one process share one (see logDestination). */
  destination?: pino.DestinationStream;
}

/** One output for several loggers: stdout as JSON lines, or pretty for a terminal. */
export function logDestination(format: "json" | "pretty" = "json"): pino.DestinationStream {
  return format === "pretty"
    ? pretty({
        sync: true,
        colorize: process.stdout.isTTY,
        translateTime: "HH:MM:ss.l",
        ignore: "pid,hostname,service",
        messageFormat: "[{service}] {msg}",
        singleLine: true,
      })
    : pino.destination({ dest: 1, sync: true });
}

/** Never written, wherever they appear in a logged object. */
const REDACTED_PATHS = [
  "password",
  "*.password",
  "token",
  "*.token",
  "accessToken",
  "*.accessToken",
  "refreshToken",
  "*.refreshToken",
  "req.headers.authorization",
  "req.headers.cookie",
  'req.headers["x-identity-assertion"]',
  'req.headers["x-service-token"]',
  "headers.authorization",
  'headers["x-identity-assertion"]',
  'headers["x-service-token"]',
];

export function createLogger(settings: LogSettings): Logger {
  const options: LoggerOptions = {
    level: settings.level ?? "info",
    base: { service: settings.service },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
    // Inside a traced request, each line carries its trace_id and span_id.
    mixin: activeTraceFields,
  };
  return pino(options, settings.destination ?? logDestination(settings.format));
}

declare module "@fastify/request-context" {
  interface RequestContextData {
    log: Logger;
    requestId: string;
    /** When the caller of this request stops waiting (epoch ms), if it said. */
    callerDeadline: number | undefined;
  }
}

/** The logger of the request being served (with its request id), or `fallback` outside a request. */
export function currentLog(fallback: Logger): Logger {
  return requestContext.get("log") ?? fallback;
}

/** The id of the request being served, forwarded on calls to other services. */
export function currentRequestId(): string | undefined {
  return requestContext.get("requestId");
}

/** How long (ms) the caller of the request being served still waits for its answer; undefined when it did not say, or outside a request. */
export function callerTimeLeft(): number | undefined {
  const deadline = requestContext.get("callerDeadline");
  return deadline === undefined ? undefined : deadline - Date.now();
}

/** An error as a log field: message, code and stack, never the objects it references. */
export function errorFields(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: String(error) };
  const code = (error as { code?: unknown }).code;
  return { type: error.name, message: error.message, ...(code !== undefined ? { code } : {}), stack: error.stack };
}
