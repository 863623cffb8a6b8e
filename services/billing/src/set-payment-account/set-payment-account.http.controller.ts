import { Body, Controller, Param, Put, Res } from '@nestjs/common';
import { Roles } from '@soundgood/eventing';
import { z } from 'zod';
import type { PaymentAccount } from '../generated/prisma/client.js';
import { SetPaymentAccountService } from './set-payment-account.service.js';

const accountPath = z.object({ studentId: z.uuid() });
const accountBody = z.object({
  paymentMethod: z.string().regex(/^pm_\w+$/, 'must be a payment method id such as pm_card_visa'),
});

@Controller('accounts')
export class SetPaymentAccountHttpController {
  constructor(private readonly service: SetPaymentAccountService) {}

  /** 201 when the account is new, 200 when its payment method changed. */
  @Put(':studentId')
  @Roles('staff')
  async set(
    @Param({ schema: accountPath }) { studentId }: z.infer<typeof accountPath>,
    @Body({ schema: accountBody }) { paymentMethod }: z.infer<typeof accountBody>,
    @Res({ passthrough: true }) response: { status(code: number): unknown },
  ): Promise<PaymentAccount> {
    const { account, created } = await this.service.set(studentId, paymentMethod);
    response.status(created ? 201 : 200);
    return account;
  }
}
