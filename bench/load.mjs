// One load run with autocannon, in its own process (pinned to its own core by the caller):
// node load.mjs < '<json: url, headers, body, connections, seconds, expectBody?>' (on stdin: an
// expected dashboard is larger than one argument may be) → prints the result as JSON; with
// expectBody, `mismatches` counts the answers whose bytes differ from it.
import autocannon from "autocannon";

let input = "";
for await (const chunk of process.stdin) input += chunk;
const spec = JSON.parse(input);
const result = await autocannon({
  url: spec.url,
  method: "POST",
  headers: spec.headers,
  body: spec.body,
  connections: spec.connections,
  duration: spec.seconds,
  pipelining: 1,
  ...(spec.expectBody ? { expectBody: spec.expectBody } : {}),
});
console.log(
  JSON.stringify({
    requests: result.requests.total,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
    mismatches: result.mismatches,
  }),
);
