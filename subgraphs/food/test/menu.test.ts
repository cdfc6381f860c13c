// Staff's edits of the menu on the food subgraph alone (and the users service it asks about
// wallets): updateMeal and withdrawMeal, who may, what placed orders keep, stock set against
// concurrent purchases, and the events written with each change.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  OPS,
  createTenv,
  createTestUser,
  insertTestUsers,
  day,
  errorCodes,
  seededAdmin,
  type GraphQLResponse,
  type ServiceHandle,
  type Tenv,
  type TestUser,
} from "@pooya/e2e";

let tenv: Tenv;
let users: ServiceHandle<"users">;
let food: ServiceHandle<"food">;
let staff: { userId: string; role: "STAFF" };
beforeAll(async () => {
  tenv = await createTenv();
  users = await tenv.service("users");
  food = await tenv.service("food");
  staff = await seededAdmin(users);
});
afterAll(() => tenv?.dispose());

const MEAL_FIELDS = "id name price stock available";
const UPDATE = `mutation($id: ID!, $i: UpdateMealInput!) { updateMeal(id: $id, input: $i) { ${MEAL_FIELDS} } }`;
const WITHDRAW = `mutation($id: ID!) { withdrawMeal(id: $id) { ${MEAL_FIELDS} } }`;
type Viewer = { userId: string; role: "STAFF" | "STUDENT" | "TEACHER" };

async function addMeal(input: { stock?: number; price?: number; name?: string } = {}) {
  const r = await food.execute({
    query: OPS.addMeal,
    variables: {
      i: {
        name: input.name ?? "Kabab",
        mealType: "LUNCH",
        servingDate: day(2),
        price: input.price ?? 500,
        stock: input.stock ?? 100,
      },
    },
    viewer: staff,
  });
  if (!r.data?.addMeal) throw new Error(`addMeal failed: ${JSON.stringify(r.errors)}`);
  return r.data.addMeal as { id: string; name: string; stock: number; price: number };
}
const update = (id: string, input: Record<string, unknown>, viewer: Viewer = staff) =>
  food.execute({ query: UPDATE, variables: { id, i: input }, viewer });
const withdraw = (id: string, viewer: Viewer = staff) => food.execute({ query: WITHDRAW, variables: { id }, viewer });
const topUp = (userId: string, amount: number) =>
  food.execute({ query: OPS.topUp, variables: { u: userId, a: amount }, viewer: staff });
const buy = (buyer: TestUser, mealId: string, quantity: number, idempotencyKey: string) =>
  food.execute({ query: OPS.buy, variables: { i: { mealId, quantity, idempotencyKey } }, viewer: buyer.viewer });
const mealRow = async (id: string) =>
  (await food.db.query("SELECT name, price, stock, withdrawn_at FROM meals WHERE id = $1", [id])).rows[0];
const eventsOf = async (mealId: string) =>
  (
    await food.db.query("SELECT type, payload FROM outbox_events WHERE payload->>'mealId' = $1 ORDER BY sequence", [
      mealId,
    ])
  ).rows as { type: string; payload: Record<string, unknown> }[];
const fieldOf = (r: GraphQLResponse) => r.errors?.[0]?.extensions?.field;

