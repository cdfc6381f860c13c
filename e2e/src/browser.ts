// Headless Chromium from Debian's package, driven by playwright-core (Playwright's own browser
// download cannot run here). Screenshots go to one folder that .ci/run prints.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser } from "playwright-core";

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const SCREENSHOT_DIR =
  process.env.SCREENSHOT_DIR ?? fileURLToPath(new URL("../../.ci/artifacts/screenshots/", import.meta.url));

/**
 * A hostname the browser resolves to 127.0.0.1 (--host-resolver-rules): a page opened at
 * http://pooya.test:<port>/ is a plain-http origin that is not loopback, so not a secure context
 * (as on a LAN address or a development hostname), while the server still runs here.
 */
export const INSECURE_TEST_HOST = "pooya.test";

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    // No sandbox as root; no background traffic (the machine has no internet, and a test asserts
    // that the pages themselves send nothing beyond 127.0.0.1).
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-dev-shm-usage",
      `--host-resolver-rules=MAP ${INSECURE_TEST_HOST} 127.0.0.1`,
    ],
  });
}

export function screenshotPath(name: string): string {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  return join(SCREENSHOT_DIR, `${name}.png`);
}
