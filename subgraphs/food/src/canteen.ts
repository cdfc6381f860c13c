// Meals, wallets and orders. Money and stock move in one transaction with the order, by
// conditional UPDATEs (stock >= n, balance >= total), so they never go negative and the last
// servings are never sold twice. Locks are taken in one order (meal, then wallet) everywhere.
// The price charged is the one read under the meal's row lock, so a price change (menu.ts) applies
// to every order that takes stock after it, and none before.
import { badUserInput, codeLabel, conflict, domainError, forbidden, notFound } from "@pooya/runtime";
import { type Viewer } from "@pooya/identity";
import { formatDay, isUuid, requireIntRange, requireText } from "@pooya/subgraph-kit";
import type { UsersDirectory } from "@pooya/users/directory";
import { Prisma, type FoodOrder, type MealType } from "./generated/prisma/client.ts";
import type { FoodDb, FoodOutbox } from "./service.ts";
import { foodEvents } from "./events.ts";

export interface AddMealInput {
  name: string;
  description?: string | null;
  mealType: MealType;
  servingDate: Date;
  price: number;
  stock: number;
}

export interface BuyMealInput {
  mealId: string;
  quantity: number;
  idempotencyKey: string;
}

export const MAX_QUANTITY = 10;
/** Money is in the smallest currency unit. A top-up is at most MAX_TOP_UP; a wallet holds at most MAX_BALANCE. */
export const MAX_TOP_UP = 10_000_000;
export const MAX_BALANCE = 100_000_000;
export const MAX_PRICE = 10_000_000;
export const MAX_STOCK = 100_000;
const MAX_RANGE_DAYS = 92;
const DAY_MS = 24 * 3600 * 1000;

const today = () => new Date(`${new Date().toISOString().slice(0, 10)}T00:00:00.000Z`);

/** The typed refusal of buying a withdrawn meal, and of any change to it (menu.ts). */
export function mealWithdrawn(meal: { name: string }) {
  return domainError("CONFLICT", `${meal.name} was withdrawn from the menu.`, { reason: "MEAL_WITHDRAWN" });
}

function isUniqueViolation(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002";
}

/** What the canteen reports as it works (metrics). */
export interface CanteenObserver {
  purchase(outcome: string): void;
}

