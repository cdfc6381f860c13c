// Food through the gateway: meals, wallets, purchases with idempotency keys, cancellations.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { errorCodes, startFederation, type Federation } from "../src/harness.ts";
import { OPS, addMeal, day, topUp } from "../src/fixtures.ts";

let fed: Federation;
let student: Awaited<ReturnType<Federation["createUser"]>>;
let teacher: typeof student;
beforeAll(async () => {
  fed = await startFederation();
  student = await fed.createUser("STUDENT");
  teacher = await fed.createUser("TEACHER");
});
afterAll(() => fed?.close());

const buy = (token: string, input: { mealId: string; quantity: number; idempotencyKey: string }) =>
  fed.execute({ query: OPS.buy, variables: { i: input }, token });
const balanceOf = async (userId: string) =>
  (await fed.db.food.query("SELECT balance FROM wallets WHERE user_id = $1", [userId])).rows[0]?.balance ?? 0;
const stockOf = async (mealId: string) =>
  (await fed.db.food.query("SELECT stock FROM meals WHERE id = $1", [mealId])).rows[0].stock;
const ordersOf = async (userId: string) =>
  Number((await fed.db.food.query("SELECT count(*) FROM food_orders WHERE user_id = $1", [userId])).rows[0].count);

describe("meals", () => {
  test("STAFF adds meals; others are FORBIDDEN; bad input is BAD_USER_INPUT with nothing written", async () => {
    const meal = await addMeal(fed, { name: "Ghormeh sabzi", stock: 10, price: 1200, servingDate: day(3) });
    expect(meal).toMatchObject({ stock: 10, price: 1200 });
    const input = { name: "X", mealType: "DINNER", servingDate: day(3), price: 100, stock: 1 };
    const count = async () => Number((await fed.db.food.query("SELECT count(*) FROM meals")).rows[0].count);
    const before = await count();
    expect(
      errorCodes(await fed.execute({ query: OPS.addMeal, variables: { i: input }, token: student.token })),
    ).toEqual(["FORBIDDEN"]);
    expect(
      errorCodes(await fed.execute({ query: OPS.addMeal, variables: { i: input }, token: teacher.token })),
    ).toEqual(["FORBIDDEN"]);
    for (const bad of [
      { ...input, price: -1 },
      { ...input, stock: -5 },
      { ...input, name: "" },
      { ...input, servingDate: "2026-13-01" },
    ]) {
      expect(
        errorCodes(await fed.execute({ query: OPS.addMeal, variables: { i: bad }, token: fed.admin.token })),
      ).toEqual(["BAD_USER_INPUT"]);
    }
    expect(await count()).toBe(before);
  });

  test("meals(from, to) lists the days asked for, in order; a reversed range is BAD_USER_INPUT", async () => {
    const a = await addMeal(fed, { name: "Adasi", servingDate: day(10) });
    const b = await addMeal(fed, { name: "Kuku", servingDate: day(11) });
    await addMeal(fed, { name: "Later", servingDate: day(20) });
    const r = await fed.execute({
      query: `query($f: Date, $t: Date) { meals(from: $f, to: $t) { id servingDate } }`,
      variables: { f: day(10), t: day(11) },
      token: student.token,
    });
    expect(r.data?.meals.map((m: any) => m.id)).toEqual([a.id, b.id]);
    expect(
      errorCodes(
        await fed.execute({
          query: `query($f: Date, $t: Date) { meals(from: $f, to: $t) { id } }`,
          variables: { f: day(11), t: day(10) },
          token: student.token,
        }),
      ),
    ).toEqual(["BAD_USER_INPUT"]);
  });
});

