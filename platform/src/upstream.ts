// Calls to another service (gateway → subgraph, service → service): a keep-alive pool of
// bounded size, a connect timeout and a total deadline per call, retries only where they are
// safe, and a circuit breaker (cockatiel) per called service. Every call has a defined outcome:
// an answer, `timeout` (the service is slow or hung), `unavailable` (it cannot be reached) or
// `open` (the breaker answers for it without calling).
import { Agent, request } from "undici";
import { CircuitState, circuitBreaker, handleWhen, type IBreaker } from "cockatiel";
import { errorFields, type Logger } from "./logging.ts";
import type { Metrics } from "./metrics.ts";

export interface UpstreamSettings {
  /** The service called, for logs and errors. */
  name: string;
  baseUrl: string;
  /** Time to open a TCP connection. */
  connectTimeoutMs: number;
  /** Time for the whole call, retries included. */
  timeoutMs: number;
  /** Sockets kept to this service at most. */
  maxSockets: number;
  /** Consecutive failures that open the breaker (a timeout opens it at once). */
  breakerFailures: number;
  /** How long the breaker stays open before one probe call goes through. */
  breakerOpenMs: number;
  /** Largest answer read from the service. */
  maxResponseBytes?: number;
  log: Logger;
  /** Call durations by outcome, and the breaker's state, go here. */
  metrics?: Metrics;
}

/** `too-large`: the service answered more than the caller accepts (the request's fault, not the service's). */
export type UpstreamFailure = "timeout" | "unavailable" | "open" | "too-large";

export class UpstreamError extends Error {
  readonly upstream: string;
  readonly failure: UpstreamFailure;
  readonly retryAfterSeconds: number;
  constructor(upstream: string, failure: UpstreamFailure, retryAfterSeconds: number, detail: string) {
    super(`${upstream}: ${detail}`);
    this.upstream = upstream;
    this.failure = failure;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export interface UpstreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface UpstreamRequest {
  method?: "GET" | "POST";
  headers?: Record<string, string>;
  body?: string;
  /** Safe to send twice (a query, a read): retried once when the connection breaks before an answer. */
  idempotent: boolean;
  /** Cancels the call (the caller stops waiting, e.g. at shutdown). */
  signal?: AbortSignal;
  /** This call's deadline instead of the service's `timeoutMs` (a read the service holds open: how long it may hold it plus the usual deadline). */
  timeoutMs?: number;
}

export interface BreakerStatus {
  state: "closed" | "open" | "half-open";
  retryAfterSeconds?: number;
  lastFailure?: string;
}

/** Opens after N consecutive failures, or at once when the failure was a timeout (a hung service). */
class TimeoutOrConsecutiveBreaker implements IBreaker {
  state = 0;
  timedOut = false;
  private readonly threshold: number;
  constructor(threshold: number) {
    this.threshold = threshold;
  }
  success(): void {
    this.state = 0;
  }
  failure(): boolean {
    const open = this.timedOut || ++this.state >= this.threshold;
    this.timedOut = false;
    return open;
  }
}

const NOTHING_SENT = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "UND_ERR_CONNECT_TIMEOUT"]);
const CONNECTION_BROKE = new Set(["ECONNRESET", "EPIPE", "UND_ERR_SOCKET", "UND_ERR_CLOSED"]);
const TIMED_OUT = new Set(["UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT"]);

