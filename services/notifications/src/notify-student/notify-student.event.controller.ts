import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { type EventData, events } from '@soundgood/event-catalog';
import { EventContext } from '@soundgood/eventing';
import type { Tx } from '../database.js';
import type { NotificationKind } from '../generated/prisma/client.js';
import {
  confirmedMessage,
  paymentMissedMessage,
  rejectedMessage,
  terminatedMessage,
} from './notification-messages.js';
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
    await this.record(ctx, data, data.reason === 'ENDED' ? 'ENDED' : 'TERMINATED', terminatedMessage(data));
  }

  @EventPattern<string>(events.paymentMissed.type)
  async paymentMissed(
    @Payload() data: EventData<typeof events.paymentMissed>,
    @Ctx() ctx: EventContext<Tx>,
  ): Promise<void> {
    await this.record(ctx, data, 'PAYMENT_MISSED', paymentMissedMessage(data));
  }

  private record(
    ctx: EventContext<Tx>,
    data: { studentId: string; rentalId: string },
    kind: NotificationKind,
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
