-- CreateEnum
CREATE TYPE "notification_kind" AS ENUM ('CONFIRMED', 'REJECTED', 'TERMINATED');

-- CreateTable
CREATE TABLE "notifications" (
    "id" UUID NOT NULL,
    "student_id" UUID NOT NULL,
    "rental_id" UUID NOT NULL,
    "event_id" TEXT NOT NULL,
    "kind" "notification_kind" NOT NULL,
    "message" TEXT NOT NULL,
    "channel" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "notifications_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "notifications_event_id_key" ON "notifications"("event_id");

-- CreateIndex
CREATE INDEX "notifications_student_id_created_at_idx" ON "notifications"("student_id", "created_at" DESC);
