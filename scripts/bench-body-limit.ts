// npm run bench:body-limit: how large a body a client can write, whole, to a service and still
// read the 413 it was answered (platform/runtime/src/edge.ts, the same edge on every service). The
// client writes every byte before it stops (reading as it goes, half-open: the server's FIN does
// not stop it), then ends; a size counts as read when all of it was written without EPIPE or
// ECONNRESET and the 413 arrived. Clients that stop writing once answered (curl, browsers, Node's
// and undici's) read the 413 at any size. Prints one line per size and framing.
//   BENCH_RUNS=5 BENCH_SIZES_MIB=16,32,36,40,64 npm run bench:body-limit
import { LINGER, MAX_BODY_BYTES, createEdge, createLogger } from "@pooya/runtime";
import { uploadWholeBody } from "@pooya/e2e";

const MiB = 1024 * 1024;
const runs = Number(process.env.BENCH_RUNS ?? 5);
const sizes = (process.env.BENCH_SIZES_MIB ?? "1.5,16,24,32,34,36,40,48,64").split(",").map(Number);

const edge = await createEdge({ log: createLogger({ service: "bench-body-limit", level: "warn" }) });
edge.app.post("/graphql", async () => ({ data: null }));
const { url } = await edge.listen(0, "127.0.0.1");
const bounds = `${LINGER.totalMs / 1000} s in all, ${LINGER.idleMs / 1000} s idle, ${LINGER.bytes / MiB} MiB`;
console.log(`body limit ${MAX_BODY_BYTES / MiB} MiB; lingering close: ${bounds}`);
console.log("size MiB  framing         413 read, body written whole");
for (const size of sizes) {
  for (const chunked of [false, true]) {
    let read = 0;
    for (let i = 0; i < runs; i++) {
      const r = await uploadWholeBody(`${url}/graphql`, { size: Math.round(size * MiB), chunked });
      if (r.status === 413 && r.bodyWritten) read += 1;
    }
    console.log(`${String(size).padStart(8)}  ${(chunked ? "chunked" : "Content-Length").padEnd(14)}  ${read}/${runs}`);
  }
}
await edge.close(1_000);
