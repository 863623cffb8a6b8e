import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { type EventData, events } from '@soundgood/event-catalog';
import { createEvent, EventContext } from '@soundgood/eventing';
import type { CloudEvent } from 'cloudevents';
import type { Tx } from '../database.js';
import { ReserveInstrumentService } from './reserve-instrument.service.js';

@Controller()
export class ReserveInstrumentEventController {
  constructor(private readonly service: ReserveInstrumentService) {}

  @EventPattern<string>(events.reserveInstrument.type)
  async reserve(
    @Payload() data: EventData<typeof events.reserveInstrument>,
    @Ctx() ctx: EventContext<Tx>,
  ): Promise<CloudEvent<unknown>> {
    const { rentalId, studentId, instrumentId } = data;
    const outcome = await this.service.reserve(ctx.tx, { rentalId, studentId, instrumentId });
    return outcome.reserved
      ? createEvent(
          events.instrumentReserved,
          {
            rentalId,
            studentId,
            instrumentId,
            monthlyFeeCents: outcome.monthlyFeeCents,
            currency: outcome.currency,
          },
          { partitionKey: rentalId },
        )
      : createEvent(
          events.instrumentRejected,
          { rentalId, studentId, instrumentId, reason: outcome.reason, message: outcome.message },
          { partitionKey: rentalId },
        );
  }
}
