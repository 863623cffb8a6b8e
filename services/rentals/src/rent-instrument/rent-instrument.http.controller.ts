import { BadRequestException, Body, Controller, Headers, HttpCode, Post, Res } from '@nestjs/common';
import { RateLimited, StudentOrStaff } from '@soundgood/eventing';
import type { Response } from 'express';
import { z } from 'zod';
import { RentInstrumentService } from './rent-instrument.service.js';

export const rentInstrumentBody = z.object({
  studentId: z.uuid(),
  instrumentId: z.uuid(),
  months: z.int().min(1).max(12),
});

@Controller('rentals')
export class RentInstrumentHttpController {
  constructor(private readonly service: RentInstrumentService) {}

  /** 202: the rental is PENDING while its saga runs; poll the Location. */
  @Post()
  @StudentOrStaff('studentId')
  @RateLimited()
  @HttpCode(202)
  async rent(
    @Body({ schema: rentInstrumentBody }) body: z.infer<typeof rentInstrumentBody>,
    @Headers('idempotency-key') key: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<{ id: string; status: string }> {
    if (key !== undefined && (key.length === 0 || key.length > 200)) {
      throw new BadRequestException('Idempotency-Key: must be 1 to 200 characters');
    }
    const rental = await this.service.rent(body, key);
    res.location(`/rentals/${rental.id}`);
    return { id: rental.id, status: rental.status };
  }
}
