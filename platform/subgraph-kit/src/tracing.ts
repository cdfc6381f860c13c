// A subgraph's tracing: the runtime's (HTTP in and out) and its Prisma operations with their SQL.
// Import it first in a subgraph's main.ts; it loads nothing of the kit (see @pooya/runtime/tracing).
import { startTracing, type Tracing, type TracingOptions } from "@pooya/runtime/tracing";

export function startSubgraphTracing(
  serviceName: string,
  options: Omit<TracingOptions, "instrumentations"> = {},
): Promise<Tracing | undefined> {
  return startTracing(serviceName, {
    ...options,
    instrumentations: async () => {
      const { PrismaInstrumentation } = await import("@prisma/instrumentation");
      return [new PrismaInstrumentation()];
    },
  });
}
