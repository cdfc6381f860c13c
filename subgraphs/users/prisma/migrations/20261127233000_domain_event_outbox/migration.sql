-- CreateTable
CREATE TABLE "outbox_events" (
    "sequence" BIGSERIAL NOT NULL,
    "id" UUID NOT NULL,
    "type" TEXT NOT NULL,
    "version" INTEGER NOT NULL DEFAULT 1,
    "payload" JSONB NOT NULL,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "published_at" TIMESTAMPTZ(3),

    CONSTRAINT "outbox_events_pkey" PRIMARY KEY ("sequence")
);

-- CreateIndex
CREATE UNIQUE INDEX "outbox_events_id_key" ON "outbox_events"("id");

-- CreateIndex
CREATE INDEX "outbox_events_published_at_sequence_idx" ON "outbox_events"("published_at", "sequence");

-- Accounts that exist before the outbox does: announced once as UserImported (who they are, for
-- the services that keep contact details), so no consumer mistakes them for new sign-ups.
INSERT INTO "outbox_events" ("id", "type", "version", "payload", "occurred_at")
SELECT gen_random_uuid(), 'UserImported', 1,
       jsonb_build_object('userId', "id", 'email', "email", 'name', "name", 'role', "role"),
       CURRENT_TIMESTAMP
FROM "users" ORDER BY "created_at", "id";
