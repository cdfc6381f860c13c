import { runService } from "@pooya/platform";
import { usersService } from "./index.ts";

await runService(usersService);
