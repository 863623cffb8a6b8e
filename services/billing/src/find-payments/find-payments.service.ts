import { Injectable, NotFoundException } from '@nestjs/common';
import { Database } from '../database.js';
import type { Charge, PaymentAccount, Refund } from '../generated/prisma/client.js';

export interface AccountView extends PaymentAccount {
  charges: Charge[];
  refunds: Refund[];
}

export interface PaymentFilter {
  rentalId?: string | undefined;
  /** Created at or after. */
  from?: Date | undefined;
  /** Created before. */
  to?: Date | undefined;
  limit: number;
  offset: number;
}

const where = ({ rentalId, from, to }: PaymentFilter) => ({
  ...(rentalId === undefined ? {} : { rentalId }),
  ...(from === undefined && to === undefined
    ? {}
    : { createdAt: { ...(from ? { gte: from } : {}), ...(to ? { lt: to } : {}) } }),
});

@Injectable()
export class FindPaymentsService {
  constructor(private readonly database: Database) {}

  async account(studentId: string): Promise<AccountView> {
    const account = await this.database.paymentAccount.findUnique({ where: { studentId } });
    if (!account) throw new NotFoundException(`student ${studentId} has no payment account`);
    const newestFirst = { createdAt: 'desc' } as const;
    const [charges, refunds] = await Promise.all([
      this.database.charge.findMany({ where: { studentId }, orderBy: newestFirst }),
      this.database.refund.findMany({ where: { studentId }, orderBy: newestFirst }),
    ]);
    return { ...account, charges, refunds };
  }

  /** Oldest first, so that pages stay put while newer charges arrive. */
  charges(filter: PaymentFilter): Promise<Charge[]> {
    return this.database.charge.findMany({
      where: where(filter),
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      take: filter.limit,
      skip: filter.offset,
    });
  }

  refunds(filter: PaymentFilter): Promise<Refund[]> {
    return this.database.refund.findMany({
      where: where(filter),
      orderBy: [{ createdAt: 'asc' }, { rentalId: 'asc' }],
      take: filter.limit,
      skip: filter.offset,
    });
  }
}
