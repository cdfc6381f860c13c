import { runService } from "@pooya/platform";
import { attendanceService } from "./index.ts";

await runService(attendanceService);
