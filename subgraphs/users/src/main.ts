// Tracing first: it instruments node:http as the rest loads (see platform/src/tracing.ts).
import { startTracing } from "@pooya/platform/tracing";

const tracing = await startTracing("users");
const { runService } = await import("@pooya/platform");
const { usersService } = await import("./index.ts");
await runService(usersService, { tracing });