describe("updateMeal", () => {
  test("STAFF changes name, price and stock, each alone or together, with a MealUpdated event per change", async () => {
    const meal = await addMeal({ name: "Kabab", price: 500, stock: 10 });
    const renamed = await update(meal.id, { name: "  Kabab koobideh " });
    expect(renamed.data?.updateMeal).toEqual({
      id: meal.id,
      name: "Kabab koobideh",
      price: 500,
      stock: 10,
      available: true,
    });
    const both = await update(meal.id, { price: 650, stock: 25, name: null });
    expect(both.data?.updateMeal).toMatchObject({ name: "Kabab koobideh", price: 650, stock: 25 });
    expect(await mealRow(meal.id)).toMatchObject({ name: "Kabab koobideh", price: 650, stock: 25, withdrawn_at: null });
    expect(await eventsOf(meal.id)).toEqual([
      { type: "MealUpdated", payload: { mealId: meal.id, name: "Kabab koobideh", price: 500, stock: 10 } },
      { type: "MealUpdated", payload: { mealId: meal.id, name: "Kabab koobideh", price: 650, stock: 25 } },
    ]);
  });

  test("students and teachers are FORBIDDEN; unknown NOT_FOUND; bad input BAD_USER_INPUT at its field; nothing written", async () => {
    const meal = await addMeal({ name: "Adasi", price: 300, stock: 5 });
    const student = await createTestUser(users, "STUDENT");
    const teacher = await createTestUser(users, "TEACHER");
    expect(errorCodes(await update(meal.id, { price: 1 }, student.viewer))).toEqual(["FORBIDDEN"]);
    expect(errorCodes(await update(meal.id, { price: 1 }, teacher.viewer))).toEqual(["FORBIDDEN"]);
    expect(errorCodes(await update("00000000-0000-4000-8000-000000000000", { price: 1 }))).toEqual(["NOT_FOUND"]);
    expect(errorCodes(await update("not-a-uuid", { price: 1 }))).toEqual(["NOT_FOUND"]);
    for (const [input, field] of [
      [{ stock: -1 }, "stock"],
      [{ price: -1 }, "price"],
      [{ price: 2_000_000_000 }, "price"],
      [{ name: "   " }, "name"],
      [{ name: "x".repeat(101) }, "name"],
      [{ name: "Fine", stock: -3 }, "stock"],
      [{}, "input"],
      [{ name: null, price: null, stock: null }, "input"],
    ] as const) {
      const r = await update(meal.id, input);
      expect([JSON.stringify(input), errorCodes(r)]).toEqual([JSON.stringify(input), ["BAD_USER_INPUT"]]);
      expect(fieldOf(r)).toBe(field);
    }
    expect(await mealRow(meal.id)).toMatchObject({ name: "Adasi", price: 300, stock: 5 });
    expect(await eventsOf(meal.id)).toEqual([]);
  });

  test("a price change applies to orders placed after it; placed orders keep what they paid, refunds too", async () => {
    const s = await createTestUser(users, "STUDENT");
    await topUp(s.id, 10_000);
    const meal = await addMeal({ price: 500, stock: 10 });
    const before = await buy(s, meal.id, 2, "before");
    expect(before.data?.buyMeal.totalPrice).toBe(1000);
    expect((await update(meal.id, { price: 800 })).data?.updateMeal.price).toBe(800);
    const after = await buy(s, meal.id, 1, "after");
    expect(after.data?.buyMeal.totalPrice).toBe(800);
    // The earlier order, replayed by its key and read back, still says 1000.
    expect((await buy(s, meal.id, 2, "before")).data?.buyMeal).toMatchObject({
      id: before.data?.buyMeal.id,
      totalPrice: 1000,
    });
    const mine = await food.execute({ query: `{ myOrders { id totalPrice } }`, viewer: s.viewer });
    expect(mine.data?.myOrders).toEqual([
      { id: after.data?.buyMeal.id, totalPrice: 800 },
      { id: before.data?.buyMeal.id, totalPrice: 1000 },
    ]);
    const confirmed = (await eventsOf(meal.id)).filter((e) => e.type === "FoodOrderConfirmed");
    expect(confirmed.map((e) => [e.payload.unitPrice, e.payload.totalPrice])).toEqual([
      [500, 1000],
      [800, 800],
    ]);
    // Cancelling the first order gives back what it paid, not today's price.
    const cancelled = await food.execute({
      query: `mutation($o: ID!) { cancelOrder(orderId: $o) { id status totalPrice } }`,
      variables: { o: before.data?.buyMeal.id },
      viewer: s.viewer,
    });
    expect(cancelled.data?.cancelOrder).toMatchObject({ status: "CANCELLED", totalPrice: 1000 });
    const balance = (await food.db.query("SELECT balance FROM wallets WHERE user_id = $1", [s.id])).rows[0].balance;
    expect(balance).toBe(10_000 - 800);
  });
});

