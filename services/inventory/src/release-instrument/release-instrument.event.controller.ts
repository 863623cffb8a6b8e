import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { type EventData, events } from '@soundgood/event-catalog';
import { createEvent, EventContext } from '@soundgood/eventing';
import type { CloudEvent } from 'cloudevents';
import type { Tx } from '../database.js';
import { ReleaseInstrumentService } from './release-instrument.service.js';

@Controller()
export class ReleaseInstrumentEventController {
  constructor(private readonly service: ReleaseInstrumentService) {}

  @EventPattern<string>(events.releaseInstrument.type)
  async release(
    @Payload() data: EventData<typeof events.releaseInstrument>,
    @Ctx() ctx: EventContext<Tx>,
  ): Promise<CloudEvent<unknown>> {
    const { rentalId, studentId, instrumentId } = data;
    await this.service.release(ctx.tx, { rentalId, studentId, instrumentId });
    return createEvent(
      events.instrumentReleased,
      { rentalId, studentId, instrumentId },
      { partitionKey: rentalId },
    );
  }
}
