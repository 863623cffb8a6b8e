-- AlterTable
ALTER TABLE "sagas" ADD COLUMN "traceparent" TEXT;
