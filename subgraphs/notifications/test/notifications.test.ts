// The notifications subgraph on its own database, fed by the event feeds of users and food (the
// services whose events these tests cause), called directly as the gateway calls it: what a
// user's list holds, paging, marking read, and who may see it. Without SMTP_URL mails go to the log.
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import {
  OPS,
  createTenv,
  createTestUser,
  errorCodes,
  seededAdmin,
  type ServiceHandle,
  type Tenv,
  type TestUser,
} from "@pooya/e2e";

let tenv: Tenv;
let users: ServiceHandle<"users">;
let food: ServiceHandle<"food">;
let notifications: ServiceHandle<"notifications">;
let staff: { userId: string; role: "STAFF" };
beforeAll(async () => {
  tenv = await createTenv();
  users = await tenv.service("users");
  food = await tenv.service("food");
  notifications = await tenv.service("notifications");
  staff = await seededAdmin(users);
});
afterAll(() => tenv?.dispose());

// The User is the users service's; notifications adds its list to it (an entity reference, as the gateway asks).
const LIST = `query($r: [_Any!]!, $first: Int, $after: String, $unread: Boolean) {
  _entities(representations: $r) { ... on User {
    unreadNotificationCount
    notifications(first: $first, after: $after, unreadOnly: $unread) {
      totalCount edges { node { id kind title read } } pageInfo { hasNextPage endCursor }
    }
  } }
}`;
interface List {
  unreadNotificationCount: number;
  notifications: {
    totalCount: number;
    edges: { node: { id: string; kind: string; title: string; read: boolean } }[];
    pageInfo: { hasNextPage: boolean; endCursor: string };
  };
}
async function listOf(user: TestUser, variables: Record<string, unknown> = {}): Promise<List> {
  const r = await notifications.execute({
    query: LIST,
    variables: { r: [{ __typename: "User", id: user.id }], ...variables },
    viewer: user.viewer,
  });
  if (!r.data?._entities?.[0]) throw new Error(JSON.stringify(r.errors));
  return r.data._entities[0] as List;
}
const topUp = (userId: string, amount: number) =>
  food.execute({ query: OPS.topUp, variables: { u: userId, a: amount }, viewer: staff });

