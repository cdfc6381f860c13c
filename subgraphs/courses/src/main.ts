import { runService } from "@pooya/platform";
import { coursesService } from "./index.ts";

await runService(coursesService);
