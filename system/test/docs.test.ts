// Documentation generated from code stays what the code says.
import { expect, test } from "vitest";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, readdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { PROJECT_ROOT, withConfigTables, withEventCatalogue } from "../src/index.ts";

test("docs/configuration.md's tables are what the services' schemas say (npm run docs:config)", async () => {
  const document = await readFile(join(PROJECT_ROOT, "docs/configuration.md"), "utf8");
  expect(document).toBe(withConfigTables(document));
  for (const name of [
    "USERS_DATABASE_URL",
    "ACCESS_TOKEN_JWKS_URL",
    "SHUTDOWN_TIMEOUT_MS",
    "EVENTS_POLL_INTERVAL_MS",
    "NATS_URL",
    "SMTP_URL",
    "COURSES_PORT",
    "POOYA_SEED",
  ]) {
    expect(document).toContain("| `" + name + "` |");
  }
});

test("docs/events.md's catalogue is what the producers' event catalogues say (npm run docs:events)", async () => {
  const document = await readFile(join(PROJECT_ROOT, "docs/events.md"), "utf8");
  expect(document).toBe(withEventCatalogue(document));
  for (const type of [
    "UserRegistered",
    "UserCreated",
    "StudentEnrolled",
    "EnrollmentDropped",
    "AttendanceMarked",
    "FoodOrderConfirmed",
    "FoodOrderCancelled",
    "WalletToppedUp",
  ]) {
    expect(document).toContain("#### `" + type + "`");
  }
});

// Fenced blocks are examples, not links or headings.
const withoutFences = (markdown: string) => markdown.replace(/^```[^\n]*\n[\s\S]*?^```/gm, "");

// GitHub's anchor for a heading: lower case, punctuation dropped, each space a hyphen, repeats numbered.
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of withoutFences(markdown).split("\n")) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const text = heading.replace(/\[([^\]]*)\]\([^)]*\)/g, "$1");
    const slug = text
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\s_-]/gu, "")
      .replace(/\s/g, "-");
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

const anchorsByFile = new Map<string, Set<string>>();
async function hasAnchor(path: string, anchor: string): Promise<boolean> {
  if (!anchorsByFile.has(path)) {
    anchorsByFile.set(path, existsSync(path) ? anchorsOf(await readFile(path, "utf8")) : new Set());
  }
  return anchorsByFile.get(path)!.has(anchor);
}

test("every relative link in README.md and docs/*.md reaches its file, and its heading when it names one", async () => {
  const pages = (await readdir(join(PROJECT_ROOT, "docs"))).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`);
  const broken: string[] = [];
  for (const file of ["README.md", ...pages]) {
    const text = withoutFences(await readFile(join(PROJECT_ROOT, file), "utf8")).replace(/`[^`\n]*`/g, "");
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target!)) continue; // http:, https:, mailto:
      const [path, anchor] = target!.split("#") as [string, string | undefined];
      const resolved = join(PROJECT_ROOT, path ? join(dirname(file), decodeURIComponent(path)) : file);
      if (!existsSync(resolved)) broken.push(`${file}: ${target} (no such file)`);
      else if (anchor && resolved.endsWith(".md") && !(await hasAnchor(resolved, anchor))) {
        broken.push(`${file}: ${target} (no such heading)`);
      }
    }
  }
  expect(broken).toEqual([]);
});

test("every docs/<page>.md#<heading> named in code or configuration exists (error messages point there)", async () => {
  const files = execFileSync("git", ["ls-files", "-z"], { cwd: PROJECT_ROOT, encoding: "utf8" })
    .split("\0")
    .filter((f) => f && !f.endsWith(".md") && !f.endsWith("package-lock.json") && existsSync(join(PROJECT_ROOT, f)));
  expect(files.length).toBeGreaterThan(100);
  const broken: string[] = [];
  for (const file of files) {
    const text = await readFile(join(PROJECT_ROOT, file), "utf8");
    for (const [reference, page, anchor] of text.matchAll(/\bdocs\/([\w-]+\.md)#([\w-]+)/g)) {
      if (!(await hasAnchor(join(PROJECT_ROOT, "docs", page!), anchor!))) broken.push(`${file}: ${reference}`);
    }
  }
  expect(broken).toEqual([]);
});
