// A smoke test of a running system through its gateway (plain JavaScript, any Node ≥ 20):
// sign in as staff, register a student, a course with a teacher, an enrollment and a top-up,
// then one query across every subgraph, and the notifications those events made.
//   node scripts/lib/smoke.mjs <gateway /graphql URL> <staff email> <staff password>
const [url, email, password] = process.argv.slice(2);
if (!url || !email || !password) throw new Error("usage: smoke.mjs <gateway url> <staff email> <staff password>");

async function call(query, variables, token) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (body.errors) throw new Error(`${query.slice(0, 60)}…: ${JSON.stringify(body.errors)}`);
  return body.data;
}

const tag = Math.random().toString(36).slice(2, 8);
const started = Date.now();
const staff = (
  await call(`mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }`, {
    e: email,
    p: password,
  })
).login.accessToken;
const student = (
  await call(`mutation($i: RegisterInput!) { register(input: $i) { accessToken user { id } } }`, {
    i: { email: `smoke-${tag}@verify.example`, password: "smoke password 1", name: "Smoke Student" },
  })
).register;
const login = await call(`mutation($e: String!) { login(email: $e, password: "smoke password 1") { user { id } } }`, {
  e: `smoke-${tag}@verify.example`,
});
if (login.login.user.id !== student.user.id) throw new Error("login returned another user");
const teacher = (
  await call(
    `mutation($i: CreateUserInput!) { createUser(input: $i) { id } }`,
    { i: { email: `teacher-${tag}@verify.example`, password: "smoke password 1", name: "Dr Smoke", role: "TEACHER" } },
    staff,
  )
).createUser;
const course = (
  await call(
    `mutation($i: CreateCourseInput!) { createCourse(input: $i) { id } }`,
    { i: { code: `SMK${tag.slice(0, 4).toUpperCase()}`, title: "Smoke Signals", capacity: 10, teacherId: teacher.id } },
    staff,
  )
).createCourse;
await call(`mutation($c: ID!) { enroll(courseId: $c) { id } }`, { c: course.id }, student.accessToken);
await call(`mutation($u: ID!) { topUpWallet(userId: $u, amount: 5000) { balance } }`, { u: student.user.id }, staff);

let me;
for (let i = 0; i < 100; i++) {
  me = (
    await call(
      `{ me { name enrolledCourses { code teacher { name } } attendance { status } wallet { balance } unreadNotificationCount notifications(first: 10) { edges { node { kind } } } } }`,
      {},
      student.accessToken,
    )
  ).me;
  if (me.unreadNotificationCount >= 3) break;
  await new Promise((resolve) => setTimeout(resolve, 100));
}
const kinds = me.notifications.edges.map((e) => e.node.kind).sort();
const expected = ["ENROLLED", "WALLET_TOPPED_UP", "WELCOME"];
if (
  me.name !== "Smoke Student" ||
  me.enrolledCourses[0]?.teacher.name !== "Dr Smoke" ||
  me.wallet.balance !== 5000 ||
  JSON.stringify(kinds) !== JSON.stringify(expected)
) {
  throw new Error(`unexpected answer: ${JSON.stringify(me)}`);
}
console.log(
  `smoke test passed in ${Date.now() - started} ms: register, login, course, enrollment, top-up; one query across users, courses, attendance, food and notifications; notifications ${kinds.join(", ")}`,
);
