// Notifications without a broker (the zero-setup transport: each service's event feed over
// HTTP): welcome mails at a real SMTP server, live updates over WebSocket at the gateway, the
// list and its privacy, and nothing lost while the notifications service or the mail server is down.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import { SignJWT } from "jose";
import { createIdentityAssertionSigner } from "@pooya/identity";
import { errorCodes, startFederation, type Federation } from "../src/harness.ts";
import { OPS, addMeal, createCourse, day, enroll, topUp } from "../src/fixtures.ts";
import { startSmtpServer, type SmtpServer } from "../src/smtp.ts";
import { closeOf, connectRaw, subscribeNotifications } from "../src/live.ts";

let fed: Federation;
let smtp: SmtpServer;
beforeAll(async () => {
  smtp = await startSmtpServer();
  fed = await startFederation({ env: { SMTP_URL: smtp.url, MAIL_FROM: "Pooya <panel@uni.example>" } });
});
afterAll(async () => {
  await fed?.close();
  await smtp?.stop();
});

const NOTIFICATIONS = `query($first: Int, $after: String, $unread: Boolean) {
  me { id unreadNotificationCount notifications(first: $first, after: $after, unreadOnly: $unread) { totalCount edges { cursor node { id kind title body read readAt createdAt } } pageInfo { hasNextPage endCursor } } }
}`;
const notificationsOf = async (token: string, variables: Record<string, unknown> = {}) => {
  const r = await fed.execute({ query: NOTIFICATIONS, variables, token });
  if (!r.data?.me) throw new Error(JSON.stringify(r.errors));
  return r.data.me as {
    unreadNotificationCount: number;
    notifications: {
      totalCount: number;
      edges: { node: { id: string; kind: string; title: string; body: string; read: boolean } }[];
      pageInfo: { hasNextPage: boolean; endCursor: string };
    };
  };
};
const kindsOf = async (token: string) =>
  (await notificationsOf(token, { first: 100 })).notifications.edges.map((e) => e.node.kind);

async function register(name = "New Student") {
  const email = `reg-${Math.random().toString(36).slice(2, 10)}@uni.example`;
  const r = await fed.execute({
    query: `mutation($i: RegisterInput!) { register(input: $i) { accessToken user { id } } }`,
    variables: { i: { email, password: "a fine password", name } },
  });
  if (!r.data?.register) throw new Error(JSON.stringify(r.errors));
  return { email, id: r.data.register.user.id as string, token: r.data.register.accessToken as string };
}

