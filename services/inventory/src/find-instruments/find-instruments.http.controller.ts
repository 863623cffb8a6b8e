import { Controller, Get, Param, Query } from '@nestjs/common';
import { AnyRole } from '@soundgood/eventing';
import { z } from 'zod';
import { FindInstrumentsService, type InstrumentView } from './find-instruments.service.js';

const instrumentQuery = z.object({
  type: z.string().trim().toLowerCase().min(1).optional(),
  available: z
    .enum(['true', 'false'])
    .transform((value) => value === 'true')
    .optional(),
});
const instrumentPath = z.object({ id: z.uuid() });

@Controller('instruments')
export class FindInstrumentsHttpController {
  constructor(private readonly service: FindInstrumentsService) {}

  @Get()
  @AnyRole()
  list(
    @Query({ schema: instrumentQuery }) filter: z.infer<typeof instrumentQuery>,
  ): Promise<InstrumentView[]> {
    return this.service.list(filter);
  }

  @Get(':id')
  @AnyRole()
  get(@Param({ schema: instrumentPath }) { id }: z.infer<typeof instrumentPath>): Promise<InstrumentView> {
    return this.service.get(id);
  }
}
