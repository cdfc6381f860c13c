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

// GitHub's anchor for a heading: lower case, punctuation dropped, each space a hyphen, repeats numbered.
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of withoutCode(markdown).split("\n")) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const text = heading.replace(/\[([^\]]*)\]\([^)]*\)/g, "$1");
    const slug = text.toLowerCase().replace(/[^\p{L}\p{M}\p{N}\s_-]/gu, "").replace(/\s/g, "-");
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

// Fenced blocks and code spans hold examples, not links (inline code is kept as text for headings).
const withoutCode = (markdown: string) => markdown.replace(/^```[^\n]*\n[\s\S]*?^```/gm, "");

test("every relative link in README.md and docs/*.md reaches its file, and its heading when it names one", async () => {
  const { readdir } = await import("node:fs/promises");
  const { existsSync } = await import("node:fs");
  const { dirname } = await import("node:path");
  const files = ["README.md", ...(await readdir(join(PROJECT_ROOT, "docs"))).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];
  const broken: string[] = [];
  for (const file of files) {
    const text = withoutCode(await readFile(join(PROJECT_ROOT, file), "utf8")).replace(/`[^`\n]*`/g, "");
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target!)) continue; // http:, https:, mailto:
      const [path, anchor] = target!.split("#") as [string, string | undefined];
      const resolved = path === "" ? join(PROJECT_ROOT, file) : join(PROJECT_ROOT, dirname(file), decodeURIComponent(path));
      if (!existsSync(resolved)) broken.push(`${file}: ${target} (no such file)`);
      else if (anchor && resolved.endsWith(".md") && !anchorsOf(await readFile(resolved, "utf8")).has(anchor)) broken.push(`${file}: ${target} (no such heading)`);
    }
  }
  expect(broken).toEqual([]);
});

test("every docs/<page>.md#<heading> named in code, configuration or comments exists (error messages send people there)", async () => {
  const { execFileSync } = await import("node:child_process");
  const { existsSync } = await import("node:fs");
  const files = execFileSync("git", ["ls-files", "-z"], { cwd: PROJECT_ROOT, encoding: "utf8" }).split("\0")
    .filter((f) => f && !f.endsWith(".md") && !f.endsWith("package-lock.json") && existsSync(join(PROJECT_ROOT, f)));
  expect(files.length).toBeGreaterThan(100);
  const broken: string[] = [];
  const pages = new Map<string, Set<string>>();
  for (const file of files) {
    const text = await readFile(join(PROJECT_ROOT, file), "utf8");
    for (const [reference, page, anchor] of text.matchAll(/\bdocs\/([\w-]+\.md)#([\w-]+)/g)) {
      const path = join(PROJECT_ROOT, "docs", page!);
      if (!pages.has(page!)) pages.set(page!, existsSync(path) ? anchorsOf(await readFile(path, "utf8")) : new Set());
      if (!pages.get(page!)!.has(anchor!)) broken.push(`${file}: ${reference}`);
    }
  }
  expect(broken).toEqual([]);
});
