// Tracing first: it instruments node:http as the rest loads (see platform/src/tracing.ts).
import { startTracing } from "@pooya/platform/tracing";

const tracing = await startTracing("notifications");
const { runService } = await import("@pooya/platform");
const { notificationsService } = await import("./index.ts");
await runService(notificationsService, { tracing });
