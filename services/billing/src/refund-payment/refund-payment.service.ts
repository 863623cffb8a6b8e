import { Injectable } from '@nestjs/common';
import type { Tx } from '../database.js';
import { PaymentGateway } from '../payment-gateway/payment-gateway.port.js';
import { lockRental } from '../rental-lock.js';

/** The currency of a refund when nothing had been charged. */
const DEFAULT_CURRENCY = 'EUR';

export interface RefundPayment {
  rentalId: string;
  studentId: string;
}

@Injectable()
export class RefundPaymentService {
  constructor(private readonly gateway: PaymentGateway) {}

  /**
   * Gives back whatever was charged for the rental (every month) and records the refund, which also cancels the
   * rental: a charge that arrives later is refused. Idempotent: a second refund returns the first.
   */
  async refund(
    tx: Tx,
    { rentalId, studentId }: RefundPayment,
  ): Promise<{ amountCents: number; currency: string }> {
    await lockRental(tx, rentalId);
    const done = await tx.refund.findUnique({ where: { rentalId } });
    if (done) return { amountCents: done.amountCents, currency: done.currency };
    const charges = await tx.charge.findMany({ where: { rentalId }, orderBy: { month: 'asc' } });
    for (const charge of charges.filter((c) => c.status === 'CHARGED')) {
      await this.gateway.refund({ reference: charge.providerReference, amountCents: charge.amountCents });
      await tx.charge.update({
        where: { id: charge.id },
        data: { status: 'REFUNDED', refundedAt: new Date() },
      });
    }
    const refund = await tx.refund.create({
      data: {
        rentalId,
        studentId,
        amountCents: charges.reduce((sum, c) => sum + c.amountCents, 0),
        currency: charges[0]?.currency ?? DEFAULT_CURRENCY,
      },
    });
    return { amountCents: refund.amountCents, currency: refund.currency };
  }
}
