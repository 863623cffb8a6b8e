import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { type EventData, events } from '@soundgood/event-catalog';
import { createEvent, EventContext } from '@soundgood/eventing';
import type { CloudEvent } from 'cloudevents';
import type { Tx } from '../database.js';
import { ReleaseSlotService } from './release-slot.service.js';

@Controller()
export class ReleaseSlotEventController {
  constructor(private readonly service: ReleaseSlotService) {}

  @EventPattern<string>(events.releaseSlot.type)
  async release(
    @Payload() data: EventData<typeof events.releaseSlot>,
    @Ctx() ctx: EventContext<Tx>,
  ): Promise<CloudEvent<unknown>> {
    const { rentalId, studentId } = data;
    await this.service.release(ctx.tx, rentalId, studentId);
    return createEvent(events.slotReleased, { rentalId, studentId }, { partitionKey: rentalId });
  }
}
