// Documentation generated from code stays what the code says.
import { expect, test } from "vitest";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { PROJECT_ROOT, withConfigTables, withEventCatalogue } from "../src/index.ts";

test("docs/configuration.md's tables are what the services' schemas say (npm run docs:config)", async () => {
  const document = await readFile(join(PROJECT_ROOT, "docs/configuration.md"), "utf8");
  expect(document).toBe(withConfigTables(document));
  for (const name of ["USERS_DATABASE_URL", "ACCESS_TOKEN_JWKS_URL", "SHUTDOWN_TIMEOUT_MS", "EVENTS_POLL_INTERVAL_MS", "NATS_URL", "SMTP_URL", "COURSES_PORT", "POOYA_SEED"]) {
    expect(document).toContain("| `" + name + "` |");
  }
});

test("docs/events.md's catalogue is what the producers' event catalogues say (npm run docs:events)", async () => {
  const document = await readFile(join(PROJECT_ROOT, "docs/events.md"), "utf8");
  expect(document).toBe(withEventCatalogue(document));
  for (const type of ["UserRegistered", "UserCreated", "StudentEnrolled", "EnrollmentDropped", "AttendanceMarked", "FoodOrderConfirmed", "FoodOrderCancelled", "WalletToppedUp"]) {
    expect(document).toContain("#### `" + type + "`");
  }
});