export function createCanteen(
  db: FoodDb,
  outbox: FoodOutbox,
  users: UsersDirectory,
  observe: CanteenObserver = { purchase: () => undefined },
) {
  async function existingOrder(userId: string, input: BuyMealInput): Promise<FoodOrder | null> {
    const order = await db.prisma.foodOrder.findUnique({
      where: { userId_idempotencyKey: { userId, idempotencyKey: input.idempotencyKey } },
    });
    if (order && (order.mealId !== input.mealId || order.quantity !== input.quantity)) {
      throw conflict("This idempotencyKey was already used for a different purchase.");
    }
    return order;
  }

  /** One purchase, or the earlier one with the same idempotency key (replayed). */
  async function buyOnce(
    viewer: NonNullable<Viewer>,
    input: BuyMealInput,
  ): Promise<{ order: FoodOrder; replayed: boolean }> {
    // A STUDENT: @requiresScopes on Mutation.buyMeal.
    requireIntRange(input.quantity, "quantity", 1, MAX_QUANTITY);
    const key = input.idempotencyKey.trim();
    if (key.length < 1 || key.length > 100)
      throw badUserInput("idempotencyKey must be 1 to 100 characters.", "idempotencyKey");
    const request = { ...input, idempotencyKey: key };
    const replay = await existingOrder(viewer.userId, request);
    if (replay) return { order: replay, replayed: true };
    const meal = isUuid(input.mealId) ? await db.prisma.meal.findUnique({ where: { id: input.mealId } }) : null;
    if (!meal) throw notFound("Meal", input.mealId);
    if (meal.withdrawnAt) throw mealWithdrawn(meal);
    if (meal.servingDate < today())
      throw badUserInput(`This meal was served on ${formatDay(meal.servingDate)}.`, "mealId");
    try {
      const order = await outbox.transaction(async (tx, emit) => {
        // The meal as it is once its servings are taken: this price (and name) is what the order pays.
        const [taken] = await tx.meal.updateManyAndReturn({
          where: { id: meal.id, stock: { gte: input.quantity }, withdrawnAt: null },
          data: { stock: { decrement: input.quantity } },
          select: { name: true, price: true },
        });
        if (!taken) {
          const now = await tx.meal.findUniqueOrThrow({ where: { id: meal.id }, select: { withdrawnAt: true } });
          if (now.withdrawnAt) throw mealWithdrawn(meal);
          throw domainError("SOLD_OUT", `Not enough servings of ${meal.name} left.`);
        }
        const totalPrice = taken.price * input.quantity;
        const [wallet] = await tx.wallet.updateManyAndReturn({
          where: { userId: viewer.userId, balance: { gte: totalPrice } },
          data: { balance: { decrement: totalPrice } },
          select: { balance: true },
        });
        if (!wallet) throw domainError("INSUFFICIENT_FUNDS", `The wallet balance does not cover ${totalPrice}.`);
        const order = await tx.foodOrder.create({
          data: {
            userId: viewer.userId,
            mealId: meal.id,
            quantity: input.quantity,
            totalPrice,
            status: "CONFIRMED",
            idempotencyKey: key,
          },
        });
        await tx.ledgerEntry.create({
          data: {
            userId: viewer.userId,
            amount: -totalPrice,
            reason: "PURCHASE",
            orderId: order.id,
            actorId: viewer.userId,
          },
        });
        emit(
          foodEvents.create("FoodOrderConfirmed", {
            orderId: order.id,
            userId: viewer.userId,
            mealId: meal.id,
            mealName: taken.name,
            mealType: meal.mealType,
            servingDate: formatDay(meal.servingDate),
            quantity: input.quantity,
            unitPrice: taken.price,
            totalPrice,
            balanceAfter: wallet.balance,
          }),
        );
        return order;
      });
      return { order, replayed: false };
    } catch (error) {
      // A concurrent request with the same key committed first: this one rolled back, charging nothing.
      if (isUniqueViolation(error)) {
        const winner = await existingOrder(viewer.userId, request);
        if (winner) return { order: winner, replayed: true };
      }
      throw error;
    }
  }

  return {
    /** STAFF: @requiresScopes on Mutation.addMeal. */
    addMeal(input: AddMealInput) {
      return db.prisma.meal.create({
        data: {
          name: requireText(input.name, "name", { max: 100 }),
          description:
            input.description == null
              ? null
              : requireText(input.description, "description", { min: 0, max: 1000 }) || null,
          mealType: input.mealType,
          servingDate: input.servingDate,
          price: requireIntRange(input.price, "price", 0, MAX_PRICE),
          stock: requireIntRange(input.stock, "stock", 0, MAX_STOCK),
        },
      });
    },

    /** The meals served in a range: withdrawn ones only when asked for (allMeals, STAFF). */
    meals(from: Date | null | undefined, to: Date | null | undefined, { withdrawn = false } = {}) {
      const start = from ?? today();
      const end = to ?? new Date(start.getTime() + 30 * DAY_MS);
      if (end < start) throw badUserInput("to must not be before from.", "to");
      if (end.getTime() - start.getTime() > MAX_RANGE_DAYS * DAY_MS)
        throw badUserInput(`Ask for at most ${MAX_RANGE_DAYS} days at a time.`, "to");
      return db.prisma.meal.findMany({
        where: { servingDate: { gte: start, lte: end }, ...(withdrawn ? {} : { withdrawnAt: null }) },
        orderBy: [{ servingDate: "asc" }, { mealType: "asc" }, { name: "asc" }],
      });
    },

    async topUp(viewer: NonNullable<Viewer>, userId: string, amount: number) {
      // STAFF: @requiresScopes on Mutation.topUpWallet.
      requireIntRange(amount, "amount", 1, MAX_TOP_UP);
      if (!isUuid(userId) || !(await users.find(userId))) throw notFound("User", userId);
      return outbox.transaction(async (tx, emit) => {
        await tx.wallet.createMany({ data: [{ userId, balance: 0 }], skipDuplicates: true });
        // One conditional UPDATE: concurrent top-ups can never carry a wallet past the ceiling.
        const [wallet] = await tx.wallet.updateManyAndReturn({
          where: { userId, balance: { lte: MAX_BALANCE - amount } },
          data: { balance: { increment: amount } },
        });
        if (!wallet) throw conflict(`A wallet holds at most ${MAX_BALANCE}; this top-up would go over it.`);
        await tx.ledgerEntry.create({ data: { userId, amount, reason: "TOP_UP", actorId: viewer.userId } });
        emit(
          foodEvents.create("WalletToppedUp", {
            userId,
            amount,
            balanceAfter: wallet.balance,
            toppedUpBy: viewer.userId,
          }),
        );
        return wallet;
      });
    },

    async buy(viewer: NonNullable<Viewer>, input: BuyMealInput): Promise<FoodOrder> {
      try {
        const { order, replayed } = await buyOnce(viewer, input);
        observe.purchase(replayed ? "replayed" : "ok");
        return order;
      } catch (error) {
        observe.purchase(codeLabel((error as { extensions?: { code?: unknown } }).extensions?.code));
        throw error;
      }
    },

    async cancel(viewer: NonNullable<Viewer>, orderId: string): Promise<FoodOrder> {
      const order = isUuid(orderId)
        ? await db.prisma.foodOrder.findUnique({ where: { id: orderId }, include: { meal: true } })
        : null;
      if (!order) throw notFound("Order", orderId);
      if (order.userId !== viewer.userId) throw forbidden("Only the buyer can cancel an order.");
      if (order.status === "CANCELLED") throw conflict("This order is already cancelled.");
      if (order.meal.servingDate <= today()) throw conflict("Orders can only be cancelled before the serving date.");
      return outbox.transaction(async (tx, emit) => {
        const cancelled = await tx.foodOrder.updateMany({
          where: { id: order.id, status: "CONFIRMED" },
          data: { status: "CANCELLED", cancelledAt: new Date() },
        });
        if (cancelled.count !== 1) throw conflict("This order is already cancelled.");
        await tx.meal.update({ where: { id: order.mealId }, data: { stock: { increment: order.quantity } } });
        const wallet = await tx.wallet.update({
          where: { userId: order.userId },
          data: { balance: { increment: order.totalPrice } },
        });
        await tx.ledgerEntry.create({
          data: {
            userId: order.userId,
            amount: order.totalPrice,
            reason: "REFUND",
            orderId: order.id,
            actorId: viewer.userId,
          },
        });
        emit(
          foodEvents.create("FoodOrderCancelled", {
            orderId: order.id,
            userId: order.userId,
            mealId: order.mealId,
            mealName: order.meal.name,
            mealType: order.meal.mealType,
            servingDate: formatDay(order.meal.servingDate),
            quantity: order.quantity,
            refund: order.totalPrice,
            balanceAfter: wallet.balance,
          }),
        );
        return tx.foodOrder.findUniqueOrThrow({ where: { id: order.id } });
      });
    },
  };
}

export type Canteen = ReturnType<typeof createCanteen>;
