import { Controller, Get, Query } from '@nestjs/common';
import { Roles } from '@soundgood/eventing';
import { z } from 'zod';
import { FindRentalsService, type RentalSummary, rentalPeriods } from './find-rentals.service.js';

/**
 * Rentals that `started`, `ended` or were `active` between two of the school's dates (`from`
 * inclusive, `to` exclusive), oldest start first, a page at a time.
 */
export const rentalQuery = z
  .object({
    in: z.enum(rentalPeriods),
    from: z.iso.date(),
    to: z.iso.date(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
    offset: z.coerce.number().int().min(0).default(0),
  })
  .refine(({ from, to }) => from < to, { path: ['to'], error: 'to must be after from' });

@Controller()
export class FindRentalsHttpController {
  constructor(private readonly service: FindRentalsService) {}

  @Get('rentals')
  @Roles('staff')
  rentals(@Query({ schema: rentalQuery }) query: z.infer<typeof rentalQuery>): Promise<RentalSummary[]> {
    return this.service.find(query.in, { from: query.from, to: query.to }, query.limit, query.offset);
  }
}
