-- Invariants the application relies on, enforced by the database as the last line of defence.
-- Written as a trigger rather than CHECK constraints: the offline schema engine our machines use
-- for `prisma migrate diff` cannot read CHECK constraints (docs/database.md).
CREATE FUNCTION "courses_invariants"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW."capacity" <= 0 THEN
    RAISE EXCEPTION USING ERRCODE = 'check_violation', MESSAGE = 'courses.capacity must be positive';
  END IF;
  IF NEW."enrollment_count" < 0 OR NEW."enrollment_count" > NEW."capacity" THEN
    RAISE EXCEPTION USING ERRCODE = 'check_violation', MESSAGE = 'courses.enrollment_count must be within 0..capacity';
  END IF;
  RETURN NEW;
END
$$;

CREATE TRIGGER "courses_invariants" BEFORE INSERT OR UPDATE ON "courses"
  FOR EACH ROW EXECUTE FUNCTION "courses_invariants"();
