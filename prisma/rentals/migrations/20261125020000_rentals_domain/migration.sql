-- CreateEnum
CREATE TYPE "rental_status" AS ENUM ('PENDING', 'CONFIRMED', 'REJECTED', 'FAILED', 'TERMINATED');

-- CreateEnum
CREATE TYPE "saga_status" AS ENUM ('RUNNING', 'COMPENSATING', 'COMPLETED', 'REJECTED', 'FAILED');

-- CreateTable
CREATE TABLE "rentals" (
    "id" UUID NOT NULL,
    "student_id" UUID NOT NULL,
    "instrument_id" UUID NOT NULL,
    "months" INTEGER NOT NULL,
    "status" "rental_status" NOT NULL,
    "reason" TEXT,
    "message" TEXT,
    "monthly_fee_cents" INTEGER,
    "currency" TEXT,
    "starts_on" DATE,
    "ends_on" DATE,
    "idempotency_key" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    "terminated_at" TIMESTAMPTZ(3),

    CONSTRAINT "rentals_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "sagas" (
    "rental_id" UUID NOT NULL,
    "status" "saga_status" NOT NULL,
    "step" TEXT NOT NULL,
    "step_attempts" INTEGER NOT NULL DEFAULT 1,
    "deadline_at" TIMESTAMPTZ(3),
    "failure_reason" TEXT,
    "failure_message" TEXT,
    "version" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "sagas_pkey" PRIMARY KEY ("rental_id")
);

-- CreateTable
CREATE TABLE "saga_steps" (
    "id" BIGSERIAL NOT NULL,
    "rental_id" UUID NOT NULL,
    "step" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "attempt" INTEGER NOT NULL,
    "outcome" TEXT NOT NULL,
    "reason" TEXT,
    "started_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finished_at" TIMESTAMPTZ(3),

    CONSTRAINT "saga_steps_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "rentals_idempotency_key_key" ON "rentals"("idempotency_key");

-- CreateIndex
CREATE INDEX "rentals_student_id_idx" ON "rentals"("student_id");

-- CreateIndex
CREATE INDEX "sagas_status_updated_at_idx" ON "sagas"("status", "updated_at");

-- CreateIndex
CREATE INDEX "saga_steps_rental_id_id_idx" ON "saga_steps"("rental_id", "id");

-- AddForeignKey
ALTER TABLE "sagas" ADD CONSTRAINT "sagas_rental_id_fkey" FOREIGN KEY ("rental_id") REFERENCES "rentals"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "saga_steps" ADD CONSTRAINT "saga_steps_rental_id_fkey" FOREIGN KEY ("rental_id") REFERENCES "sagas"("rental_id") ON DELETE RESTRICT ON UPDATE CASCADE;
