// Calls to another service (gateway → subgraph, service → service): a keep-alive pool of
// bounded size, a connect timeout and a total deadline per call, retries only where they are
// safe, and a circuit breaker (cockatiel) per called service. Every call has a defined outcome:
// an answer, `timeout` (the service is slow or hung), `unavailable` (it cannot be reached) or
// `open` (the breaker answers for it without calling).
//
// The breaker follows the failure, not the first hiccup (docs/operations.md, "When another
// service fails"): it opens when more than a share of the calls in a sliding window failed, or
// when several calls in a row could not reach the service at all. While open it asks the
// service's /readyz every probe interval and closes as soon as it answers ready; a trial call
// after a backoff (1 s doubling up to `maxOpenMs`) covers a service that answers /readyz "not
// ready" although these calls might work (none goes to a service that does not answer at all).
import { Agent, request } from "undici";
import {
  CircuitState,
  ExponentialBackoff,
  circuitBreaker,
  handleWhen,
  noJitterGenerator,
  type IBreaker,
} from "cockatiel";
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
  /** When the breaker opens and how it closes again (defaults: DEFAULT_BREAKER_POLICY). */
  breaker?: Partial<BreakerPolicy>;
  /** The service's readiness endpoint, asked while the breaker is open. */
  readinessPath?: string;
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

export interface BreakerPolicy {
  /** Opens when more than this share (0..1) of the calls in the window failed… */
  failureRate: number;
  /** …once the window holds at least this many calls (a few slow calls under load open nothing). */
  minimumCalls: number;
  /** The sliding window the rate is counted over. */
  windowMs: number;
  /** Or when this many calls in a row could not reach the service at all (refused, unreachable, reset). */
  connectionFailures: number;
  /** While open: how often the service's /readyz is asked (a ready answer closes the breaker). */
  probeIntervalMs: number;
  /** While open: the longest wait before one call goes through to try (1 s, doubling up to this). */
  maxOpenMs: number;
}

export const DEFAULT_BREAKER_POLICY: BreakerPolicy = {
  failureRate: 0.5,
  minimumCalls: 20,
  windowMs: 10_000,
  connectionFailures: 5,
  probeIntervalMs: 1_000,
  maxOpenMs: 60_000,
};

/** Why a breaker opened, for the log and /readyz. */
type OpenReason = "failure rate" | "unreachable" | "trial call failed";

/**
 * Calls and failures over the last `windowMs`, in buckets of a tenth of it; a bucket is dropped
 * as soon as it is older than the window. (Not cockatiel's SamplingBreaker: it drops at most one
 * bucket per call, so after a quiet spell successes from minutes before outvoted a new outage.)
 */
class SlidingFailureRate {
  private buckets: { start: number; failures: number; calls: number }[] = [];
  private readonly windowMs: number;
  constructor(windowMs: number) {
    this.windowMs = windowMs;
  }
  record(failed: boolean, now = Date.now()): void {
    const width = this.windowMs / 10;
    const start = now - (now % width);
    this.expire(now);
    let bucket = this.buckets.at(-1);
    if (bucket?.start !== start) this.buckets.push((bucket = { start, failures: 0, calls: 0 }));
    bucket.calls += 1;
    if (failed) bucket.failures += 1;
  }
  totals(now = Date.now()): { calls: number; failures: number } {
    this.expire(now);
    return this.buckets.reduce((sum, b) => ({ calls: sum.calls + b.calls, failures: sum.failures + b.failures }), {
      calls: 0,
      failures: 0,
    });
  }
  private expire(now: number): void {
    while (this.buckets.length && this.buckets[0]!.start <= now - this.windowMs) this.buckets.shift();
  }
}

/**
 * Opens on a failure rate over a sliding window, once it holds enough calls, or once
 * `connectionFailures` calls in a row reached nothing. The caller keeps `unreachableInARow`
 * (a call that got any answer, even a timeout after connecting, resets it).
 */
