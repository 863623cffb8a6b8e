-- CreateEnum
CREATE TYPE "slot_status" AS ENUM ('HELD', 'RELEASED');

-- CreateTable
CREATE TABLE "students" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "students_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "rental_slots" (
    "rental_id" UUID NOT NULL,
    "student_id" UUID NOT NULL,
    "status" "slot_status" NOT NULL,
    "reserved_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "released_at" TIMESTAMPTZ(3),

    CONSTRAINT "rental_slots_pkey" PRIMARY KEY ("rental_id")
);

-- CreateIndex
CREATE UNIQUE INDEX "students_email_key" ON "students"("email");

-- CreateIndex
CREATE INDEX "rental_slots_student_id_status_idx" ON "rental_slots"("student_id", "status");

-- AddForeignKey
ALTER TABLE "rental_slots" ADD CONSTRAINT "rental_slots_student_id_fkey" FOREIGN KEY ("student_id") REFERENCES "students"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
