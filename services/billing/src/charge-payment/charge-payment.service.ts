import { Injectable } from '@nestjs/common';
import type { Tx } from '../database.js';
import { PaymentGateway } from '../payment-gateway/payment-gateway.port.js';
import { lockRental } from '../rental-lock.js';

export interface ChargePayment {
  rentalId: string;
  studentId: string;
  amountCents: number;
  currency: string;
}

export type ChargePaymentOutcome =
  | { charged: true; chargeId: string; amountCents: number; currency: string }
  | { charged: false; reason: string; message: string };

@Injectable()
export class ChargePaymentService {
  constructor(private readonly gateway: PaymentGateway) {}

  /** At most one charge per rental, and none once the rental was refunded (cancelled). */
  async charge(
    tx: Tx,
    { rentalId, studentId, amountCents, currency }: ChargePayment,
  ): Promise<ChargePaymentOutcome> {
    await lockRental(tx, rentalId);
    if (await tx.refund.findUnique({ where: { rentalId } })) {
      return {
        charged: false,
        reason: 'RENTAL_CANCELLED',
        message: `rental ${rentalId} was cancelled and refunded`,
      };
    }
    const existing = await tx.charge.findUnique({ where: { rentalId } });
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
      idempotencyKey: rentalId,
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
