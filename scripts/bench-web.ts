// npm run bench:web: what the first page of the web client costs a browser. Prints the bytes of
// the sign-in page (its HTML and every script, style and preload it pulls in: raw, gzip, brotli)
// and, over fresh browser contexts (empty cache) in Debian's Chromium, the time from navigation
// to an enabled "Sign in" button (interactive), plus the browser's own DOMContentLoaded and load.
// The page is served by the gateway's own static serving (platform edge: CSP, compression).
//   BENCH_RUNS=10 npm run bench:web
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { createEdge, createLogger, drainDeadline } from "@pooya/runtime";
import { serveWebClient, WEB_ROOT } from "@pooya/gateway";
import { ensureWebBuilt } from "@pooya/system";
import { launchBrowser } from "@pooya/e2e";

const runs = Number(process.env.BENCH_RUNS ?? 7);
await ensureWebBuilt();

// The sign-in page's payload: index.html and what it references (scripts, styles, preloads).
const html = readFileSync(join(WEB_ROOT, "index.html"), "utf8");
const assets = [...new Set([...html.matchAll(/(?:src|href)="\/assets\/([^"]+)"/g)].map((m) => m[1]!))];
const size = (file: string) => statSync(file).size;
const sizeOr = (file: string) => {
  try {
    return size(file);
  } catch {
    return size(file.replace(/\.(br|gz)$/, ""));
  }
};
let raw = Buffer.byteLength(html),
  gz = raw,
  br = raw;
for (const asset of assets) {
  const path = join(WEB_ROOT, "assets", asset);
  raw += size(path);
  gz += sizeOr(`${path}.gz`);
  br += sizeOr(`${path}.br`);
}
/** The page's `performance` (the browser's, not Node's: navigation timing). */
type BrowserGlobals = { performance: { getEntriesByType(type: "navigation"): unknown[] } };
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
console.log(`first page (index.html + ${assets.length} assets): ${kb(raw)} raw, ${kb(gz)} gzip, ${kb(br)} brotli`);
for (const asset of assets) console.log(`  ${asset}  ${kb(size(join(WEB_ROOT, "assets", asset)))}`);

const edge = await createEdge({ log: createLogger({ service: "bench-web", level: "warn" }) });
await serveWebClient(edge.app, {
  root: WEB_ROOT,
  explorer: false,
  log: createLogger({ service: "bench-web", level: "warn" }),
});
const { url } = await edge.listen(0, "127.0.0.1");
const browser = await launchBrowser();
const interactive: number[] = [],
  loaded: number[] = [],
  contentLoaded: number[] = [];
for (let i = 0; i < runs; i++) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const started = performance.now();
  await page.goto(`${url}/`, { waitUntil: "commit" });
  await page.getByRole("button", { name: "Sign in" }).waitFor({ state: "visible" });
  const ready = performance.now() - started;
  const timing = await page.evaluate(() =>
    JSON.stringify((globalThis as unknown as BrowserGlobals).performance.getEntriesByType("navigation")[0]),
  );
  const navigation = JSON.parse(timing) as { domContentLoadedEventEnd: number; loadEventEnd: number };
  if (i > 0) {
    // the first run warms the browser process itself
    interactive.push(ready);
    contentLoaded.push(navigation.domContentLoadedEventEnd);
    loaded.push(navigation.loadEventEnd);
  }
  await context.close();
}
await browser.close();
await edge.close(drainDeadline(2_000));
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
console.log(
  `time to interactive (navigation → "Sign in" button shown), median of ${interactive.length} cold loads: ${median(interactive).toFixed(0)} ms (min ${Math.min(...interactive).toFixed(0)}, max ${Math.max(...interactive).toFixed(0)})`,
);
console.log(
  `DOMContentLoaded ${median(contentLoaded).toFixed(0)} ms, load ${median(loaded).toFixed(0)} ms (browser's navigation timing, median)`,
);
