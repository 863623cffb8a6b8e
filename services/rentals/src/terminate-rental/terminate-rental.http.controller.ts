import { Controller, HttpCode, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import { CurrentPrincipal, ensureActsFor, OwnerOrStaff, type Principal } from '@soundgood/eventing';
import { InspectRentalsService } from '../inspect-rentals/inspect-rentals.service.js';
import { TerminateRentalService } from './terminate-rental.service.js';

@Controller('rentals')
export class TerminateRentalHttpController {
  constructor(
    private readonly service: TerminateRentalService,
    private readonly rentals: InspectRentalsService,
  ) {}

  @Post(':id/terminate')
  @OwnerOrStaff()
  @HttpCode(200)
  async terminate(@Param('id', new ParseUUIDPipe()) id: string, @CurrentPrincipal() principal: Principal) {
    // A rental's student never changes: checking before terminating cannot race.
    ensureActsFor(principal, (await this.rentals.rental(id)).studentId, 'rentals');
    const rental = await this.service.terminate(id);
    return { id: rental.id, status: rental.status, terminatedAt: rental.terminatedAt };
  }
}
