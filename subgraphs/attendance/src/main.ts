// Tracing first: it instruments node:http as the rest loads (see platform/runtime/src/tracing.ts).
import { startSubgraphTracing } from "@pooya/subgraph-kit/tracing";

const tracing = await startSubgraphTracing("attendance");
const { runService } = await import("@pooya/runtime");
const { attendanceService } = await import("./index.ts");
await runService(attendanceService, { tracing });
