// npm run compose:generate: writes docker-compose.yml, docker/compose.local.yml, the compose
// Prometheus configuration and .env.example from the registry (system/src/compose.ts).
import { writeCompose } from "@pooya/system";

console.error(`wrote ${(await writeCompose()).join(", ")}`);
