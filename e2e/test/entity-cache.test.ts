// The gateway's entity cache (CACHE=on) over the real federation: repeated reads are answered
// without the subgraphs, an edit is visible on the next read (the same gateway, or another
// replica sharing Redis), PRIVATE answers never reach another viewer, a subgraph that is down
// gets its entities served stale with a warning, and a Redis that goes away only costs hits.
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { setTimeout as delay } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { freePort } from "../src/free-port.ts";
import { startFederation, type Federation } from "../src/harness.ts";
import { postGraphQL, type ExecuteOptions } from "../src/tenv.ts";
import { addMeal, createCourse, enroll, insertStudents, topUp } from "../src/fixtures.ts";

type Gateway = Awaited<ReturnType<Federation["startGateway"]>>;

let fed: Federation;
let redis: ChildProcess;
let redisUrl: string;

async function startRedis(port: number) {
  const child = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    {
      stdio: ["ignore", "pipe", "ignore"],
    },
  );
  // Ready once it says so on stdout.
  await new Promise<void>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`redis-server exited with ${code}`)));
    child.stdout!.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes("Ready to accept connections")) resolve();
    });
  });
  return child;
}

beforeAll(async () => {
  const port = await freePort();
  redisUrl = `redis://127.0.0.1:${port}`;
  redis = await startRedis(port);
  fed = await startFederation();
}, 120_000);
afterAll(async () => {
  await fed?.close();
  redis?.kill("SIGKILL");
});

const call = <T = Record<string, any>>(gateway: Gateway, options: ExecuteOptions) =>
  postGraphQL<T>(gateway.graphqlUrl, options) as Promise<
    Awaited<ReturnType<typeof postGraphQL<T>>> & { extensions?: Record<string, any> }
  >;

const ROSTER = `query($id: ID!) { course(id: $id) { title studentsConnection(first: 100) { edges { node { id name } } } } }`;

/** Subgraph requests a gateway sent while `run` ran, by subgraph. */
async function requestsDuring(gateway: Gateway, run: () => Promise<unknown>) {
  const before = gateway.subgraphRequests.snapshot();
  await run();
  const after = gateway.subgraphRequests.snapshot();
  return Object.fromEntries(
    Object.entries(after)
      .map(([name, n]) => [name, n - (before[name] ?? 0)])
      .filter(([, n]) => n),
  );
}