describe("wallets", () => {
  test("STAFF tops up; the wallet shows to its owner and STAFF only; unknown user NOT_FOUND; non-positive amount BAD_USER_INPUT", async () => {
    const s = await fed.createUser("STUDENT");
    expect(await topUp(fed, s.id, 5000)).toBe(5000);
    expect(await topUp(fed, s.id, 250)).toBe(5250);
    expect(
      (await fed.execute({ query: `{ me { wallet { balance } } }`, token: s.token })).data?.me.wallet.balance,
    ).toBe(5250);
    expect(errorCodes(await fed.execute({ query: OPS.topUp, variables: { u: s.id, a: 100 }, token: s.token }))).toEqual(
      ["FORBIDDEN"],
    );
    expect(
      errorCodes(
        await fed.execute({
          query: OPS.topUp,
          variables: { u: "00000000-0000-4000-8000-000000000000", a: 100 },
          token: fed.admin.token,
        }),
      ),
    ).toEqual(["NOT_FOUND"]);
    expect(
      errorCodes(await fed.execute({ query: OPS.topUp, variables: { u: s.id, a: 0 }, token: fed.admin.token })),
    ).toEqual(["BAD_USER_INPUT"]);
    expect(await balanceOf(s.id)).toBe(5250);
    const ledger = await fed.db.food.query("SELECT sum(amount)::int AS total FROM ledger_entries WHERE user_id = $1", [
      s.id,
    ]);
    expect(ledger.rows[0].total).toBe(5250);
  });

  test("a new user has no wallet yet (null)", async () => {
    const s = await fed.createUser("STUDENT");
    expect(
      (await fed.execute({ query: `{ me { wallet { balance } foodOrders { id } } }`, token: s.token })).data?.me,
    ).toEqual({ wallet: null, foodOrders: [] });
  });
});

describe("buyMeal and cancelOrder", () => {
  test("SOLD_OUT and INSUFFICIENT_FUNDS leave stock, balance and orders as they were", async () => {
    const s = await fed.createUser("STUDENT");
    await topUp(fed, s.id, 1000);
    const meal = await addMeal(fed, { price: 600, stock: 3 });
    expect(errorCodes(await buy(s.token, { mealId: meal.id, quantity: 4, idempotencyKey: "too-many" }))).toEqual([
      "SOLD_OUT",
    ]);
    expect(errorCodes(await buy(s.token, { mealId: meal.id, quantity: 2, idempotencyKey: "too-dear" }))).toEqual([
      "INSUFFICIENT_FUNDS",
    ]);
    expect(await stockOf(meal.id)).toBe(3);
    expect(await balanceOf(s.id)).toBe(1000);
    expect(await ordersOf(s.id)).toBe(0);
    const broke = await fed.createUser("STUDENT");
    expect(errorCodes(await buy(broke.token, { mealId: meal.id, quantity: 1, idempotencyKey: "no-wallet" }))).toEqual([
      "INSUFFICIENT_FUNDS",
    ]);
  });

  test("unknown meal NOT_FOUND; non-students FORBIDDEN; bad quantity or key BAD_USER_INPUT", async () => {
    const meal = await addMeal(fed);
    expect(
      errorCodes(
        await buy(student.token, { mealId: "00000000-0000-4000-8000-000000000000", quantity: 1, idempotencyKey: "x" }),
      ),
    ).toEqual(["NOT_FOUND"]);
    expect(errorCodes(await buy(teacher.token, { mealId: meal.id, quantity: 1, idempotencyKey: "x" }))).toEqual([
      "FORBIDDEN",
    ]);
    expect(errorCodes(await buy(student.token, { mealId: meal.id, quantity: 0, idempotencyKey: "x" }))).toEqual([
      "BAD_USER_INPUT",
    ]);
    expect(errorCodes(await buy(student.token, { mealId: meal.id, quantity: 1, idempotencyKey: " " }))).toEqual([
      "BAD_USER_INPUT",
    ]);
  });

  test("cancel refunds and restocks; only the buyer may, once, and only before the serving date", async () => {
    const s = await fed.createUser("STUDENT");
    await topUp(fed, s.id, 5000);
    const meal = await addMeal(fed, { price: 1000, stock: 4, servingDate: day(2) });
    const order = (await buy(s.token, { mealId: meal.id, quantity: 2, idempotencyKey: "c-1" })).data?.buyMeal;
    const other = await fed.createUser("STUDENT");
    expect(
      errorCodes(await fed.execute({ query: OPS.cancel, variables: { o: order.id }, token: other.token })),
    ).toEqual(["FORBIDDEN"]);
    const cancelled = await fed.execute({ query: OPS.cancel, variables: { o: order.id }, token: s.token });
    expect(cancelled.data?.cancelOrder).toEqual({ id: order.id, status: "CANCELLED" });
    expect(await balanceOf(s.id)).toBe(5000);
    expect(await stockOf(meal.id)).toBe(4);
    expect(errorCodes(await fed.execute({ query: OPS.cancel, variables: { o: order.id }, token: s.token }))).toEqual([
      "CONFLICT",
    ]);
    expect(
      errorCodes(
        await fed.execute({
          query: OPS.cancel,
          variables: { o: "00000000-0000-4000-8000-000000000000" },
          token: s.token,
        }),
      ),
    ).toEqual(["NOT_FOUND"]);

    const todays = await addMeal(fed, { price: 100, stock: 4, servingDate: day(0) });
    const late = (await buy(s.token, { mealId: todays.id, quantity: 1, idempotencyKey: "c-2" })).data?.buyMeal;
    expect(errorCodes(await fed.execute({ query: OPS.cancel, variables: { o: late.id }, token: s.token }))).toEqual([
      "CONFLICT",
    ]);
    expect(await balanceOf(s.id)).toBe(4900);
  });

  test("a meal already served cannot be bought", async () => {
    const past = await addMeal(fed, { servingDate: day(-1) });
    expect(errorCodes(await buy(student.token, { mealId: past.id, quantity: 1, idempotencyKey: "past" }))).toEqual([
      "BAD_USER_INPUT",
    ]);
  });
});

