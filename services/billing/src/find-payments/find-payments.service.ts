import { Injectable, NotFoundException } from '@nestjs/common';
import { Database } from '../database.js';
import type { Charge, PaymentAccount, Refund } from '../generated/prisma/client.js';

export interface AccountView extends PaymentAccount {
  charges: Charge[];
  refunds: Refund[];
}

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

  charges(rentalId?: string): Promise<Charge[]> {
    return this.database.charge.findMany({
      where: rentalId === undefined ? {} : { rentalId },
      orderBy: [{ createdAt: 'desc' }, { id: 'asc' }],
    });
  }
}
