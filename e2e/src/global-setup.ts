// Once before every test file: the web client's build (web/dist), which the gateway serves and
// the browser tests load, is brought up to date, so no two test files build it at once.
import { ensureWebBuilt } from "@pooya/system";

export default async function setup() {
  await ensureWebBuilt({ log: () => undefined });
}
