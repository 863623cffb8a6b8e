import { Controller, Get, Param, ParseUUIDPipe, Query } from '@nestjs/common';
import { CurrentPrincipal, ensureActsFor, OwnerOrStaff, type Principal, Roles } from '@soundgood/eventing';
import { z } from 'zod';
import { InspectRentalsService, sagaFilters } from './inspect-rentals.service.js';

export const sagaQuery = z.object({
  status: z.enum(sagaFilters).default('in-flight'),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

@Controller()
export class InspectRentalsHttpController {
  constructor(private readonly service: InspectRentalsService) {}

  @Get('rentals/:id')
  @OwnerOrStaff()
  async rental(@Param('id', new ParseUUIDPipe()) id: string, @CurrentPrincipal() principal: Principal) {
    const rental = await this.service.rental(id);
    ensureActsFor(principal, rental.studentId, 'rentals');
    return rental;
  }

  @Get('sagas')
  @Roles('staff')
  sagas(@Query({ schema: sagaQuery }) query: z.infer<typeof sagaQuery>) {
    return this.service.sagas(query.status, query.limit);
  }
}