describe("the list", () => {
  test("a new account gets a WELCOME notification from users' event", async () => {
    const student = await createTestUser(users, "STUDENT");
    await vi.waitFor(async () => expect((await listOf(student)).notifications.totalCount).toBe(1), {
      timeout: 10_000,
      interval: 50,
    });
    const list = await listOf(student);
    expect(list.notifications.edges.map((e) => [e.node.kind, e.node.read])).toEqual([["WELCOME", false]]);
    expect(list.unreadNotificationCount).toBe(1);
  });

  // Moved from e2e/test/notifications.test.ts: only notifications (and the services whose events it reads) are involved.
  test("paging newest first, unreadOnly, markNotificationsRead (own ids only, all or nothing), markAllNotificationsRead", async () => {
    const student = await createTestUser(users, "STUDENT");
    const other = await createTestUser(users, "STUDENT");
    for (const amount of [1, 2, 3, 4, 5]) expect((await topUp(student.id, amount)).errors).toBeUndefined();
    await vi.waitFor(
      async () => {
        expect((await listOf(student)).notifications.totalCount).toBe(6);
        expect((await listOf(other)).notifications.totalCount).toBe(1);
      },
      { timeout: 10_000, interval: 50 },
    );
    const first = await listOf(student, { first: 2 });
    expect(first.notifications.edges.map((e) => e.node.title)).toEqual([
      "5 added to your wallet",
      "4 added to your wallet",
    ]);
    const second = await listOf(student, { first: 2, after: first.notifications.pageInfo.endCursor });
    expect(second.notifications.edges.map((e) => e.node.title)).toEqual([
      "3 added to your wallet",
      "2 added to your wallet",
    ]);

    const MARK = `mutation($ids: [ID!]!) { markNotificationsRead(ids: $ids) { id read readAt } }`;
    const theirs = (await listOf(other)).notifications.edges[0]!.node.id;
    const mine = first.notifications.edges.map((e) => e.node.id);
    const refused = await notifications.execute({
      query: MARK,
      variables: { ids: [...mine, theirs] },
      viewer: student.viewer,
    });
    expect(errorCodes(refused)).toEqual(["NOT_FOUND"]);
    expect(refused.errors![0]!.extensions!.ids).toEqual([theirs]);
    expect((await listOf(student)).unreadNotificationCount).toBe(6); // nothing was marked
    expect(
      errorCodes(
        await notifications.execute({ query: MARK, variables: { ids: ["not-an-id"] }, viewer: student.viewer }),
      ),
    ).toEqual(["BAD_USER_INPUT"]);

    const marked = await notifications.execute({ query: MARK, variables: { ids: mine }, viewer: student.viewer });
    expect(marked.data?.markNotificationsRead.map((n: any) => [n.id, n.read])).toEqual(mine.map((id) => [id, true]));
    const unread = await listOf(student, { unread: true, first: 100 });
    expect(unread.unreadNotificationCount).toBe(4);
    expect(unread.notifications.totalCount).toBe(4);
    expect(unread.notifications.edges.map((e) => e.node.id)).not.toContain(mine[0]);
    const all = await notifications.execute({ query: `mutation { markAllNotificationsRead }`, viewer: student.viewer });
    expect(all.data?.markAllNotificationsRead).toBe(4);
    expect((await listOf(student)).unreadNotificationCount).toBe(0);
    expect((await listOf(other)).unreadNotificationCount).toBe(1); // someone else's stay as they were
  });

  test("a list is its owner's only: another user and STAFF are FORBIDDEN; anonymous is UNAUTHENTICATED", async () => {
    const student = await createTestUser(users, "STUDENT");
    const other = await createTestUser(users, "STUDENT");
    for (const viewer of [other.viewer, staff]) {
      const r = await notifications.execute({
        query: LIST,
        variables: { r: [{ __typename: "User", id: student.id }] },
        viewer,
      });
      expect(errorCodes(r)[0], viewer.role).toBe("FORBIDDEN");
    }
    expect(errorCodes(await notifications.execute({ query: `mutation { markAllNotificationsRead }` }))).toEqual([
      "UNAUTHENTICATED",
    ]);
  });
});

describe("events that tell no one anything", () => {
  test("food's MealUpdated and MealWithdrawn are applied as nothing, and the events after them still arrive", async () => {
    const student = await createTestUser(users, "STUDENT");
    const added = await food.execute({
      query: OPS.addMeal,
      variables: { i: { name: "Kabab", mealType: "LUNCH", servingDate: "2030-01-01", price: 100, stock: 5 } },
      viewer: staff,
    });
    const mealId = added.data?.addMeal.id as string;
    const edited = await food.execute({
      query: `mutation($id: ID!) { updateMeal(id: $id, input: { price: 120 }) { id } }`,
      variables: { id: mealId },
      viewer: staff,
    });
    expect(edited.errors).toBeUndefined();
    const withdrawn = await food.execute({
      query: `mutation($id: ID!) { withdrawMeal(id: $id) { id } }`,
      variables: { id: mealId },
      viewer: staff,
    });
    expect(withdrawn.errors).toBeUndefined();
    // Written after the meal's events: once its notification is there, the feed has passed them.
    expect((await topUp(student.id, 500)).errors).toBeUndefined();
    await vi.waitFor(async () => expect((await listOf(student)).notifications.totalCount).toBe(2), {
      timeout: 10_000,
      interval: 50,
    });
    const kinds = (await listOf(student)).notifications.edges.map((e) => e.node.kind);
    expect(kinds.sort()).toEqual(["WALLET_TOPPED_UP", "WELCOME"].sort());
    const { rows } = await food.db.query(
      "SELECT id FROM outbox_events WHERE type IN ('MealUpdated', 'MealWithdrawn') AND payload->>'mealId' = $1",
      [mealId],
    );
    expect(rows).toHaveLength(2);
    const applied = await notifications.db.query("SELECT type FROM inbox_events WHERE event_id = ANY($1::uuid[])", [
      rows.map((r) => r.id),
    ]);
    expect(applied.rows.map((r) => r.type).sort()).toEqual(["MealUpdated", "MealWithdrawn"]);
  });
});
