import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { type EventData, events } from '@soundgood/event-catalog';
import { createEvent, EventContext } from '@soundgood/eventing';
import type { CloudEvent } from 'cloudevents';
import type { Tx } from '../database.js';
import { ReserveSlotService } from './reserve-slot.service.js';

@Controller()
export class ReserveSlotEventController {
  constructor(private readonly service: ReserveSlotService) {}

  @EventPattern<string>(events.reserveSlot.type)
  async reserve(
    @Payload() data: EventData<typeof events.reserveSlot>,
    @Ctx() ctx: EventContext<Tx>,
  ): Promise<CloudEvent<unknown>> {
    const { rentalId, studentId } = data;
    const outcome = await this.service.reserve(ctx.tx, rentalId, studentId);
    return outcome.reserved
      ? createEvent(
          events.slotReserved,
          { rentalId, studentId, activeRentals: outcome.activeRentals },
          { partitionKey: rentalId },
        )
      : createEvent(
          events.slotRejected,
          { rentalId, studentId, reason: outcome.reason, message: outcome.message },
          { partitionKey: rentalId },
        );
  }
}
