-- Monthly charges (issue 15): one charge per (rental, month); the existing rows are first months.
-- AlterTable
ALTER TABLE "charges" ADD COLUMN "month" INTEGER NOT NULL DEFAULT 1;

-- DropIndex
DROP INDEX "charges_rental_id_key";

-- CreateIndex
CREATE UNIQUE INDEX "charges_rental_id_month_key" ON "charges"("rental_id", "month");
