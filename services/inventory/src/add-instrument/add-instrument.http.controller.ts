import { Body, Controller, Post } from '@nestjs/common';
import { Roles } from '@soundgood/eventing';
import { z } from 'zod';
import type { InstrumentView } from '../find-instruments/find-instruments.service.js';
import { AddInstrumentService } from './add-instrument.service.js';

const addInstrumentBody = z.object({
  id: z.uuid().optional(),
  type: z.string().trim().toLowerCase().min(1),
  brand: z.string().trim().min(1),
  monthlyFeeCents: z.int().positive(),
  currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as EUR'),
});

@Controller('instruments')
export class AddInstrumentHttpController {
  constructor(private readonly service: AddInstrumentService) {}

  @Post()
  @Roles('staff')
  add(@Body({ schema: addInstrumentBody }) body: z.infer<typeof addInstrumentBody>): Promise<InstrumentView> {
    return this.service.add(body);
  }
}
