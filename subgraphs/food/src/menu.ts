// Staff's edits of the menu: a meal's name, price and stock, and its withdrawal. Each is one
// conditional UPDATE (the row lock orders it against purchases, which decrement stock under the
// same lock) written with its event in one transaction.
import { badUserInput, notFound } from "@pooya/runtime";
import { isUuid, requireIntRange, requireText } from "@pooya/subgraph-kit";
import type { Meal } from "./generated/prisma/client.ts";
import type { FoodDb, FoodOutbox } from "./service.ts";
import { foodEvents } from "./events.ts";
import { MAX_PRICE, MAX_STOCK, mealWithdrawn } from "./canteen.ts";

export interface UpdateMealInput {
  name?: string | null;
  price?: number | null;
  stock?: number | null;
}

export function createMenu(db: FoodDb, outbox: FoodOutbox) {
  /** Why an UPDATE guarded by `withdrawn_at IS NULL` touched no row: the meal is gone or withdrawn. */
  async function refusal(id: string) {
    const meal = await db.prisma.meal.findUnique({ where: { id }, select: { name: true } });
    return meal ? mealWithdrawn(meal) : notFound("Meal", id);
  }

  return {
    /** STAFF: @requiresScopes on Mutation.updateMeal. */
    async updateMeal(id: string, input: UpdateMealInput): Promise<Meal> {
      const data: { name?: string; price?: number; stock?: number } = {};
      if (input.name != null) data.name = requireText(input.name, "name", { max: 100 });
      if (input.price != null) data.price = requireIntRange(input.price, "price", 0, MAX_PRICE);
      if (input.stock != null) data.stock = requireIntRange(input.stock, "stock", 0, MAX_STOCK);
      if (Object.keys(data).length === 0) throw badUserInput("Give at least one of name, price or stock.", "input");
      if (!isUuid(id)) throw notFound("Meal", id);
      const updated = await outbox.transaction(async (tx, emit) => {
        // Stock is set, not adjusted: purchases waiting on the row lock then take from the new value.
        const [meal] = await tx.meal.updateManyAndReturn({ where: { id, withdrawnAt: null }, data });
        if (!meal) return null;
        emit(
          foodEvents.create("MealUpdated", { mealId: meal.id, name: meal.name, price: meal.price, stock: meal.stock }),
        );
        return meal;
      });
      if (!updated) throw await refusal(id);
      return updated;
    },

    /** STAFF: @requiresScopes on Mutation.withdrawMeal. Withdrawing a withdrawn meal changes nothing. */
    async withdrawMeal(id: string): Promise<Meal> {
      if (!isUuid(id)) throw notFound("Meal", id);
      const withdrawn = await outbox.transaction(async (tx, emit) => {
        const [meal] = await tx.meal.updateManyAndReturn({
          where: { id, withdrawnAt: null },
          data: { withdrawnAt: new Date() },
        });
        if (meal) emit(foodEvents.create("MealWithdrawn", { mealId: meal.id }));
        return meal ?? null;
      });
      if (withdrawn) return withdrawn;
      const meal = await db.prisma.meal.findUnique({ where: { id } });
      if (!meal) throw notFound("Meal", id);
      return meal;
    },
  };
}

export type Menu = ReturnType<typeof createMenu>;