function codeOf(error: unknown): string | undefined {
  const e = error as { code?: string; cause?: { code?: string }; name?: string };
  if (e?.name === "TimeoutError" || (e?.name === "AbortError" && (e as { cause?: { name?: string } }).cause?.name === "TimeoutError")) return "TIMEOUT";
  return e?.code ?? e?.cause?.code;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function createUpstream(settings: UpstreamSettings) {
  const { name, log } = settings;
  const agent = new Agent({
    connections: settings.maxSockets,
    connect: { timeout: settings.connectTimeoutMs },
    keepAliveTimeout: 4_000,
    headersTimeout: settings.timeoutMs,
    bodyTimeout: settings.timeoutMs,
    ...(settings.maxResponseBytes ? { maxResponseSize: settings.maxResponseBytes } : {}),
  });
  const breaker = new TimeoutOrConsecutiveBreaker(settings.breakerFailures);
  const policy = circuitBreaker(
    handleWhen((error) => error instanceof UpstreamError && error.failure !== "too-large").orWhenResult((result) => (result as UpstreamResponse).status >= 500),
    { halfOpenAfter: settings.breakerOpenMs, breaker },
  );
  let openedAt = 0;
  let lastFailure: string | undefined;
  policy.onBreak(() => {
    openedAt = Date.now();
    log.warn({ upstream: name, reason: lastFailure, openForMs: settings.breakerOpenMs }, "circuit breaker opened");
  });
  policy.onReset(() => log.info({ upstream: name }, "circuit breaker closed"));

  const retryAfter = () => Math.max(1, Math.ceil((openedAt + settings.breakerOpenMs - Date.now()) / 1000));
  const failure = (kind: UpstreamFailure, detail: string, retryAfterSeconds = 1) => {
    lastFailure = `${kind}: ${detail}`;
    if (kind === "timeout") breaker.timedOut = true;
    return new UpstreamError(name, kind, retryAfterSeconds, detail);
  };

  /** One call with its retries, all inside the deadline. */
  async function attempt(path: string, init: UpstreamRequest): Promise<UpstreamResponse> {
    const timeoutMs = init.timeoutMs ?? settings.timeoutMs;
    const deadline = Date.now() + timeoutMs;
    let retriedBrokenConnection = false;
    let backoff = 25;
    for (;;) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw failure("unavailable", `cannot connect within ${timeoutMs} ms`);
      // The deadline's timer is cleared once the answer is read (AbortSignal.timeout's would fire
      // later for every call, each time building an exception nobody reads).
      const deadlineReached = new AbortController();
      const timer = setTimeout(() => deadlineReached.abort(new DOMException(`no answer within ${remaining} ms`, "TimeoutError")), remaining);
      try {
        const response = await request(new URL(path, settings.baseUrl), {
          dispatcher: agent,
          method: init.method ?? "POST",
          headers: init.headers,
          body: init.body,
          signal: init.signal ? AbortSignal.any([init.signal, deadlineReached.signal]) : deadlineReached.signal,
          headersTimeout: remaining,
          bodyTimeout: remaining,
        });
        const answer = { status: response.statusCode, headers: response.headers, body: await response.body.text() };
        if (answer.status >= 500) lastFailure = `HTTP ${answer.status}`;
        return answer;
      } catch (error) {
        if (init.signal?.aborted) throw new UpstreamError(name, "unavailable", 1, "call cancelled by the caller");
        const code = codeOf(error);
        if (code === "UND_ERR_RES_EXCEEDED_MAX_SIZE") throw new UpstreamError(name, "too-large", 0, `answered more than ${settings.maxResponseBytes} bytes`);
        if (code === "TIMEOUT" || (code && TIMED_OUT.has(code))) {
          throw failure("timeout", `no answer within ${timeoutMs} ms`, Math.ceil(settings.breakerOpenMs / 1000));
        }
        if (code && NOTHING_SENT.has(code)) {
          // Nothing reached the service (it is restarting, or down): safe to try again for any call.
          const wait = Math.min(backoff, deadline - Date.now());
          if (wait <= 0) throw failure("unavailable", `cannot connect (${code})`);
          await sleep(wait);
          backoff = Math.min(backoff * 2, 400);
          continue;
        }
        if (code && CONNECTION_BROKE.has(code) && init.idempotent && !retriedBrokenConnection) {
          // The connection broke before an answer: the service may or may not have run the call,
          // so only a call that is safe twice is sent again, once, on a fresh connection.
          retriedBrokenConnection = true;
          continue;
        }
        throw failure("unavailable", `${code ?? "request failed"}: ${(error as Error).message}`);
      } finally {
        clearTimeout(timer);
      }
    }
  }

  async function send(path: string, init: UpstreamRequest): Promise<UpstreamResponse> {
    // While open, and while the one probe of the half-open state runs, answer at once.
    if (policy.state === CircuitState.Open && Date.now() - openedAt < settings.breakerOpenMs) {
      throw new UpstreamError(name, "open", retryAfter(), "circuit breaker open");
    }
    if (policy.state === CircuitState.HalfOpen) throw new UpstreamError(name, "open", 1, "circuit breaker probing");
    try {
      return await policy.execute(() => attempt(path, init));
    } catch (error) {
      if (error instanceof UpstreamError) throw error;
      if ((error as { isBrokenCircuitError?: boolean }).isBrokenCircuitError) throw new UpstreamError(name, "open", retryAfter(), "circuit breaker open");
      log.error({ upstream: name, err: errorFields(error) }, "upstream call failed unexpectedly");
      throw failure("unavailable", (error as Error).message);
    }
  }

  const { metrics } = settings;
  const status = (): BreakerStatus => {
    const state = policy.state;
    if (state === CircuitState.Closed) return { state: "closed", ...(lastFailure ? { lastFailure } : {}) };
    if (state === CircuitState.HalfOpen) return { state: "half-open", retryAfterSeconds: 1, lastFailure };
    return { state: "open", retryAfterSeconds: retryAfter(), lastFailure };
  };
  metrics?.trackBreaker(name, status);

  return {
    name,
    baseUrl: settings.baseUrl,
    timeoutMs: settings.timeoutMs,
    send: metrics
      ? async (path: string, init: UpstreamRequest) => {
          const started = performance.now();
          let outcome = "ok";
          try {
            const answer = await send(path, init);
            if (answer.status >= 500) outcome = "http_5xx";
            return answer;
          } catch (error) {
            outcome = error instanceof UpstreamError ? error.failure.replace("-", "_") : "error";
            throw error;
          } finally {
            metrics.upstreamDuration.observe({ upstream: name, outcome }, (performance.now() - started) / 1000);
          }
        }
      : send,
    status,
    close: async () => {
      if (!agent.destroyed && !agent.closed) await agent.close();
    },
  };
}

export type Upstream = ReturnType<typeof createUpstream>;