class RateOrUnreachableBreaker implements IBreaker {
  unreachableInARow = 0;
  reason: OpenReason | undefined;
  private rate: SlidingFailureRate;
  private readonly policy: BreakerPolicy;
  constructor(policy: BreakerPolicy) {
    this.policy = policy;
    this.rate = new SlidingFailureRate(policy.windowMs);
  }
  // cockatiel reads and writes `state` only to serialise a breaker, which this service never does.
  state: unknown = null;
  success(state: CircuitState): void {
    if (state === CircuitState.HalfOpen) this.reset();
    else this.rate.record(false);
  }
  failure(state: CircuitState): boolean {
    if (state !== CircuitState.Closed) {
      this.reason = "trial call failed";
      return true;
    }
    this.rate.record(true);
    const { calls, failures } = this.rate.totals();
    const rate = calls >= this.policy.minimumCalls && failures > this.policy.failureRate * calls;
    const unreachable = this.unreachableInARow >= this.policy.connectionFailures;
    if (rate || unreachable) this.reason = unreachable ? "unreachable" : "failure rate";
    return rate || unreachable;
  }
  /** Forgets every failure (the service was found ready again). */
  reset(): void {
    this.rate = new SlidingFailureRate(this.policy.windowMs);
    this.unreachableInARow = 0;
  }
}

/** Breaker states as they are reported (metrics labels, /readyz). */
const STATE_NAMES: Partial<Record<CircuitState, BreakerStatus["state"]>> = {
  [CircuitState.Closed]: "closed",
  [CircuitState.HalfOpen]: "half-open",
  [CircuitState.Open]: "open",
};

const NOTHING_SENT = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_CONNECT_TIMEOUT",
]);
const CONNECTION_BROKE = new Set(["ECONNRESET", "EPIPE", "UND_ERR_SOCKET", "UND_ERR_CLOSED"]);
const TIMED_OUT = new Set(["UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT"]);

