-- Invariants the application relies on, enforced by the database as the last line of defence.
ALTER TABLE "meals" ADD CONSTRAINT "meals_stock_not_negative" CHECK ("stock" >= 0);
ALTER TABLE "meals" ADD CONSTRAINT "meals_price_not_negative" CHECK ("price" >= 0);
ALTER TABLE "wallets" ADD CONSTRAINT "wallets_balance_not_negative" CHECK ("balance" >= 0);
ALTER TABLE "food_orders" ADD CONSTRAINT "food_orders_quantity_positive" CHECK ("quantity" > 0);
