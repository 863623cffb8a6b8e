import { Injectable } from '@nestjs/common';
import { isUniqueViolation } from '@soundgood/eventing';
import { Database } from '../database.js';
import type { PaymentAccount } from '../generated/prisma/client.js';

@Injectable()
export class SetPaymentAccountService {
  constructor(private readonly database: Database) {}

  /** Creates the student's account, or changes its payment method; `created` tells which. */
  async set(
    studentId: string,
    paymentMethod: string,
  ): Promise<{ account: PaymentAccount; created: boolean }> {
    try {
      return {
        account: await this.database.paymentAccount.create({ data: { studentId, paymentMethod } }),
        created: true,
      };
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      const account = await this.database.paymentAccount.update({
        where: { studentId },
        data: { paymentMethod },
      });
      return { account, created: false };
    }
  }
}
