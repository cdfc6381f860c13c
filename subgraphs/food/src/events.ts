// The events food publishes (docs/events.md is generated from this catalogue). Money is in the
// smallest currency unit, days are YYYY-MM-DD.
import { defineEvents, eventFields } from "@pooya/events";
import { z } from "zod";

const meal = {
  mealId: eventFields.id().describe("The meal (a Meal entity id)"),
  mealName: z.string().describe("The meal's name when ordered"),
  mealType: z.enum(["BREAKFAST", "LUNCH", "DINNER"]).describe("Which meal of the day"),
  servingDate: eventFields.day().describe("The day it is served"),
};

export const foodEvents = defineEvents("food", {
  FoodOrderConfirmed: {
    version: 1,
    description:
      "A student bought servings of a meal: stock taken, wallet charged (an idempotent replay writes no second event).",
    payload: z.object({
      orderId: eventFields.id().describe("The order (a FoodOrder id)"),
      userId: eventFields.id().describe("The buyer"),
      ...meal,
      quantity: z.number().int().describe("Servings, 1 to 10"),
      unitPrice: eventFields.money().describe("The meal's price when ordered"),
      totalPrice: eventFields.money().describe("What the wallet was charged"),
      balanceAfter: eventFields.money().describe("The wallet's balance once charged"),
    }),
    // The meal's stock; the buyer's wallet and orders.
    entities: (e) => [
      { type: "Meal", id: e.mealId },
      { type: "User", id: e.userId },
    ],
  },
  FoodOrderCancelled: {
    version: 1,
    description: "The buyer cancelled an order before its serving date: refunded and restocked.",
    payload: z.object({
      orderId: eventFields.id().describe("The order (a FoodOrder id)"),
      userId: eventFields.id().describe("The buyer"),
      ...meal,
      quantity: z.number().int().describe("Servings returned to stock"),
      refund: eventFields.money().describe("What went back to the wallet"),
      balanceAfter: eventFields.money().describe("The wallet's balance once refunded"),
    }),
    entities: (e) => [
      { type: "Meal", id: e.mealId },
      { type: "User", id: e.userId },
    ],
  },
  WalletToppedUp: {
    version: 1,
    description: "Staff added money to a user's wallet.",
    payload: z.object({
      userId: eventFields.id().describe("Whose wallet"),
      amount: eventFields.money().describe("What was added"),
      balanceAfter: eventFields.money().describe("The wallet's balance once credited"),
      toppedUpBy: eventFields.id().describe("The STAFF member (a User id)"),
    }),
    entities: (e) => [{ type: "User", id: e.userId }],
  },
  MealUpdated: {
    version: 1,
    description:
      "Staff changed a meal's name, price (for orders placed from then on) or stock (servings left); the payload is the meal as it now is.",
    payload: z.object({
      mealId: eventFields.id().describe("The meal (a Meal entity id)"),
      name: z.string().describe("Its name now"),
      price: eventFields.money().describe("Its price now: what orders placed from now on pay per serving"),
      stock: z.number().int().describe("Servings left once changed"),
    }),
    entities: (e) => [{ type: "Meal", id: e.mealId }],
  },
  MealWithdrawn: {
    version: 1,
    description: "Staff withdrew a meal: it takes no new orders and leaves the menu; its orders stay as they are.",
    payload: z.object({
      mealId: eventFields.id().describe("The meal (a Meal entity id)"),
    }),
    entities: (e) => [{ type: "Meal", id: e.mealId }],
  },
});
