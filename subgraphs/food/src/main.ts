import { runService } from "@pooya/platform";
import { foodService } from "./index.ts";

await runService(foodService);
