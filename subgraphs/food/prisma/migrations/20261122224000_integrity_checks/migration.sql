-- Invariants the application relies on, enforced by the database as the last line of defence.
-- Written as triggers rather than CHECK constraints: the offline schema engine our machines use
-- for `prisma migrate diff` cannot read CHECK constraints (docs/database.md).
CREATE FUNCTION "meals_invariants"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW."stock" < 0 OR NEW."price" < 0 THEN
    RAISE EXCEPTION USING ERRCODE = 'check_violation', MESSAGE = 'meals.stock and meals.price must not be negative';
  END IF;
  RETURN NEW;
END
$$;

CREATE TRIGGER "meals_invariants" BEFORE INSERT OR UPDATE ON "meals"
  FOR EACH ROW EXECUTE FUNCTION "meals_invariants"();

CREATE FUNCTION "wallets_invariants"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW."balance" < 0 THEN
    RAISE EXCEPTION USING ERRCODE = 'check_violation', MESSAGE = 'wallets.balance must not be negative';
  END IF;
  RETURN NEW;
END
$$;

CREATE TRIGGER "wallets_invariants" BEFORE INSERT OR UPDATE ON "wallets"
  FOR EACH ROW EXECUTE FUNCTION "wallets_invariants"();

CREATE FUNCTION "food_orders_invariants"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW."quantity" <= 0 THEN
    RAISE EXCEPTION USING ERRCODE = 'check_violation', MESSAGE = 'food_orders.quantity must be positive';
  END IF;
  RETURN NEW;
END
$$;

CREATE TRIGGER "food_orders_invariants" BEFORE INSERT OR UPDATE ON "food_orders"
  FOR EACH ROW EXECUTE FUNCTION "food_orders_invariants"();
