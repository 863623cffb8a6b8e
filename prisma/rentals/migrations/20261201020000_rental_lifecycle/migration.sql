-- The rental lifecycle (issue 15): monthly charges, arrears, the end of a rental, the school days done.
-- AlterEnum
ALTER TYPE "saga_status" ADD VALUE 'ENDING';
ALTER TYPE "saga_status" ADD VALUE 'ENDED';

-- CreateEnum
CREATE TYPE "month_status" AS ENUM ('DUE', 'CHARGED', 'DECLINED');

-- CreateTable
CREATE TABLE "rental_months" (
    "rental_id" UUID NOT NULL,
    "month" INTEGER NOT NULL,
    "due_on" DATE NOT NULL,
    "status" "month_status" NOT NULL,
    "attempts" INTEGER NOT NULL DEFAULT 1,
    "sent_on" DATE NOT NULL,
    "reason" TEXT,
    "charge_id" UUID,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "rental_months_pkey" PRIMARY KEY ("rental_id","month")
);

-- CreateTable
CREATE TABLE "school_days" (
    "date" DATE NOT NULL,
    "charges_sent" INTEGER NOT NULL,
    "rentals_ended" INTEGER NOT NULL,
    "event_id" TEXT NOT NULL,
    "processed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "school_days_pkey" PRIMARY KEY ("date")
);

-- CreateIndex
CREATE INDEX "rentals_status_ends_on_idx" ON "rentals"("status", "ends_on");

-- CreateIndex
CREATE INDEX "rental_months_status_idx" ON "rental_months"("status");

-- AddForeignKey
ALTER TABLE "rental_months" ADD CONSTRAINT "rental_months_rental_id_fkey" FOREIGN KEY ("rental_id") REFERENCES "rentals"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Rentals confirmed before: their first month was charged at confirmation.
INSERT INTO "rental_months" ("rental_id", "month", "due_on", "sent_on", "status", "updated_at")
SELECT "id", 1, "starts_on", "starts_on", 'CHARGED', CURRENT_TIMESTAMP FROM "rentals"
WHERE "status" IN ('CONFIRMED', 'TERMINATED') AND "starts_on" IS NOT NULL;
