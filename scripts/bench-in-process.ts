// npm run bench:in-process: throughput and latency of the real gateway and subgraphs, all in this
// process on real Postgres (quick; npm run bench compares gateways side by side as separate processes).
// Prints numbers; asserts nothing. BENCH_SECONDS (default 10) per scenario, BENCH_CONNECTIONS (10).
import { IDENTITY_ASSERTION_HEADER, createIdentityAssertionSigner } from "@pooya/identity";
import { OPS, createCourse, day, insertStudents, startFederation, topUp } from "@pooya/e2e";
import { runLoad } from "./lib/load.ts";

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 10);

const fed = await startFederation();
try {
  const teacher = await fed.createUser("TEACHER");
  const course = await createCourse(fed, teacher, { capacity: 200 });
  const students = await insertStudents(fed, 200);
  for (let i = 0; i < students.length; i += 20) {
    await Promise.all(
      students
        .slice(i, i + 20)
        .map((s) => fed.execute({ query: OPS.enroll, variables: { c: course.id, s }, token: teacher.token })),
    );
  }
  for (const s of students.slice(0, 50)) {
    await fed.execute({
      query: OPS.mark,
      variables: { i: { courseId: course.id, studentId: s, date: day(-1), status: "PRESENT" } },
      token: teacher.token,
    });
    await topUp(fed, s, 1000);
  }
  const assertion = await createIdentityAssertionSigner(fed.gatewayKey)({ userId: fed.admin.userId, role: "STAFF" });
  const json = { "content-type": "application/json" };
  const scenarios = [
    {
      name: "users subgraph direct: user(id)",
      url: fed.services.users.graphqlUrl,
      headers: { ...json, [IDENTITY_ASSERTION_HEADER]: assertion },
      body: { query: `query($id: ID!) { user(id: $id) { id name email } }`, variables: { id: fed.admin.userId } },
    },
    {
      name: "gateway, one subgraph: me",
      url: fed.gateway.graphqlUrl,
      headers: { ...json, authorization: `Bearer ${fed.admin.token}` },
      body: { query: `{ me { id name email role } }` },
    },
    {
      name: "gateway, four subgraphs: course with 200 students, attendance, wallets",
      url: fed.gateway.graphqlUrl,
      headers: { ...json, authorization: `Bearer ${fed.admin.token}` },
      body: {
        query: `query($id: ID!) { course(id: $id) { code attendanceRate teacher { name } students { id name attendance(courseId: $id) { status } wallet { balance } } } }`,
        variables: { id: course.id },
      },
    },
  ];
  console.log(`warming up, then ${seconds} s per scenario with ${connections} connections (loopback)\n`);
  const rows = [];
  for (const s of scenarios) {
    const spec = { url: s.url, headers: s.headers, body: JSON.stringify(s.body), connections };
    await runLoad({ ...spec, seconds: Math.min(3, seconds) }); // warm-up: JIT, pools, JWKS caches
    const result = await runLoad({ ...spec, seconds });
    rows.push({ scenario: s.name, ...result });
    console.log(
      `${s.name}\n  ${result.rps} req/s · p50 ${result.p50} ms · p95 ${result.p95} ms · p99 ${result.p99} ms · ${result.requests} requests, ${result.errors} errors`,
    );
  }
  console.log("\n" + JSON.stringify(rows));
} finally {
  await fed.close();
}
