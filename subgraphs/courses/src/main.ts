// Tracing first: it instruments node:http as the rest loads (see platform/runtime/src/tracing.ts).
import { startSubgraphTracing } from "@pooya/subgraph-kit/tracing";

const tracing = await startSubgraphTracing("courses");
const { runService } = await import("@pooya/runtime");
const { coursesService } = await import("./index.ts");
await runService(coursesService, { tracing });
