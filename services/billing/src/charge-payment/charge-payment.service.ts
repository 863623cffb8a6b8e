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
    if (await tx.refund.findUnique({ where: { rentalId } })) {
      return {
        charged: false,
        reason: 'RENTAL_CANCELLED',
        message: `rental ${rentalId} was cancelled and refunded`,
      };
    }
    const existing = await tx.charge.findUnique({ where: { rentalId_month: { rentalId, month } } });
    if (existing) {
      return {
        charged: true,
        chargeId: existing.id,
        amountCents: existing.amountCents,
        currency: existing.currency,
      };
    }
    const account = await tx.paymentAccount.findUnique({ where: { studentId } });
    if (!account) {
      return {
        charged: false,
        reason: 'NO_PAYMENT_ACCOUNT',
        message: `student ${studentId} has no payment account`,
      };
    }
    const result = await this.gateway.charge({
      amountCents,
      currency,
      paymentMethod: account.paymentMethod,
      // The first month keeps the key it always had; the provider sees one key per (rental, month).
      idempotencyKey: month === 1 ? rentalId : `${rentalId}-m${month}`,
    });
    if (result.status === 'declined') {
      return {
        charged: false,
        reason: result.reason,
        message: `the payment provider declined ${account.paymentMethod} (${result.reason})`,
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
