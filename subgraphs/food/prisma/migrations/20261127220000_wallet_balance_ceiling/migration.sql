-- A wallet holds at most 100 000 000 (smallest currency unit): the documented ceiling that
-- topUpWallet enforces, here as the last line of defence (the column is a 32-bit integer).
CREATE OR REPLACE FUNCTION "wallets_invariants"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW."balance" < 0 OR NEW."balance" > 100000000 THEN
    RAISE EXCEPTION USING ERRCODE = 'check_violation', MESSAGE = 'wallets.balance must be between 0 and 100000000';
  END IF;
  RETURN NEW;
END
$$;
