import { Controller, HttpCode, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import { TerminateRentalService } from './terminate-rental.service.js';

@Controller('rentals')
export class TerminateRentalHttpController {
  constructor(private readonly service: TerminateRentalService) {}

  @Post(':id/terminate')
  @HttpCode(200)
  async terminate(@Param('id', new ParseUUIDPipe()) id: string) {
    const rental = await this.service.terminate(id);
    return { id: rental.id, status: rental.status, terminatedAt: rental.terminatedAt };
  }
}
