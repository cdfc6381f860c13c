// Tracing first: it instruments node:http as the rest loads (see platform/src/tracing.ts).
import { startTracing } from "@pooya/platform/tracing";

const tracing = await startTracing("courses");
const { runService } = await import("@pooya/platform");
const { coursesService } = await import("./index.ts");
await runService(coursesService, { tracing });
