-- Emails are stored lower-cased by the service; the database refuses anything else.
ALTER TABLE "users" ADD CONSTRAINT "users_email_lower_case" CHECK ("email" = lower("email"));
