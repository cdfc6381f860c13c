-- Invariants the application relies on, enforced by the database as the last line of defence.
ALTER TABLE "courses" ADD CONSTRAINT "courses_capacity_positive" CHECK ("capacity" > 0);
ALTER TABLE "courses" ADD CONSTRAINT "courses_enrollment_within_capacity" CHECK ("enrollment_count" >= 0 AND "enrollment_count" <= "capacity");
