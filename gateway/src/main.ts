import { runService } from "@pooya/platform";
import { gatewayService } from "./index.ts";

await runService(gatewayService);
