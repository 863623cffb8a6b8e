-- The rental lifecycle (issue 15): a rental that reached its end date, a missed monthly payment.
-- AlterEnum
ALTER TYPE "notification_kind" ADD VALUE 'ENDED';
ALTER TYPE "notification_kind" ADD VALUE 'PAYMENT_MISSED';