describe("stock set against concurrent purchases", () => {
  test("queued behind one row lock: the stock set first, then six buyers — exactly the new stock is sold", async () => {
    const meal = await addMeal({ price: 100, stock: 50 });
    const buyers = await insertTestUsers(users, "STUDENT", 6);
    for (const b of buyers) await topUp(b.id, 1000);
    // Hold the meal's row so that the stock change and every purchase queue on it, in this order.
    const holder = await food.db.connect();
    const waiting = async (n: number) => {
      for (;;) {
        const { rows } = await food.db.query(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
        );
        if (rows[0].n >= n) return;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };
    try {
      await holder.query("BEGIN");
      await holder.query("SELECT 1 FROM meals WHERE id = $1 FOR UPDATE", [meal.id]);
      const set = update(meal.id, { stock: 3 });
      await waiting(1);
      const purchases = Promise.all(buyers.map((b, i) => buy(b, meal.id, 1, `queued-${i}`)));
      await waiting(1 + buyers.length);
      await holder.query("COMMIT");
      expect((await set).data?.updateMeal.stock).toBe(3);
      const results = await purchases;
      expect(results.filter((r) => r.data?.buyMeal).length).toBe(3);
      expect(results.filter((r) => errorCodes(r)[0] === "SOLD_OUT").length).toBe(3);
    } finally {
      await holder.query("ROLLBACK").catch(() => undefined);
      holder.release();
    }
    expect((await mealRow(meal.id)).stock).toBe(0);
  });

  test("set amid a burst of purchases from none left: what is sold after it plus what is left is the new stock", async () => {
    const meal = await addMeal({ price: 100, stock: 0 });
    const buyers = await insertTestUsers(users, "STUDENT", 8);
    for (const b of buyers) await topUp(b.id, 1000);
    const results = await Promise.all([
      ...buyers.slice(0, 4).map((b, i) => buy(b, meal.id, 1, `burst-${i}`)),
      update(meal.id, { stock: 3 }),
      ...buyers.slice(4).map((b, i) => buy(b, meal.id, 1, `burst-${i + 4}`)),
    ]);
    const sold = results.filter((r) => r.data?.buyMeal).length;
    expect(results.filter((r) => r.data?.updateMeal).length).toBe(1);
    expect(sold).toBeLessThanOrEqual(3);
    expect(sold + (await mealRow(meal.id)).stock).toBe(3);
    const orders = await food.db.query(
      "SELECT coalesce(sum(quantity), 0)::int AS n FROM food_orders WHERE meal_id = $1",
      [meal.id],
    );
    expect(orders.rows[0].n).toBe(sold);
  });
});

describe("withdrawMeal", () => {
  test("a withdrawn meal takes no orders, leaves meals (not allMeals), refuses edits; placed orders stay", async () => {
    const s = await createTestUser(users, "STUDENT");
    await topUp(s.id, 5000);
    const meal = await addMeal({ name: "Withdrawn stew", price: 400, stock: 10 });
    const placed = await buy(s, meal.id, 1, "placed");
    expect(placed.data?.buyMeal).toBeDefined();
    expect(errorCodes(await withdraw(meal.id, s.viewer))).toEqual(["FORBIDDEN"]);
    const w = await withdraw(meal.id);
    expect(w.data?.withdrawMeal).toMatchObject({ id: meal.id, available: false, stock: 9 });
    // Again: the same answer, no second event.
    expect((await withdraw(meal.id)).data?.withdrawMeal).toMatchObject({ id: meal.id, available: false });
    expect(errorCodes(await withdraw("00000000-0000-4000-8000-000000000000"))).toEqual(["NOT_FOUND"]);

    const refused = await buy(s, meal.id, 1, "after-withdrawal");
    expect(errorCodes(refused)).toEqual(["CONFLICT"]);
    expect(refused.errors?.[0]?.extensions?.reason).toBe("MEAL_WITHDRAWN");
    const edit = await update(meal.id, { price: 1 });
    expect(errorCodes(edit)).toEqual(["CONFLICT"]);
    expect(edit.errors?.[0]?.extensions?.reason).toBe("MEAL_WITHDRAWN");
    expect(await mealRow(meal.id)).toMatchObject({ price: 400, stock: 9 });

    const range = { f: day(2), t: day(2) };
    const listed = (viewer: Viewer, field = "meals") =>
      food
        .execute({
          query: `query($f: Date, $t: Date) { list: ${field}(from: $f, to: $t) { id available } }`,
          variables: range,
          viewer,
        })
        .then((r) => r.data?.list.filter((m: { id: string }) => m.id === meal.id));
    expect(await listed(s.viewer)).toEqual([]);
    expect(await listed(staff)).toEqual([]);
    expect(await listed(staff, "allMeals")).toEqual([{ id: meal.id, available: false }]);
    expect(errorCodes(await food.execute({ query: `{ allMeals { id } }`, viewer: s.viewer }))).toEqual(["FORBIDDEN"]);

    // The buyer's order is untouched and still shows its meal.
    const mine = await food.execute({
      query: `{ myOrders { id totalPrice status meal { id name available } } }`,
      viewer: s.viewer,
    });
    expect(mine.data?.myOrders).toEqual([
      {
        id: placed.data?.buyMeal.id,
        totalPrice: 400,
        status: "CONFIRMED",
        meal: { id: meal.id, name: "Withdrawn stew", available: false },
      },
    ]);
    expect((await eventsOf(meal.id)).map((e) => e.type)).toEqual(["FoodOrderConfirmed", "MealWithdrawn"]);
    expect((await eventsOf(meal.id))[1]!.payload).toEqual({ mealId: meal.id });
  });

  test("a withdrawal racing purchases: every purchase is either before it or refused", async () => {
    const meal = await addMeal({ price: 100, stock: 100 });
    const buyers = await insertTestUsers(users, "STUDENT", 8);
    for (const b of buyers) await topUp(b.id, 1000);
    const results = await Promise.all([
      ...buyers.slice(0, 4).map((b, i) => buy(b, meal.id, 1, `w-${i}`)),
      withdraw(meal.id),
      ...buyers.slice(4).map((b, i) => buy(b, meal.id, 1, `w-${i + 4}`)),
    ]);
    const sold = results.filter((r) => r.data?.buyMeal).length;
    const refused = results.filter((r) => r.errors?.[0]?.extensions?.reason === "MEAL_WITHDRAWN").length;
    expect(sold + refused).toBe(8);
    expect((await mealRow(meal.id)).stock).toBe(100 - sold);
    // Outbox order is commit order for one row's changes: no purchase event after the withdrawal.
    const types = (await eventsOf(meal.id)).map((e) => e.type);
    expect(types.filter((t) => t === "FoodOrderConfirmed").length).toBe(sold);
    expect(types.at(-1)).toBe("MealWithdrawn");
  });
});
