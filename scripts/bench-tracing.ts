// npm run bench:tracing: what tracing costs the gateway. The system runs twice as separate
// processes on real Postgres — tracing off, then on at 100 % sampling exporting OTLP/HTTP to a
// receiver that discards — and the same query is driven through the gateway for BENCH_SECONDS
// (default 10) with BENCH_CONNECTIONS (10). Prints req/s, p50/p99 and gateway CPU per request.
import { createServer } from "node:http";
import { PROCESS_ADMIN, postGraphQL, startProcesses } from "@pooya/e2e";
import { runLoad } from "./lib/load.ts";
import { cpuMs } from "./lib/process-cpu.ts";

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 10);

const receiver = createServer((request, response) => {
  request.resume();
  request.on("end", () => response.writeHead(200, { "content-type": "application/json" }).end("{}"));
});
await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
const receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;

async function measure(label: string, env: NodeJS.ProcessEnv) {
  const system = await startProcesses({ env: { LOG_LEVEL: "warn", LOGIN_LIMIT_PER_CLIENT: "100000", ...env } });
  try {
    const login = await postGraphQL(system.gatewayUrl, {
      query: `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }`,
      variables: { e: PROCESS_ADMIN.email, p: PROCESS_ADMIN.password },
    });
    const spec = {
      url: system.gatewayUrl,
      headers: { "content-type": "application/json", authorization: `Bearer ${login.data?.login.accessToken}` },
      body: JSON.stringify({ query: "{ me { id name role } }" }),
      connections,
    };
    await runLoad({ ...spec, seconds: Math.min(3, seconds) }); // warm-up
    const pid = system.processes.gateway.child.pid!;
    const before = cpuMs(pid);
    const result = await runLoad({ ...spec, seconds });
    const cpuPerRequest = (cpuMs(pid) - before) / Math.max(1, result.requests);
    console.log(
      `${label.padEnd(24)} ${String(result.rps).padStart(6)} req/s · p50 ${result.p50} ms · p99 ${result.p99} ms · gateway CPU ${cpuPerRequest.toFixed(3)} ms/request · ${result.errors} errors`,
    );
    return { label, ...result, cpuPerRequest };
  } finally {
    await system.close();
  }
}

console.log(
  `{ me { id name role } } through the gateway, ${seconds} s, ${connections} connections, separate processes, loopback\n`,
);
const off = await measure("tracing off", {});
const on = await measure("tracing on (100 %)", {
  OTEL_EXPORTER_OTLP_ENDPOINT: receiverUrl,
  OTEL_TRACES_SAMPLER: "always_on",
});
console.log(
  `\noverhead: ${(((on.cpuPerRequest - off.cpuPerRequest) / off.cpuPerRequest) * 100).toFixed(0)} % gateway CPU per request, p50 ${off.p50} → ${on.p50} ms`,
);
receiver.close();
