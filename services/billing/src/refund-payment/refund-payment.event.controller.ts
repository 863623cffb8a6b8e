import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { type EventData, events } from '@soundgood/event-catalog';
import { createEvent, EventContext } from '@soundgood/eventing';
import type { CloudEvent } from 'cloudevents';
import type { Tx } from '../database.js';
import { RefundPaymentService } from './refund-payment.service.js';

@Controller()
export class RefundPaymentEventController {
  constructor(private readonly service: RefundPaymentService) {}

  @EventPattern<string>(events.refundPayment.type)
  async refund(
    @Payload() data: EventData<typeof events.refundPayment>,
    @Ctx() ctx: EventContext<Tx>,
  ): Promise<CloudEvent<unknown>> {
    const { rentalId, studentId } = data;
    const refunded = await this.service.refund(ctx.tx, { rentalId, studentId });
    return createEvent(
      events.paymentRefunded,
      { rentalId, studentId, ...refunded },
      { partitionKey: rentalId },
    );
  }
}
