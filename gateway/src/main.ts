// Tracing first: it instruments node:http as the rest loads (see platform/runtime/src/tracing.ts).
import { startTracing } from "@pooya/runtime/tracing";

const tracing = await startTracing("gateway");
const { runService } = await import("@pooya/runtime");
const { gatewayService } = await import("./index.ts");
await runService(gatewayService, { tracing });
