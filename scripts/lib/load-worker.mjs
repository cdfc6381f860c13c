// Worker thread of scripts/lib/load.ts: a closed loop of `connections` requests for `seconds`.
import { parentPort, workerData } from "node:worker_threads";

const spec = workerData;
const latencies = [];
let errors = 0;
const started = performance.now();
const deadline = started + spec.seconds * 1000;
await Promise.all(
  Array.from({ length: spec.connections }, async () => {
    while (performance.now() < deadline) {
      const t = performance.now();
      try {
        const response = await fetch(spec.url, { method: "POST", headers: spec.headers, body: spec.body });
        const body = await response.json();
        if (!response.ok || body.errors) errors += 1;
      } catch {
        errors += 1;
      }
      latencies.push(performance.now() - t);
    }
  }),
);
const seconds = (performance.now() - started) / 1000;
latencies.sort((a, b) => a - b);
const at = (q) => Number((latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0).toFixed(2));
parentPort.postMessage({
  requests: latencies.length,
  errors,
  seconds: Number(seconds.toFixed(1)),
  rps: Math.round(latencies.length / seconds),
  p50: at(0.5),
  p95: at(0.95),
  p99: at(0.99),
});