describe("welcome", () => {
  test("register → a welcome mail (text and HTML) arrives at the mail server and a WELCOME notification is listed", async () => {
    const user = await register("Shirin <Ebadi>");
    await vi.waitFor(() => expect(smtp.mailsTo(user.email)).toHaveLength(1), { timeout: 10_000, interval: 50 });
    const [mail] = smtp.mailsTo(user.email);
    expect(mail!.subject).toBe("Welcome to Pooya");
    expect(mail!.from).toBe("panel@uni.example");
    expect(mail!.raw).toMatch(/Content-Type: text\/plain/i);
    expect(mail!.raw).toMatch(/Content-Type: text\/html/i);
    expect(mail!.raw).toContain("Shirin &lt;Ebadi&gt;"); // escaped in the HTML part
    await vi.waitFor(async () => expect(await kindsOf(user.token)).toEqual(["WELCOME"]), {
      timeout: 5_000,
      interval: 50,
    });
    const list = await notificationsOf(user.token);
    expect(list.unreadNotificationCount).toBe(1);
    expect(list.notifications.edges[0]!.node.title).toBe("Welcome to Pooya, Shirin <Ebadi>");
    const stored = await fed.db.notifications.query("SELECT status, sent_to FROM outgoing_mails WHERE user_id = $1", [
      user.id,
    ]);
    expect(stored.rows).toEqual([{ status: "SENT", sent_to: user.email }]);
  });

  test("the mail server down: the mail waits and is sent once it is back, exactly once", async () => {
    await smtp.stop();
    const user = await register();
    await vi.waitFor(
      async () => {
        const { rows } = await fed.db.notifications.query(
          "SELECT attempts, last_error FROM outgoing_mails WHERE user_id = $1",
          [user.id],
        );
        expect(rows[0]?.attempts).toBeGreaterThanOrEqual(1);
        expect(rows[0]?.last_error).toBeTruthy();
      },
      { timeout: 10_000, interval: 50 },
    );
    expect(smtp.mailsTo(user.email)).toHaveLength(0);
    await smtp.start();
    await vi.waitFor(() => expect(smtp.mailsTo(user.email)).toHaveLength(1), { timeout: 15_000, interval: 100 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(smtp.mailsTo(user.email)).toHaveLength(1);
  }, 30_000);

  test("a mail whose recipient is not known yet waits for the account's event, and looks again less often the longer it has waited", async () => {
    const stranger = randomUUID(); // no UserRegistered for this id has arrived (nor will)
    const insert = (age: string) =>
      fed.db.notifications
        .query(
          `INSERT INTO outgoing_mails (id, user_id, template, data, source_event_id, created_at, next_attempt_at)
       VALUES (gen_random_uuid(), $1, 'ORDER_RECEIPT', '{}', gen_random_uuid(), now() - $2::interval, now()) RETURNING id`,
          [stranger, age],
        )
        .then((r) => r.rows[0].id as string);
    const fresh = await insert("0 s");
    const waiting = await insert("2 hours");
    const untilNextLook = async (id: string) =>
      (
        await fed.db.notifications.query(
          "SELECT status, attempts, extract(epoch FROM next_attempt_at - now())::float AS seconds FROM outgoing_mails WHERE id = $1",
          [id],
        )
      ).rows[0] as { status: string; attempts: number; seconds: number };
    // Both were due; the mailer found no address, so neither counts as an attempt (while it holds
    // a mail, attempts is 1 and the next look 120 s away), neither is given up.
    const looked = async (id: string) => {
      const mail = await untilNextLook(id);
      return mail.attempts === 0 && mail.seconds > 0 ? mail : undefined;
    };
    const waited = await vi.waitFor(
      async () => (await looked(waiting)) ?? Promise.reject(new Error("not looked at yet")),
      { timeout: 10_000, interval: 100 },
    );
    const justCreated = await vi.waitFor(
      async () => (await looked(fresh)) ?? Promise.reject(new Error("not looked at yet")),
      { timeout: 10_000, interval: 100 },
    );
    expect(waited.status).toBe("PENDING");
    expect(waited.seconds).toBeGreaterThan(590); // 10 minutes, not 5 s
    expect(justCreated.status).toBe("PENDING");
    expect(justCreated.seconds).toBeLessThanOrEqual(5); // the account's event usually follows within seconds
    await fed.db.notifications.query("DELETE FROM outgoing_mails WHERE user_id = $1", [stranger]);
  });
});

describe("the list", () => {
  test("receipts, cancellations, top-ups, enrollments and ABSENT/LATE marks notify the student; PRESENT and repeated marks do not", async () => {
    const teacher = await fed.createUser("TEACHER");
    const student = await fed.createUser("STUDENT");
    const course = await createCourse(fed, teacher, { title: "Quantum Cooking" });
    await enroll(fed, student.token, course.id);
    await fed.execute({
      query: OPS.mark,
      variables: { i: { courseId: course.id, studentId: student.id, date: day(-2), status: "PRESENT" } },
      token: teacher.token,
    });
    await fed.execute({
      query: OPS.mark,
      variables: { i: { courseId: course.id, studentId: student.id, date: day(-1), status: "LATE" } },
      token: teacher.token,
    });
    await fed.execute({
      query: OPS.mark,
      variables: { i: { courseId: course.id, studentId: student.id, date: day(-1), status: "LATE" } },
      token: teacher.token,
    });
    await topUp(fed, student.id, 5_000);
    const meal = await addMeal(fed, { name: "Ghormeh Sabzi", price: 1_200 });
    const bought = await fed.execute({
      query: OPS.buy,
      variables: { i: { mealId: meal.id, quantity: 2, idempotencyKey: "k1" } },
      token: student.token,
    });
    await fed.execute({
      query: OPS.buy,
      variables: { i: { mealId: meal.id, quantity: 2, idempotencyKey: "k1" } },
      token: student.token,
    }); // a replay: no second receipt
    await fed.execute({ query: OPS.cancel, variables: { o: bought.data!.buyMeal.id }, token: student.token });
    await fed.execute({ query: OPS.drop, variables: { c: course.id, s: student.id }, token: teacher.token });
    await fed.eventsSettled();

    const list = await notificationsOf(student.token, { first: 100 });
    const titles = list.notifications.edges.map((e) => e.node.title);
    expect(titles).toEqual([
      `Dropped from ${course.code} — Quantum Cooking`,
      "Order cancelled: 2 × Ghormeh Sabzi",
      "Order confirmed: 2 × Ghormeh Sabzi",
      "5,000 added to your wallet",
      `Marked LATE in ${course.code}`,
      `Enrolled in ${course.code} — Quantum Cooking`,
      "Welcome to Pooya, STUDENT " + student.email.match(/student(\d+)/)![1],
    ]);
    expect(list.notifications.edges[3]!.node.body).toBe("Your wallet was topped up by 5,000. Balance: 5,000.");
    expect(list.notifications.edges[2]!.node.body).toContain("for 2,400. Balance: 2,600.");
    expect(list.notifications.edges[4]!.node.body).toBe(`You were marked LATE in ${course.code} on ${day(-1)}.`);
    await vi.waitFor(
      () =>
        expect(
          smtp
            .mailsTo(student.email)
            .map((m) => m.subject.split(":")[0])
            .sort(),
        ).toEqual(["Order cancelled", "Receipt", "Welcome to Pooya"]),
      { timeout: 10_000, interval: 50 },
    );
  });

  test("paging newest first, unreadOnly, markNotificationsRead (own ids only, all or nothing), markAllNotificationsRead", async () => {
    const student = await fed.createUser("STUDENT");
    const other = await fed.createUser("STUDENT");
    for (const amount of [1, 2, 3, 4, 5]) await topUp(fed, student.id, amount);
    await fed.eventsSettled();
    const first = await notificationsOf(student.token, { first: 2 });
    expect(first.notifications.totalCount).toBe(6);
    expect(first.notifications.edges.map((e) => e.node.title)).toEqual([
      "5 added to your wallet",
      "4 added to your wallet",
    ]);
    const second = await notificationsOf(student.token, { first: 2, after: first.notifications.pageInfo.endCursor });
    expect(second.notifications.edges.map((e) => e.node.title)).toEqual([
      "3 added to your wallet",
      "2 added to your wallet",
    ]);

    const MARK = `mutation($ids: [ID!]!) { markNotificationsRead(ids: $ids) { id read readAt } }`;
    const theirs = (await notificationsOf(other.token)).notifications.edges[0]!.node.id;
    const mine = first.notifications.edges.map((e) => e.node.id);
    const refused = await fed.execute({ query: MARK, variables: { ids: [...mine, theirs] }, token: student.token });
    expect(errorCodes(refused)).toEqual(["NOT_FOUND"]);
    expect(refused.errors![0]!.extensions!.ids).toEqual([theirs]);
    expect((await notificationsOf(student.token)).unreadNotificationCount).toBe(6); // nothing was marked
    expect(
      errorCodes(await fed.execute({ query: MARK, variables: { ids: ["not-an-id"] }, token: student.token })),
    ).toEqual(["BAD_USER_INPUT"]);

    const marked = await fed.execute({ query: MARK, variables: { ids: mine }, token: student.token });
    expect(marked.data?.markNotificationsRead.map((n: any) => [n.id, n.read])).toEqual(mine.map((id) => [id, true]));
    const unread = await notificationsOf(student.token, { unread: true, first: 100 });
    expect(unread.unreadNotificationCount).toBe(4);
    expect(unread.notifications.totalCount).toBe(4);
    expect(unread.notifications.edges.map((e) => e.node.id)).not.toContain(mine[0]);
    const all = await fed.execute({ query: `mutation { markAllNotificationsRead }`, token: student.token });
    expect(all.data?.markAllNotificationsRead).toBe(4);
    expect((await notificationsOf(student.token)).unreadNotificationCount).toBe(0);
    expect((await notificationsOf(other.token)).unreadNotificationCount).toBe(1); // someone else's stay as they were
  });

  test("notifications are private: another user, staff included, is FORBIDDEN; anonymous is UNAUTHENTICATED", async () => {
    const student = await fed.createUser("STUDENT");
    const other = await fed.createUser("STUDENT");
    const Q = `query($id: ID!) { user(id: $id) { id notifications { totalCount } } }`;
    const asStaff = await fed.execute({ query: Q, variables: { id: student.id }, token: fed.admin.token });
    expect(errorCodes(asStaff)).toEqual(["FORBIDDEN"]);
    const asOther = await fed.execute({
      query: `query($id: ID!) { user(id: $id) { unreadNotificationCount } }`,
      variables: { id: student.id },
      token: other.token,
    });
    expect(errorCodes(asOther)[0]).toBe("FORBIDDEN");
    const anonymous = await fed.execute({ query: `mutation { markAllNotificationsRead }` });
    expect(errorCodes(anonymous)).toEqual(["UNAUTHENTICATED"]);
  });
});

// Delivery within a second on both transports: events.test.ts.
describe("live over WebSocket", () => {
  const token = (viewer: { id: string }, exp: number | string, key = fed.usersKey) =>
    new SignJWT({ role: "STUDENT" })
      .setProtectedHeader({ alg: "EdDSA", kid: key.kid, typ: "at+jwt" })
      .setIssuer("pooya-users")
      .setAudience("pooya-api")
      .setSubject(viewer.id)
      .setIssuedAt(Math.floor(Date.now() / 1000) - 60)
      .setExpirationTime(exp)
      .sign(key.privateKey);

  test("connection_init without a token or with a bad one: closed 4401; an expired one: closed 4403 (retryable); another subprotocol: refused", async () => {
    const student = await fed.createUser("STUDENT");
    const url = fed.gateway.graphqlUrl;
    expect(await connectRaw(url, undefined)).toMatchObject({ acknowledged: false, code: 4401 });
    expect(await connectRaw(url, { authorization: "Basic abc" })).toMatchObject({ acknowledged: false, code: 4401 });
    expect(await connectRaw(url, { authorization: `Bearer ${student.token}x` })).toMatchObject({
      acknowledged: false,
      code: 4401,
    });
    const expired = await token(student, Math.floor(Date.now() / 1000) - 10);
    expect(await connectRaw(url, { authorization: `Bearer ${expired}` })).toMatchObject({
      acknowledged: false,
      code: 4403,
    });
    // The retired subscriptions-transport-ws protocol: no protocol is agreed, the handshake fails.
    expect(
      await connectRaw(url, { authorization: `Bearer ${student.token}` }, { protocol: "graphql-ws" }),
    ).toMatchObject({ acknowledged: false });
    const good = await connectRaw(url, { authorization: `Bearer ${student.token}` });
    expect(good.acknowledged).toBe(true);
    good.socket.close();
  });

  test("the access token's expiry ends the subscription (4403), at the gateway and at the subgraph", async () => {
    const student = await fed.createUser("STUDENT");
    const shortLived = await token(student, Math.floor(Date.now() / 1000) + 2);
    const live = await subscribeNotifications(fed.gateway.graphqlUrl, shortLived);
    await vi.waitFor(() => expect(live.closed).toMatchObject({ code: 4403 }), { timeout: 5_000, interval: 50 });
    await live.close();
  });

  test("a subscription over HTTP is a 400 that says where they are; a query over the socket is BAD_REQUEST; one socket runs at most 20", async () => {
    const student = await fed.createUser("STUDENT");
    const overHttp = await fed.execute({ query: `subscription { notificationAdded { id } }`, token: student.token });
    expect(overHttp.status).toBe(400);
    expect(overHttp.errors![0]!.message).toMatch(/WebSocket/);
    const { socket } = await connectRaw(fed.gateway.graphqlUrl, { authorization: `Bearer ${student.token}` });
    const messages: any[] = [];
    socket.on("message", (data) => messages.push(JSON.parse(String(data))));
    socket.send(JSON.stringify({ id: "q", type: "subscribe", payload: { query: "{ me { id } }" } }));
    socket.send(
      JSON.stringify({
        id: "v",
        type: "subscribe",
        payload: { query: "subscription { notificationAdded { id nope } }" },
      }),
    );
    for (let i = 0; i < 21; i++)
      socket.send(
        JSON.stringify({
          id: `s${i}`,
          type: "subscribe",
          payload: { query: "subscription { notificationAdded { id } }" },
        }),
      );
    await vi.waitFor(() => expect(messages.filter((m) => m.type === "error")).toHaveLength(3), {
      timeout: 5_000,
      interval: 20,
    });
    const errorOf = (id: string) =>
      messages.find((m) => m.id === id && m.type === "error")?.payload[0]?.extensions?.code;
    expect(errorOf("q")).toBe("BAD_REQUEST");
    expect(errorOf("v")).toBe("GRAPHQL_VALIDATION_FAILED");
    expect(errorOf("s20")).toBe("TOO_MANY_REQUESTS");
    socket.close();
    await closeOf(socket).catch(() => undefined);
  });
});

describe("hostile and forged", () => {
  test("the notifications subgraph's own socket takes only a gateway-signed identity, and ends at the session's expiry", async () => {
    const student = await fed.createUser("STUDENT");
    const url = fed.services.notifications.graphqlUrl;
    expect(await connectRaw(url, undefined)).toMatchObject({ acknowledged: false, code: 4403 });
    expect(await connectRaw(url, { identityAssertion: "forged.jwt.value" })).toMatchObject({
      acknowledged: false,
      code: 4403,
    });
    // An access token is not an identity assertion.
    expect(await connectRaw(url, { identityAssertion: student.token })).toMatchObject({
      acknowledged: false,
      code: 4403,
    });
    const sign = createIdentityAssertionSigner(fed.gatewayKey);
    const anonymous = await sign(null);
    expect(await connectRaw(url, { identityAssertion: anonymous })).toMatchObject({ acknowledged: false, code: 4403 });
    const expiresSoon = await sign(
      { userId: student.id, role: "STUDENT" },
      "127.0.0.1",
      Math.floor(Date.now() / 1000) + 1,
    );
    const session = await connectRaw(url, { identityAssertion: expiresSoon });
    expect(session.acknowledged).toBe(true);
    expect(await closeOf(session.socket)).toMatchObject({ code: 4403 });
  });

  test("garbage frames close only that socket (4400); an oversized one too (1009); the gateway serves on", async () => {
    const student = await fed.createUser("STUDENT");
    const garbage = await connectRaw(fed.gateway.graphqlUrl, { authorization: `Bearer ${student.token}` });
    const closedGarbage = closeOf(garbage.socket);
    garbage.socket.send("{not json");
    expect((await closedGarbage).code).toBe(4400);
    const big = await connectRaw(fed.gateway.graphqlUrl, { authorization: `Bearer ${student.token}` });
    const closedBig = closeOf(big.socket);
    big.socket.send(
      JSON.stringify({
        id: "1",
        type: "subscribe",
        payload: { query: `subscription { notificationAdded { id } } # ${"x".repeat(100_000)}` },
      }),
    );
    expect((await closedBig).code).toBe(1009);
    const me = await fed.execute({ query: `{ me { id } }`, token: student.token });
    expect(me.data?.me.id).toBe(student.id);
  });

  test("an event whose payload breaks its schema is skipped and logged, and does not hold up the ones after it", async () => {
    const student = await fed.createUser("STUDENT");
    await fed.eventsSettled();
    const { rows } = await fed.db.food.query(
      `INSERT INTO outbox_events (id, type, payload) VALUES (gen_random_uuid(), 'FoodOrderConfirmed', '{"orderId": "not-a-uuid"}') RETURNING id::text`,
    );
    await topUp(fed, student.id, 42);
    await vi.waitFor(async () => expect(await kindsOf(student.token)).toContain("WALLET_TOPPED_UP"), {
      timeout: 5_000,
      interval: 50,
    });
    const inbox = await fed.db.notifications.query("SELECT count(*)::int AS n FROM inbox_events WHERE event_id = $1", [
      rows[0].id,
    ]);
    expect(inbox.rows[0].n).toBe(1); // seen, skipped
    const made = await fed.db.notifications.query(
      "SELECT count(*)::int AS n FROM notifications WHERE source_event_id = $1",
      [rows[0].id],
    );
    expect(made.rows[0].n).toBe(0);
  });
});

describe("outages", () => {
  test("notifications down for 30 s while events happen: every notification is there once it is back, exactly once", async () => {
    const teacher = await fed.createUser("TEACHER");
    const students = await Promise.all([1, 2, 3].map(() => fed.createUser("STUDENT")));
    const course = await createCourse(fed, teacher);
    const meal = await addMeal(fed, { price: 100, stock: 1_000 });
    for (const s of students) await topUp(fed, s.id, 10_000);
    await fed.eventsSettled();
    await fed.stopService("notifications");

    // 30 s of activity: enrollments, purchases, marks.
    const started = Date.now();
    let purchases = 0;
    for (const s of students) await enroll(fed, s.token, course.id);
    while (Date.now() - started < 30_000) {
      for (const s of students) {
        const r = await fed.execute({
          query: OPS.buy,
          variables: { i: { mealId: meal.id, quantity: 1, idempotencyKey: `down-${purchases}` } },
          token: s.token,
        });
        expect(r.errors).toBeUndefined();
      }
      purchases += 1;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    await fed.execute({
      query: OPS.mark,
      variables: { i: { courseId: course.id, studentId: students[0]!.id, date: day(0), status: "ABSENT" } },
      token: teacher.token,
    });

    await fed.startService("notifications");
    await fed.eventsSettled(20_000);
    for (const [i, s] of students.entries()) {
      const { rows } = await fed.db.notifications.query(
        "SELECT kind, count(*)::int AS n FROM notifications WHERE user_id = $1 GROUP BY kind ORDER BY kind",
        [s.id],
      );
      expect(Object.fromEntries(rows.map((r) => [r.kind, r.n]))).toEqual({
        WELCOME: 1,
        WALLET_TOPPED_UP: 1,
        ENROLLED: 1,
        ORDER_CONFIRMED: purchases,
        ...(i === 0 ? { ATTENDANCE_MARKED: 1 } : {}),
      });
      const duplicates = await fed.db.notifications.query(
        "SELECT source_event_id FROM notifications WHERE user_id = $1 GROUP BY source_event_id HAVING count(*) > 1",
        [s.id],
      );
      expect(duplicates.rows).toEqual([]);
    }
    await vi.waitFor(
      () => {
        for (const s of students)
          expect(smtp.mailsTo(s.email).filter((m) => m.subject.startsWith("Receipt"))).toHaveLength(purchases);
      },
      { timeout: 20_000, interval: 200 },
    );
  }, 90_000);
});
