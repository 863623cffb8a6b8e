import { Injectable } from '@nestjs/common';
import type { Tx } from '../database.js';
import { PaymentGateway } from '../payment-gateway/payment-gateway.port.js';
import { lockRental } from '../rental-lock.js';

export interface ChargePayment {
  rentalId: string;
  studentId: string;
  /** The month of the rental paid for: 1 at confirmation, then one per monthly anniversary. */
  month: number;
  amountCents: number;
  currency: string;
}

export type ChargePaymentOutcome =
  | { charged: true; chargeId: string; amountCents: number; currency: string }
  | { charged: false; reason: string; message: string };

/** What a charge command's answer depends on: a refund, the month's charge if made, the account. */
type ChargeState = { refunded: boolean; paymentMethod: string | null } & (
  | { chargeId: string; chargedCents: number; chargedCurrency: string }
  | { chargeId: null; chargedCents: null; chargedCurrency: null }
);

@Injectable()
export class ChargePaymentService {
  constructor(private readonly gateway: PaymentGateway) {}

  /**
   * At most one charge per (rental, month), which the `charges_rental_id_month_key` unique index
   * enforces; none once the rental was refunded (cancelled). A repeated or retried command answers
   * with the charge already made; a declined one may be retried (nothing is recorded).
   */
  async charge(
    tx: Tx,
    { rentalId, studentId, month, amountCents, currency }: ChargePayment,
  ): Promise<ChargePaymentOutcome> {
    await lockRental(tx, rentalId);
    // What the answer depends on, in one statement and always one row (at most one charge per month).
    const [state] = await tx.$queryRaw<[ChargeState]>`
      SELECT
        EXISTS (SELECT 1 FROM "refunds" WHERE "rental_id" = ${rentalId}::uuid) AS "refunded",
        "charges"."id" AS "chargeId",
        "charges"."amount_cents" AS "chargedCents",
        "charges"."currency" AS "chargedCurrency",
        (SELECT "payment_method" FROM "payment_accounts" WHERE "student_id" = ${studentId}::uuid)
          AS "paymentMethod"
      FROM (SELECT) AS "one"
      LEFT JOIN "charges" ON "charges"."rental_id" = ${rentalId}::uuid AND "charges"."month" = ${month}`;
    if (state.refunded) {
      return {
        charged: false,
        reason: 'RENTAL_CANCELLED',
        message: `rental ${rentalId} was cancelled and refunded`,
      };
    }
    if (state.chargeId !== null) {
      const { chargeId, chargedCents, chargedCurrency } = state;
      return { charged: true, chargeId, amountCents: chargedCents, currency: chargedCurrency };
    }
    const { paymentMethod } = state;
    if (paymentMethod === null) {
      return {
        charged: false,
        reason: 'NO_PAYMENT_ACCOUNT',
        message: `student ${studentId} has no payment account`,
      };
    }
    const result = await this.gateway.charge({
      amountCents,
      currency,
      paymentMethod,
      // The first month keeps the key it always had; the provider sees one key per (rental, month).
      idempotencyKey: month === 1 ? rentalId : `${rentalId}-m${month}`,
    });
    if (result.status === 'declined') {
      return {
        charged: false,
        reason: result.reason,
        message: `the payment provider declined ${paymentMethod} (${result.reason})`,
      };
    }
    const charge = await tx.charge.create({
      data: {
        rentalId,
        month,
        studentId,
        amountCents,
        currency,
        status: 'CHARGED',
        providerReference: result.reference,
      },
    });
    return { charged: true, chargeId: charge.id, amountCents, currency };
  }
}
