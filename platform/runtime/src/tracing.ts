// Distributed tracing with OpenTelemetry, configured by the standard OTEL_* variables
// (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL http/protobuf or http/json,
// OTEL_SERVICE_NAME, OTEL_TRACES_SAMPLER, …). Unset endpoint: nothing is loaded or started, and
// the OpenTelemetry API stays a no-op (Apollo Gateway's own spans cost nothing then).
// Start it before anything else is imported: the HTTP instrumentation patches node:http as the
// server and clients load it. A service's main.ts therefore starts with
//   await startTracing("users"); …then imports the rest dynamically.
import { trace, type TracerProvider } from "@opentelemetry/api";
import type { SpanProcessor } from "@opentelemetry/sdk-trace";
import type { NodeSDKConfiguration } from "@opentelemetry/sdk-node";

export interface Tracing {
  shutdown(): Promise<void>;
}

let enabled = false;

/** Trace and span ids of the active span, for log lines (empty when tracing is off). */
export function activeTraceFields(): Record<string, string> {
  if (!enabled) return {};
  const span = trace.getActiveSpan();
  if (!span) return {};
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}

export function tracingEnabled(): boolean {
  return enabled;
}

/** Paths not worth a trace: probes and scrapes. */
const QUIET_PATHS = /^\/(healthz|readyz|metrics)(\?|$)/;

/**
 * Starts tracing for this process when an OTLP endpoint is configured (or `spanProcessors` are
 * given, e.g. an in-memory exporter in tests). `serviceName` is the default OTEL_SERVICE_NAME.
 */
export interface TracingOptions {
  env?: NodeJS.ProcessEnv;
  spanProcessors?: SpanProcessor[];
  /** More instrumentations, loaded only when tracing is on (a subgraph's Prisma: @pooya/subgraph-kit/tracing). */
  instrumentations?: () => Promise<NodeSDKConfiguration["instrumentations"]>;
}

export async function startTracing(serviceName: string, options: TracingOptions = {}): Promise<Tracing | undefined> {
  const env = options.env ?? process.env;
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (env.OTEL_SDK_DISABLED === "true" || env.OTEL_TRACES_EXPORTER === "none" || (!endpoint && !options.spanProcessors))
    return undefined;
  // Traces only: metrics are Prometheus' (/metrics), logs are pino's (stdout).
  env.OTEL_METRICS_EXPORTER ??= "none";
  env.OTEL_LOGS_EXPORTER ??= "none";
  const [{ NodeSDK }, { HttpInstrumentation }, { UndiciInstrumentation }, more] = await Promise.all([
    import("@opentelemetry/sdk-node"),
    import("@opentelemetry/instrumentation-http"),
    import("@opentelemetry/instrumentation-undici"),
    options.instrumentations?.() ?? [],
  ]);
  const sdk = new NodeSDK({
    serviceName: env.OTEL_SERVICE_NAME || serviceName,
    ...(options.spanProcessors ? { spanProcessors: options.spanProcessors } : {}),
    instrumentations: [
      // Server spans for incoming requests (W3C traceparent honoured), client spans for node:http.
      new HttpInstrumentation({ ignoreIncomingRequestHook: (request) => QUIET_PATHS.test(request.url ?? "") }),
      // Client spans and traceparent on every call made with undici (subgraphs, services, keys).
      new UndiciInstrumentation(),
      ...more,
    ],
  });
  sdk.start();
  enabled = true;
  return {
    async shutdown() {
      enabled = false;
      await sdk.shutdown();
    },
  };
}

/** The provider spans go to (tests read it to flush). */
export const tracerProvider = (): TracerProvider => trace.getTracerProvider();
