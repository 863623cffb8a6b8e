import { Controller, Get, Param, Query } from '@nestjs/common';
import { z } from 'zod';
import type { Charge } from '../generated/prisma/client.js';
import { type AccountView, FindPaymentsService } from './find-payments.service.js';

const accountPath = z.object({ studentId: z.uuid() });
const chargeQuery = z.object({ rentalId: z.uuid().optional() });

@Controller()
export class FindPaymentsHttpController {
  constructor(private readonly service: FindPaymentsService) {}

  @Get('accounts/:studentId')
  account(@Param({ schema: accountPath }) { studentId }: z.infer<typeof accountPath>): Promise<AccountView> {
    return this.service.account(studentId);
  }

  @Get('charges')
  charges(@Query({ schema: chargeQuery }) { rentalId }: z.infer<typeof chargeQuery>): Promise<Charge[]> {
    return this.service.charges(rentalId);
  }
}
