// The events food publishes (docs/events.md is generated from this catalogue). Money is in the
// smallest currency unit, days are YYYY-MM-DD.
import { defineEvents, eventFields } from "@pooya/platform";
import { z } from "zod";

const meal = {
  mealId: eventFields.id(),
  mealName: z.string(),
  mealType: z.enum(["BREAKFAST", "LUNCH", "DINNER"]),
  servingDate: eventFields.day(),
};

export const foodEvents = defineEvents("food", {
  FoodOrderConfirmed: {
    version: 1,
    description: "A student bought servings of a meal: stock taken, wallet charged (an idempotent replay writes no second event).",
    payload: z.object({
      orderId: eventFields.id(),
      userId: eventFields.id(),
      ...meal,
      quantity: z.number().int(),
      unitPrice: eventFields.money(),
      totalPrice: eventFields.money(),
      balanceAfter: eventFields.money().describe("The wallet's balance once charged"),
    }),
  },
  FoodOrderCancelled: {
    version: 1,
    description: "The buyer cancelled an order before its serving date: refunded and restocked.",
    payload: z.object({
      orderId: eventFields.id(),
      userId: eventFields.id(),
      ...meal,
      quantity: z.number().int(),
      refund: eventFields.money(),
      balanceAfter: eventFields.money().describe("The wallet's balance once refunded"),
    }),
  },
  WalletToppedUp: {
    version: 1,
    description: "Staff added money to a user's wallet.",
    payload: z.object({
      userId: eventFields.id(),
      amount: eventFields.money(),
      balanceAfter: eventFields.money(),
      toppedUpBy: eventFields.id(),
    }),
  },
});
