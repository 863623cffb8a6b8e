import { Controller, Get, Param, Query } from '@nestjs/common';
import { Roles, StudentOrStaff } from '@soundgood/eventing';
import { z } from 'zod';
import type { Charge, Refund } from '../generated/prisma/client.js';
import { type AccountView, FindPaymentsService } from './find-payments.service.js';

const accountPath = z.object({ studentId: z.uuid() });

/**
 * Charges and refunds of one rental, of a period (`from` inclusive, `to` exclusive, ISO instants:
 * the caller decides where its month starts), or both; paged oldest first with `limit` and `offset`.
 */
const paymentQuery = z
  .object({
    rentalId: z.uuid().optional(),
    from: z.iso.datetime({ offset: true }).pipe(z.coerce.date()).optional(),
    to: z.iso.datetime({ offset: true }).pipe(z.coerce.date()).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
    offset: z.coerce.number().int().min(0).default(0),
  })
  .refine(({ from, to }) => from === undefined || to === undefined || from < to, {
    path: ['to'],
    error: 'to must be after from',
  });
export type PaymentQuery = z.infer<typeof paymentQuery>;

@Controller()
export class FindPaymentsHttpController {
  constructor(private readonly service: FindPaymentsService) {}

  @Get('accounts/:studentId')
  @StudentOrStaff('studentId')
  account(@Param({ schema: accountPath }) { studentId }: z.infer<typeof accountPath>): Promise<AccountView> {
    return this.service.account(studentId);
  }

  @Get('charges')
  @Roles('staff')
  charges(@Query({ schema: paymentQuery }) query: PaymentQuery): Promise<Charge[]> {
    return this.service.charges(query);
  }

  @Get('refunds')
  @Roles('staff')
  refunds(@Query({ schema: paymentQuery }) query: PaymentQuery): Promise<Refund[]> {
    return this.service.refunds(query);
  }
}