// "a purchase … replaying its key …" and the concurrency tests (no overselling, one key: one
// order) moved to subgraphs/food/test/purchases.test.ts: only the food subgraph is involved.

describe("updateMeal and withdrawMeal through the gateway", () => {
  test("staff's edit is what students read next; a withdrawn meal is refused with its reason and leaves meals", async () => {
    const s = await fed.createUser("STUDENT");
    await topUp(fed, s.id, 5000);
    const meal = await addMeal(fed, { name: "Dizi", price: 900, stock: 20, servingDate: day(12) });
    const edit = await fed.execute({
      query: `mutation($id: ID!, $i: UpdateMealInput!) { updateMeal(id: $id, input: $i) { id name price stock available } }`,
      variables: { id: meal.id, i: { name: "Dizi sangi", price: 1100, stock: 7 } },
      token: fed.admin.token,
    });
    expect(edit.data?.updateMeal).toEqual({ id: meal.id, name: "Dizi sangi", price: 1100, stock: 7, available: true });
    const refusedEdit = await fed.execute({
      query: `mutation($id: ID!) { updateMeal(id: $id, input: { stock: -1 }) { id } }`,
      variables: { id: meal.id },
      token: fed.admin.token,
    });
    expect(refusedEdit.errors?.map((e) => [e.extensions?.code, e.extensions?.field])).toEqual([
      ["BAD_USER_INPUT", "stock"],
    ]);
    const menu = (token: string) =>
      fed
        .execute({
          query: `query($d: Date!) { meals(from: $d, to: $d) { id name price stock available } }`,
          variables: { d: day(12) },
          token,
        })
        .then((r) => r.data?.meals.filter((m: { id: string }) => m.id === meal.id));
    expect(await menu(s.token)).toEqual([{ id: meal.id, name: "Dizi sangi", price: 1100, stock: 7, available: true }]);
    expect((await buy(s.token, { mealId: meal.id, quantity: 2, idempotencyKey: "dizi" })).data?.buyMeal).toMatchObject({
      totalPrice: 2200,
    });

    const withdrawn = await fed.execute({
      query: `mutation($id: ID!) { withdrawMeal(id: $id) { id available } }`,
      variables: { id: meal.id },
      token: fed.admin.token,
    });
    expect(withdrawn.data?.withdrawMeal).toEqual({ id: meal.id, available: false });
    const refused = await buy(s.token, { mealId: meal.id, quantity: 1, idempotencyKey: "dizi-2" });
    expect(refused.errors?.map((e) => [e.extensions?.code, e.extensions?.reason])).toEqual([
      ["CONFLICT", "MEAL_WITHDRAWN"],
    ]);
    expect(await menu(s.token)).toEqual([]);
    const mine = await fed.execute({
      query: `{ myOrdersConnection { edges { node { totalPrice meal { id available } } } } }`,
      token: s.token,
    });
    expect(mine.data?.myOrdersConnection.edges).toEqual([
      { node: { totalPrice: 2200, meal: { id: meal.id, available: false } } },
    ]);
  });
});
