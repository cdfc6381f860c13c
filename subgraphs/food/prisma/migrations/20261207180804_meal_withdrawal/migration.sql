-- AlterTable
ALTER TABLE "meals" ADD COLUMN     "withdrawn_at" TIMESTAMPTZ(3);
