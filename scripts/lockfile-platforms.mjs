#!/usr/bin/env node
// Our npm mirror serves turbo's Linux binaries but not its macOS/Windows ones, so `npm install`
// here writes a package-lock.json without them, which `npm ci` then rejects as out of sync.
// This puts the missing optional, platform-gated entries back (npm never fetches them on Linux).
// Run after any `npm install` that rewrites the lock: npm run lock:platforms
import { readFileSync, writeFileSync } from "node:fs";

const file = new URL("../package-lock.json", import.meta.url);
const lock = JSON.parse(readFileSync(file, "utf8"));
const turbo = lock.packages["node_modules/turbo"];
const PLATFORMS = { "darwin-64": ["darwin", "x64"], "darwin-arm64": ["darwin", "arm64"], "windows-64": ["win32", "x64"], "windows-arm64": ["win32", "arm64"] };
let added = 0;
for (const [suffix, [os, cpu]] of Object.entries(PLATFORMS)) {
  const key = `node_modules/@turbo/${suffix}`;
  if (!turbo || lock.packages[key]) continue;
  lock.packages[key] = { version: turbo.version, cpu: [cpu], dev: true, license: "MIT", optional: true, os: [os] };
  added += 1;
}
const [rootEntry, ...rest] = Object.entries(lock.packages);
lock.packages = Object.fromEntries([rootEntry, ...rest.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))]);
writeFileSync(file, JSON.stringify(lock, null, 2) + "\n");
console.log(added ? `added ${added} platform entries for turbo` : "lockfile already complete");