function codeOf(error: unknown): string | undefined {
  const e = error as { code?: string; cause?: { code?: string }; name?: string };
  if (
    e?.name === "TimeoutError" ||
    (e?.name === "AbortError" && (e as { cause?: { name?: string } }).cause?.name === "TimeoutError")
  )
    return "TIMEOUT";
  return e?.code ?? e?.cause?.code;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function createUpstream(settings: UpstreamSettings) {
  const { name, log, metrics } = settings;
  const breakerPolicy: BreakerPolicy = { ...DEFAULT_BREAKER_POLICY, ...settings.breaker };
  const agent = new Agent({
    connections: settings.maxSockets,
    connect: { timeout: settings.connectTimeoutMs },
    keepAliveTimeout: 4_000,
    headersTimeout: settings.timeoutMs,
    bodyTimeout: settings.timeoutMs,
    ...(settings.maxResponseBytes ? { maxResponseSize: settings.maxResponseBytes } : {}),
  });
  // Probes get a connection of their own: the pool may still hold calls to a hung service.
  const probeAgent = new Agent({
    connections: 1,
    connect: { timeout: settings.connectTimeoutMs },
    keepAliveTimeout: 2_000,
  });
  const breaker = new RateOrUnreachableBreaker(breakerPolicy);
  const policy = circuitBreaker(
    handleWhen((error) => error instanceof UpstreamError && error.failure !== "too-large").orWhenResult(
      (result) => (result as UpstreamResponse).status >= 500,
    ),
    {
      halfOpenAfter: new ExponentialBackoff({
        initialDelay: Math.min(1_000, breakerPolicy.maxOpenMs),
        maxDelay: breakerPolicy.maxOpenMs,
        generator: noJitterGenerator,
      }),
      breaker,
    },
  );
  let openedAt = 0;
  let lastFailure: string | undefined;
  let stopped = false;

  // While open: ask /readyz every probe interval; a ready answer closes the breaker at once.
  let probeTimer: NodeJS.Timeout | undefined;
  let probeRunning = false;
  // Whether the last probe got any answer: a trial call is sent only then (it would only hang or be refused otherwise).
  let probeAnswered = false;
  let nextProbeAt = 0;
  let closedBy: string | undefined;
  const isOpen = () => policy.state === CircuitState.Open || policy.state === CircuitState.HalfOpen;
  function scheduleProbe(delayMs: number) {
    if (stopped || probeTimer || probeRunning) return;
    nextProbeAt = Date.now() + delayMs;
    probeTimer = setTimeout(() => void probe(), delayMs);
    probeTimer.unref();
  }
  async function probe() {
    probeTimer = undefined;
    if (stopped || !isOpen()) return;
    probeRunning = true;
    const started = Date.now();
    const answer = await request(new URL(settings.readinessPath ?? "/readyz", settings.baseUrl), {
      dispatcher: probeAgent,
      method: "GET",
      signal: AbortSignal.timeout(settings.timeoutMs),
    }).then(
      async (response) => {
        await response.body.dump();
        return response.statusCode;
      },
      () => undefined,
    );
    const ready = answer === 200;
    probeAnswered = answer !== undefined;
    probeRunning = false;
    if (stopped || !isOpen()) return;
    if (ready) {
      // cockatiel closes a breaker only after a trial call; isolating and releasing it closes it now.
      closedBy = "its /readyz answered ready";
      breaker.reset();
      policy.isolate().dispose();
      return;
    }
    scheduleProbe(Math.max(0, started + breakerPolicy.probeIntervalMs - Date.now()));
  }

  const recoveryListeners = new Set<() => void>();
  let reported: BreakerStatus["state"] = "closed";
  policy.onStateChange((state) => {
    const entered = STATE_NAMES[state];
    if (!entered) return; // Isolated: only the step through which a probe closes it
    metrics?.breakerTransitions.inc({ upstream: name, state: entered });
    if (entered === "open") {
      if (reported === "closed") probeAnswered = false; // nothing known about the service yet
      openedAt = Date.now();
      log.warn({ upstream: name, reason: breaker.reason, lastFailure }, "circuit breaker opened");
      scheduleProbe(breakerPolicy.probeIntervalMs);
    } else if (entered === "closed") {
      clearTimeout(probeTimer);
      probeTimer = undefined;
      log.info(
        { upstream: name, closedBy: closedBy ?? "a trial call succeeded", openForMs: Date.now() - openedAt },
        "circuit breaker closed",
      );
      closedBy = undefined;
      for (const listener of recoveryListeners) listener();
    }
    reported = entered;
  });

  /** Seconds until the breaker may let calls through again: the next probe (or trial) at the latest. */
  const retryAfter = () => Math.max(1, Math.ceil((nextProbeAt - Date.now()) / 1000));
  // Retry after a second: a failed call does not mean the breaker opened.
  const failure = (kind: UpstreamFailure, detail: string, { unreachable = false } = {}) => {
    lastFailure = `${kind}: ${detail}`;
    breaker.unreachableInARow = unreachable ? breaker.unreachableInARow + 1 : 0;
    return new UpstreamError(name, kind, 1, detail);
  };

  // A service is called on a handful of paths: each is resolved against its base URL once.
  const urls = new Map<string, URL>();
  const urlOf = (path: string) => {
    let url = urls.get(path);
    if (url === undefined) {
      url = new URL(path, settings.baseUrl);
      if (urls.size < 100 && !path.includes("?")) urls.set(path, url); // not a query string (feed reads)
    }
    return url;
  };

  /** One call with its retries, all inside the deadline. */
  async function attempt(path: string, init: UpstreamRequest): Promise<UpstreamResponse> {
    const timeoutMs = init.timeoutMs ?? settings.timeoutMs;
    const deadline = Date.now() + timeoutMs;
    let retriedBrokenConnection = false;
    let backoff = 25;
    let refusedWith: string | undefined;
    for (;;) {
      const remaining = deadline - Date.now();
      if (remaining <= 0)
        throw failure("unavailable", `cannot connect within ${timeoutMs} ms${refusedWith ? ` (${refusedWith})` : ""}`, {
          unreachable: true,
        });
      // The deadline's timer is cleared once the answer is read (AbortSignal.timeout's would fire
      // later for every call, each time building an exception nobody reads).
      const deadlineReached = new AbortController();
      const timer = setTimeout(
        () => deadlineReached.abort(new DOMException(`no answer within ${remaining} ms`, "TimeoutError")),
        remaining,
      );
      try {
        const response = await request(urlOf(path), {
          dispatcher: agent,
          method: init.method ?? "POST",
          headers: init.headers,
          body: init.body,
          signal: init.signal ? AbortSignal.any([init.signal, deadlineReached.signal]) : deadlineReached.signal,
          headersTimeout: remaining,
          bodyTimeout: remaining,
        });
        const answer = { status: response.statusCode, headers: response.headers, body: await response.body.text() };
        breaker.unreachableInARow = 0;
        if (answer.status >= 500) lastFailure = `HTTP ${answer.status}`;
        return answer;
      } catch (error) {
        if (init.signal?.aborted) throw new UpstreamError(name, "unavailable", 1, "call cancelled by the caller");
        const code = codeOf(error);
        if (code === "UND_ERR_RES_EXCEEDED_MAX_SIZE")
          throw new UpstreamError(name, "too-large", 0, `answered more than ${settings.maxResponseBytes} bytes`);
        // Slow is not down: a timeout counts towards the failure rate, not as unreachable.
        if (code === "TIMEOUT" || (code && TIMED_OUT.has(code)))
          throw failure("timeout", `no answer within ${timeoutMs} ms`);
        if (code && NOTHING_SENT.has(code)) {
          // Nothing reached the service (it is restarting, or down): safe to try again for any
          // call, until the deadline — or until the breaker has opened meanwhile.
          refusedWith = code;
          const wait = Math.min(backoff, deadline - Date.now());
          if (wait <= 0 || policy.state !== CircuitState.Closed)
            throw failure("unavailable", `cannot connect (${code})`, { unreachable: true });
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
        throw failure("unavailable", `${code ?? "request failed"}: ${(error as Error).message}`, {
          unreachable: !!code && CONNECTION_BROKE.has(code),
        });
      } finally {
        clearTimeout(timer);
      }
    }
  }

  async function send(path: string, init: UpstreamRequest): Promise<UpstreamResponse> {
    // While its trial call runs, others are answered at once (cockatiel would make them wait);
    // and no trial goes to a service that does not even answer its /readyz (hung or down).
    if (policy.state === CircuitState.HalfOpen)
      throw new UpstreamError(name, "open", retryAfter(), "circuit breaker open (trying the service)");
    if (policy.state === CircuitState.Open && !probeAnswered)
      throw new UpstreamError(name, "open", retryAfter(), "circuit breaker open");
    try {
      return await policy.execute(() => attempt(path, init));
    } catch (error) {
      if (error instanceof UpstreamError) throw error;
      if ((error as { isBrokenCircuitError?: boolean }).isBrokenCircuitError)
        throw new UpstreamError(name, "open", retryAfter(), "circuit breaker open");
      log.error({ upstream: name, err: errorFields(error) }, "upstream call failed unexpectedly");
      throw failure("unavailable", (error as Error).message);
    }
  }

  const status = (): BreakerStatus => {
    const state = STATE_NAMES[policy.state] ?? "open";
    if (state === "closed") return { state, ...(lastFailure ? { lastFailure } : {}) };
    return { state, retryAfterSeconds: retryAfter(), lastFailure };
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
    /** Whether the last call that ended reached nothing (refused, unreachable, reset): the service looks down. */
    lastCallReachedNothing: () => breaker.unreachableInARow > 0,
    /** Calls `listener` each time the breaker closes (the service is back); returns how to stop. */
    onRecovered(listener: () => void): () => void {
      recoveryListeners.add(listener);
      return () => recoveryListeners.delete(listener);
    },
    close: async () => {
      stopped = true;
      clearTimeout(probeTimer);
      await Promise.all([agent, probeAgent].map((a) => (a.destroyed || a.closed ? undefined : a.close())));
    },
  };
}

export type Upstream = ReturnType<typeof createUpstream>;