/** Resolves with `read()`'s answer once `done` holds for it; fails after `timeoutMs`. */
async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${JSON.stringify(value)}`);
    await delay(20);
  }
}

describe("in this process", () => {
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await fed.startGateway({ CACHE: "on" });
  });

  test("a second roster asks the users subgraph for nothing it already has", async () => {
    const teacher = await fed.createUser("TEACHER");
    const course = await createCourse(fed, teacher, { capacity: 50 });
    const students = await insertStudents(fed, 30);
    for (const s of students) await enroll(fed, teacher.token, course.id, s);

    const first = await call(gateway, { query: ROSTER, variables: { id: course.id }, token: teacher.token });
    expect(first.errors).toBeUndefined();
    expect(first.data!.course.studentsConnection.edges).toHaveLength(30);
    const missesAfterFirst = gateway.entityCache.stats().miss;

    let second!: Awaited<ReturnType<typeof call>>;
    const sent = await requestsDuring(gateway, async () => {
      second = await call(gateway, { query: ROSTER, variables: { id: course.id }, token: teacher.token });
    });
    expect(second.data).toEqual(first.data);
    // courses answers the connection (maxAge 0: asked every time); the 30 names come from the cache.
    expect(sent).toEqual({ courses: 1 });
    expect(gateway.entityCache.stats().miss).toBe(missesAfterFirst);
    expect(gateway.entityCache.stats().hit).toBeGreaterThanOrEqual(30);
  });

  test("a second dashboard sends the subgraphs only what changed since the first", async () => {
    const teacher = await fed.createUser("TEACHER");
    const course = await createCourse(fed, teacher, { capacity: 20 });
    const students = await insertStudents(fed, 10);
    for (const s of students) await enroll(fed, teacher.token, course.id, s);
    await fed.eventsSettled(); // attendance's replica knows the enrollments: marks are accepted
    const dashboard = () =>
      call(gateway, {
        query: `query($id: ID!) { course(id: $id) { code attendanceRate students { name attendance(courseId: $id) { date status } wallet { balance } foodOrders { totalPrice status } } } }`,
        variables: { id: course.id },
        token: fed.admin.token, // staff: wallets and orders are the student's or staff's to see
      });
    const first = await dashboard();
    expect(first.errors?.map((e) => e.message)).toBeUndefined();
    let second!: Awaited<ReturnType<typeof dashboard>>;
    const again = await requestsDuring(gateway, async () => (second = await dashboard()));
    expect(second.data).toEqual(first.data);
    // courses: the student list (max-age 0); attendance: the course's rate (max-age 0). Names,
    // each student's attendance, wallet and orders come from the cache.
    expect(again).toEqual({ courses: 1, attendance: 1 });

    const marked = await fed.execute({
      query: `mutation($i: MarkAttendanceInput!) { markAttendance(input: $i) { id } }`,
      variables: { i: { courseId: course.id, studentId: students[3], date: "2026-12-01", status: "ABSENT" } },
      token: teacher.token,
    });
    expect(marked.errors).toBeUndefined();
    // The mark went through another gateway: this one hears of it from AttendanceMarked.
    const missesBefore = gateway.entityCache.stats().miss;
    const third = await eventually(dashboard, (r) =>
      r.data?.course.students.some((s: { attendance: { status: string }[] }) => s.attendance.length > 0),
    );
    const marks = third.data!.course.students.flatMap((s: { attendance: unknown[] }) => s.attendance);
    expect(marks).toEqual([{ date: "2026-12-01", status: "ABSENT" }]);
    // The event names the student (and the course): that one student's entries were asked again,
    // one fetch each from users, attendance and food; the other nine came from the cache.
    expect(gateway.entityCache.stats().miss - missesBefore).toBe(3);
  });

  test("a teacher renames their course: the next read shows the new title", async () => {
    const teacher = await fed.createUser("TEACHER");
    const course = await createCourse(fed, teacher, { title: "Old title" });
    const read = () =>
      call(gateway, {
        query: `query($id: ID!) { course(id: $id) { title } }`,
        variables: { id: course.id },
        token: teacher.token,
      });
    expect((await read()).data!.course.title).toBe("Old title");
    expect((await read()).data!.course.title).toBe("Old title"); // cached
    const renamed = await call(gateway, {
      query: `mutation($id: ID!, $i: UpdateCourseInput!) { updateCourse(id: $id, input: $i) { id title } }`,
      variables: { id: course.id, i: { title: "New title" } },
      token: teacher.token,
    });
    expect(renamed.errors).toBeUndefined();
    expect((await read()).data!.course.title).toBe("New title");
  });

  test("PRIVATE answers are cached per viewer: one student's email and `me` never reach another", async () => {
    const a = await fed.createUser("STUDENT", "Student A");
    const b = await fed.createUser("STUDENT", "Student B");
    const me = `{ me { id name email } }`;
    for (let i = 0; i < 2; i++) {
      const asA = await call(gateway, { query: me, token: a.token });
      const asB = await call(gateway, { query: me, token: b.token });
      expect(asA.data!.me).toEqual({ id: a.id, name: "Student A", email: a.email });
      expect(asB.data!.me).toEqual({ id: b.id, name: "Student B", email: b.email });
    }
    expect(gateway.entityCache.stats().hit).toBeGreaterThan(0);
  });
});

describe("heard through the events, by a replica that did not make the change", () => {
  let replica: Gateway;
  beforeAll(async () => {
    replica = await fed.startGateway({ CACHE: "on" });
  });

  test("a course renamed through another gateway is evicted here by its CourseUpdated event", async () => {
    const teacher = await fed.createUser("TEACHER");
    const course = await createCourse(fed, teacher, { title: "Heard" });
    const read = () =>
      call(replica, {
        query: `query($id: ID!) { course(id: $id) { title } }`,
        variables: { id: course.id },
        token: teacher.token,
      });
    expect((await read()).data!.course.title).toBe("Heard");
    const evictedBefore = replica.entityCache.stats().evictions.event;
    const renamed = await fed.execute({
      query: `mutation($id: ID!, $i: UpdateCourseInput!) { updateCourse(id: $id, input: $i) { id } }`,
      variables: { id: course.id, i: { title: "Heard, renamed" } },
      token: teacher.token,
    });
    expect(renamed.errors).toBeUndefined();
    await eventually(read, (r) => r.data?.course.title === "Heard, renamed");
    expect(replica.entityCache.stats().evictions.event).toBeGreaterThan(evictedBefore);
  });

  test("a deactivated account's access token is refused at the gateway once the event arrives", async () => {
    const student = await fed.createUser("STUDENT");
    const me = () => call(replica, { query: `{ me { id } }`, token: student.token });
    expect((await me()).data!.me.id).toBe(student.id);
    const deactivated = await fed.execute({
      query: `mutation($id: ID!) { deactivateUser(id: $id) { id active } }`,
      variables: { id: student.id },
      token: fed.admin.token,
    });
    expect(deactivated.errors).toBeUndefined();
    const refused = await eventually(me, (r) => r.status === 401);
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: "UNAUTHENTICATED", reason: "ACCOUNT_DEACTIVATED" });
  });
});

describe("staff's meal edits", () => {
  let gateway: Gateway;
  let other: Gateway;
  beforeAll(async () => {
    gateway = await fed.startGateway({ CACHE: "on" });
    // A replica of its own (no Redis): only food's events can tell it a meal changed.
    other = await fed.startGateway({ CACHE: "on" });
  });
  const EDIT = `mutation($id: ID!, $i: UpdateMealInput!) { updateMeal(id: $id, input: $i) { id name price } }`;

  test("a price change and a withdrawal: the next read through the same gateway shows them", async () => {
    const student = await fed.createUser("STUDENT");
    const meal = await addMeal(fed, { name: "Kashk bademjan", price: 700 });
    const day = (await fed.db.food.query("SELECT serving_date::text AS d FROM meals WHERE id = $1", [meal.id])).rows[0]
      .d as string;
    const menu = async () =>
      (
        await call(gateway, {
          query: `query($d: Date!) { meals(from: $d, to: $d) { id name price } }`,
          variables: { d: day },
          token: student.token,
        })
      ).data!.meals.filter((m: { id: string }) => m.id === meal.id);
    const one = async () =>
      (
        await call(gateway, {
          query: `query($id: ID!) { meal(id: $id) { name price available } }`,
          variables: { id: meal.id },
          token: student.token,
        })
      ).data!.meal;
    expect(await menu()).toEqual([{ id: meal.id, name: "Kashk bademjan", price: 700 }]);
    expect(await one()).toEqual({ name: "Kashk bademjan", price: 700, available: true });
    expect(await requestsDuring(gateway, menu)).toEqual({}); // cached
    expect(await requestsDuring(gateway, one)).toEqual({}); // cached
    const edited = await call(gateway, {
      query: EDIT,
      variables: { id: meal.id, i: { price: 950 } },
      token: fed.admin.token,
    });
    expect(edited.errors).toBeUndefined();
    expect(await menu()).toEqual([{ id: meal.id, name: "Kashk bademjan", price: 950 }]);
    expect(await one()).toEqual({ name: "Kashk bademjan", price: 950, available: true });
    const withdrawn = await call(gateway, {
      query: `mutation($id: ID!) { withdrawMeal(id: $id) { id } }`,
      variables: { id: meal.id },
      token: fed.admin.token,
    });
    expect(withdrawn.errors).toBeUndefined();
    expect(await menu()).toEqual([]);
    expect(await one()).toEqual({ name: "Kashk bademjan", price: 950, available: false });
  });

  test("another replica that cached the meal evicts it on food's MealUpdated event", async () => {
    const student = await fed.createUser("STUDENT");
    const meal = await addMeal(fed, { name: "Mirza ghasemi", price: 600 });
    const read = async () =>
      (
        await call(other, {
          query: `query($id: ID!) { meal(id: $id) { name price } }`,
          variables: { id: meal.id },
          token: student.token,
        })
      ).data!.meal;
    expect(await read()).toEqual({ name: "Mirza ghasemi", price: 600 });
    expect(await requestsDuring(other, read)).toEqual({}); // cached there
    const edited = await call(gateway, {
      query: EDIT,
      variables: { id: meal.id, i: { name: "Mirza ghasemi (smoked)" } },
      token: fed.admin.token,
    });
    expect(edited.errors).toBeUndefined();
    await expect.poll(read, { timeout: 10_000, interval: 50 }).toEqual({ name: "Mirza ghasemi (smoked)", price: 600 });
  });

  test("a wallet (PRIVATE) is cached per viewer: one student's balance never reaches another", async () => {
    const a = await fed.createUser("STUDENT");
    const b = await fed.createUser("STUDENT");
    await topUp(fed, a.id, 1234);
    const wallet = `{ me { id wallet { balance } } }`;
    for (let i = 0; i < 2; i++) {
      expect((await call(gateway, { query: wallet, token: a.token })).data!.me).toEqual({
        id: a.id,
        wallet: { balance: 1234 },
      });
      expect((await call(gateway, { query: wallet, token: b.token })).data!.me).toEqual({ id: b.id, wallet: null });
    }
  });
});

describe("in Redis, shared by two replicas", () => {
  let one: Gateway;
  let two: Gateway;
  beforeAll(async () => {
    one = await fed.startGateway({ CACHE: "on", REDIS_URL: redisUrl });
    two = await fed.startGateway({ CACHE: "on", REDIS_URL: redisUrl });
  });

  test("what one replica cached, the other serves; an edit through one is seen through the other", async () => {
    const teacher = await fed.createUser("TEACHER");
    const course = await createCourse(fed, teacher, { title: "Shared" });
    const read = (gateway: Gateway) =>
      call(gateway, {
        query: `query($id: ID!) { course(id: $id) { title } }`,
        variables: { id: course.id },
        token: teacher.token,
      });
    expect((await read(one)).data!.course.title).toBe("Shared");
    const sent = await requestsDuring(two, async () => expect((await read(two)).data!.course.title).toBe("Shared"));
    expect(sent).toEqual({});
    const renamed = await call(one, {
      query: `mutation($id: ID!, $i: UpdateCourseInput!) { updateCourse(id: $id, input: $i) { id } }`,
      variables: { id: course.id, i: { title: "Shared, renamed" } },
      token: teacher.token,
    });
    expect(renamed.errors).toBeUndefined();
    expect((await read(two)).data!.course.title).toBe("Shared, renamed");
  });
});

test("with food down, a cached meal is served past its max-age with a warning", async () => {
  const gateway = await fed.startGateway({ CACHE: "on", CACHE_TYPES: "Meal=1", CACHE_STALE_SECONDS: "600" });
  const meal = await addMeal(fed, { name: "Ash" });
  const student = await fed.createUser("STUDENT");
  // `meals` is a root answer of food's, cached with the Meal type's override as its max-age.
  const query = `query($d: Date!) { meals(from: $d, to: $d) { id name price } }`;
  const variables = {
    d: (await fed.db.food.query("SELECT serving_date::text AS d FROM meals WHERE id = $1", [meal.id])).rows[0].d,
  };
  const cachedAt = Date.now();
  const fresh = await call(gateway, { query, variables, token: student.token });
  expect(fresh.errors).toBeUndefined();
  expect(fresh.data!.meals).toContainEqual({ id: meal.id, name: "Ash", price: meal.price });
  await fed.stopService("food");
  // Past the entry's max-age (Meal=1 s): a wait on the clock, which is what is tested.
  await delay(Math.max(0, cachedAt + 1_100 - Date.now()));
  try {
    const stale = await call(gateway, { query, variables, token: student.token });
    expect(stale.errors).toBeUndefined();
    expect(stale.data).toEqual(fresh.data);
    expect(stale.extensions?.warnings).toEqual([expect.objectContaining({ code: "STALE_DATA", subgraph: "food" })]);
    expect(gateway.entityCache.stats().stale).toBeGreaterThan(0);
  } finally {
    await fed.startService("food");
  }
});

test("Redis killed: answers stay correct, from the subgraphs", async () => {
  const port = await freePort();
  let own = await startRedis(port);
  const gateway = await fed.startGateway({ CACHE: "on", REDIS_URL: `redis://127.0.0.1:${port}` });
  const teacher = await fed.createUser("TEACHER");
  const course = await createCourse(fed, teacher, { title: "Before the outage" });
  const read = () =>
    call(gateway, {
      query: `query($id: ID!) { course(id: $id) { title code } }`,
      variables: { id: course.id },
      token: teacher.token,
    });
  expect((await read()).data!.course.title).toBe("Before the outage");
  own.kill("SIGKILL");
  await once(own, "exit");
  const rename = (title: string) =>
    call(gateway, {
      query: `mutation($id: ID!, $i: UpdateCourseInput!) { updateCourse(id: $id, input: $i) { id } }`,
      variables: { id: course.id, i: { title } },
      token: teacher.token,
    });
  expect((await rename("During the outage")).errors).toBeUndefined();
  for (let i = 0; i < 3; i++) {
    const answer = await read();
    expect(answer.errors).toBeUndefined();
    expect(answer.data!.course.title).toBe("During the outage");
  }
  // Back: still correct, and cached again.
  own = await startRedis(port);
  try {
    for (let i = 0; i < 3; i++) expect((await read()).data!.course.title).toBe("During the outage");
  } finally {
    own.kill("SIGKILL");
  }
});
