import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { type EventData, events } from '@soundgood/event-catalog';
import { EventContext } from '@soundgood/eventing';
import type { Tx } from '../database.js';
import { confirmedMessage, rejectedMessage, terminatedMessage } from './notification-messages.js';
import { NotifyStudentService } from './notify-student.service.js';

/** The outcomes of rentals, told to their students. Nothing is replied. */
@Controller()
export class NotifyStudentEventController {
  constructor(private readonly service: NotifyStudentService) {}

  @EventPattern<string>(events.rentalConfirmed.type)
  async confirmed(
    @Payload() data: EventData<typeof events.rentalConfirmed>,
    @Ctx() ctx: EventContext<Tx>,
  ): Promise<void> {
    await this.record(ctx, data, 'CONFIRMED', confirmedMessage(data));
  }

  @EventPattern<string>(events.rentalRejected.type)
  async rejected(
    @Payload() data: EventData<typeof events.rentalRejected>,
    @Ctx() ctx: EventContext<Tx>,
  ): Promise<void> {
    await this.record(ctx, data, 'REJECTED', rejectedMessage(data));
  }

  @EventPattern<string>(events.rentalTerminated.type)
  async terminated(
    @Payload() data: EventData<typeof events.rentalTerminated>,
    @Ctx() ctx: EventContext<Tx>,
  ): Promise<void> {
    await this.record(ctx, data, 'TERMINATED', terminatedMessage(data));
  }

  private record(
    ctx: EventContext<Tx>,
    data: { studentId: string; rentalId: string },
    kind: 'CONFIRMED' | 'REJECTED' | 'TERMINATED',
    message: string,
  ): Promise<void> {
    return this.service.notify(ctx.tx, {
      eventId: ctx.event.id,
      studentId: data.studentId,
      rentalId: data.rentalId,
      kind,
      message,
    });
  }
}
