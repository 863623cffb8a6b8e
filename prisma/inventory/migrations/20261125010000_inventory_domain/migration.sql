-- CreateEnum
CREATE TYPE "reservation_status" AS ENUM ('HELD', 'RELEASED');

-- CreateTable
CREATE TABLE "instruments" (
    "id" UUID NOT NULL,
    "type" TEXT NOT NULL,
    "brand" TEXT NOT NULL,
    "monthly_fee_cents" INTEGER NOT NULL,
    "currency" TEXT NOT NULL,
    "rental_id" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "instruments_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "reservations" (
    "rental_id" UUID NOT NULL,
    "instrument_id" UUID NOT NULL,
    "student_id" UUID NOT NULL,
    "status" "reservation_status" NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "released_at" TIMESTAMPTZ(3),

    CONSTRAINT "reservations_pkey" PRIMARY KEY ("rental_id")
);

-- CreateIndex
CREATE UNIQUE INDEX "instruments_rental_id_key" ON "instruments"("rental_id");

-- CreateIndex
CREATE INDEX "instruments_type_idx" ON "instruments"("type");

-- CreateIndex
CREATE INDEX "reservations_instrument_id_idx" ON "reservations"("instrument_id");

-- AddForeignKey
ALTER TABLE "reservations" ADD CONSTRAINT "reservations_instrument_id_fkey" FOREIGN KEY ("instrument_id") REFERENCES "instruments"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
