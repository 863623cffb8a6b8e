-- CreateEnum
CREATE TYPE "charge_status" AS ENUM ('CHARGED', 'REFUNDED');

-- CreateTable
CREATE TABLE "payment_accounts" (
    "student_id" UUID NOT NULL,
    "payment_method" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "payment_accounts_pkey" PRIMARY KEY ("student_id")
);

-- CreateTable
CREATE TABLE "charges" (
    "id" UUID NOT NULL,
    "rental_id" UUID NOT NULL,
    "student_id" UUID NOT NULL,
    "amount_cents" INTEGER NOT NULL,
    "currency" TEXT NOT NULL,
    "status" "charge_status" NOT NULL,
    "provider_reference" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "refunded_at" TIMESTAMPTZ(3),

    CONSTRAINT "charges_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "refunds" (
    "rental_id" UUID NOT NULL,
    "student_id" UUID NOT NULL,
    "amount_cents" INTEGER NOT NULL,
    "currency" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "refunds_pkey" PRIMARY KEY ("rental_id")
);

-- CreateIndex
CREATE UNIQUE INDEX "charges_rental_id_key" ON "charges"("rental_id");

-- CreateIndex
CREATE INDEX "charges_student_id_idx" ON "charges"("student_id");

-- CreateIndex
CREATE INDEX "refunds_student_id_idx" ON "refunds"("student_id");
