// The food subgraph on its own database (and the users service it asks whose wallet is topped
// up), called directly as the gateway calls it: top-ups, idempotent purchases, no overselling.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  OPS,
  createTenv,
  createTestUser,
  insertTestUsers,
  day,
  errorCodes,
  seededAdmin,
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

async function addMeal(input: { stock?: number; price?: number; servingDate?: string } = {}) {
  const r = await food.execute({
    query: OPS.addMeal,
    variables: {
      i: {
        name: "Kabab",
        mealType: "LUNCH",
        servingDate: input.servingDate ?? day(2),
        price: input.price ?? 500,
        stock: input.stock ?? 100,
      },
    },
    viewer: staff,
  });
  if (!r.data?.addMeal) throw new Error(`addMeal failed: ${JSON.stringify(r.errors)}`);
  return r.data.addMeal as { id: string; stock: number; price: number };
}
const topUp = (userId: string, amount: number) =>
  food.execute({ query: OPS.topUp, variables: { u: userId, a: amount }, viewer: staff });
const buy = (buyer: TestUser, input: { mealId: string; quantity: number; idempotencyKey: string }) =>
  food.execute({ query: OPS.buy, variables: { i: input }, viewer: buyer.viewer });
const balanceOf = async (userId: string) =>
  (await food.db.query("SELECT balance FROM wallets WHERE user_id = $1", [userId])).rows[0]?.balance ?? 0;
const stockOf = async (mealId: string) =>
  (await food.db.query("SELECT stock FROM meals WHERE id = $1", [mealId])).rows[0].stock;
const ordersOf = async (userId: string) =>
  Number((await food.db.query("SELECT count(*) FROM food_orders WHERE user_id = $1", [userId])).rows[0].count);

describe("wallets", () => {
  test("STAFF tops up a known user; an unknown user is NOT_FOUND (users says so), a student is FORBIDDEN", async () => {
    const s = await createTestUser(users, "STUDENT");
    expect((await topUp(s.id, 2500)).data?.topUpWallet.balance).toBe(2500);
    expect((await topUp(s.id, 500)).data?.topUpWallet.balance).toBe(3000);
    expect(errorCodes(await topUp("00000000-0000-4000-8000-000000000000", 100))).toEqual(["NOT_FOUND"]);
    const self = await food.execute({ query: OPS.topUp, variables: { u: s.id, a: 100 }, viewer: s.viewer });
    expect(errorCodes(self)).toEqual(["FORBIDDEN"]);
    expect(await balanceOf(s.id)).toBe(3000);
  });
});

describe("buyMeal", () => {
  // Moved from e2e/test/food.test.ts (with the two concurrency tests below): only food is involved.
  test("a purchase takes stock and money in one go; replaying its key returns the same order and charges nothing", async () => {
    const s = await createTestUser(users, "STUDENT");
    await topUp(s.id, 3000);
    const meal = await addMeal({ price: 700, stock: 5 });
    const first = await buy(s, { mealId: meal.id, quantity: 2, idempotencyKey: "k-1" });
    expect(first.data?.buyMeal).toMatchObject({
      quantity: 2,
      totalPrice: 1400,
      status: "CONFIRMED",
      meal: { id: meal.id, stock: 3 },
    });
    const replay = await buy(s, { mealId: meal.id, quantity: 2, idempotencyKey: "k-1" });
    expect(replay.data?.buyMeal.id).toBe(first.data?.buyMeal.id);
    expect(await balanceOf(s.id)).toBe(1600);
    expect(await stockOf(meal.id)).toBe(3);
    const reused = await buy(s, { mealId: meal.id, quantity: 1, idempotencyKey: "k-1" });
    expect(errorCodes(reused)).toEqual(["CONFLICT"]);
    const mine = await food.execute({
      query: `{ myOrders { id totalPrice meal { id } buyer { id } } }`,
      viewer: s.viewer,
    });
    expect(mine.data?.myOrders).toEqual([
      { id: first.data?.buyMeal.id, totalPrice: 1400, meal: { id: meal.id }, buyer: { id: s.id } },
    ]);
  });

  test("the last servings are never oversold", async () => {
    const meal = await addMeal({ price: 100, stock: 5 });
    const buyers = await insertTestUsers(users, "STUDENT", 12);
    for (const b of buyers) await topUp(b.id, 1000);
    const results = await Promise.all(
      buyers.map((b, i) => buy(b, { mealId: meal.id, quantity: 1, idempotencyKey: `race-${i}` })),
    );
    expect(results.filter((r) => r.data?.buyMeal).length).toBe(5);
    expect(results.filter((r) => errorCodes(r)[0] === "SOLD_OUT").length).toBe(7);
    expect(await stockOf(meal.id)).toBe(0);
    const paid = await food.db.query(
      "SELECT count(*) FROM ledger_entries WHERE reason = 'PURCHASE' AND user_id = ANY($1::uuid[])",
      [buyers.map((b) => b.id)],
    );
    expect(Number(paid.rows[0].count)).toBe(5);
  });

  test("50 parallel purchases with one idempotency key: one order, one charge", async () => {
    const s = await createTestUser(users, "STUDENT");
    await topUp(s.id, 10_000);
    const meal = await addMeal({ price: 300, stock: 100 });
    const results = await Promise.all(
      Array.from({ length: 50 }, () => buy(s, { mealId: meal.id, quantity: 2, idempotencyKey: "same-key" })),
    );
    expect(results.map((r) => r.errors)).toEqual(Array(50).fill(undefined));
    expect(new Set(results.map((r) => r.data?.buyMeal.id)).size).toBe(1);
    expect(await ordersOf(s.id)).toBe(1);
    expect(await balanceOf(s.id)).toBe(10_000 - 600);
    expect(await stockOf(meal.id)).toBe(98);
  });
});
