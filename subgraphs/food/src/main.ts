// Tracing first: it instruments node:http as the rest loads (see platform/src/tracing.ts).
import { startTracing } from "@pooya/platform/tracing";

const tracing = await startTracing("food");
const { runService } = await import("@pooya/platform");
const { foodService } = await import("./index.ts");
await runService(foodService, { tracing });
