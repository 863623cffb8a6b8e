import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { type EventData, events } from '@soundgood/event-catalog';
import { createEvent, EventContext } from '@soundgood/eventing';
import type { CloudEvent } from 'cloudevents';
import type { Tx } from '../database.js';
import { ChargePaymentService } from './charge-payment.service.js';

@Controller()
export class ChargePaymentEventController {
  constructor(private readonly service: ChargePaymentService) {}

  @EventPattern<string>(events.chargePayment.type)
  async charge(
    @Payload() data: EventData<typeof events.chargePayment>,
    @Ctx() ctx: EventContext<Tx>,
  ): Promise<CloudEvent<unknown>> {
    const { rentalId, studentId, month, amountCents, currency } = data;
    const outcome = await this.service.charge(ctx.tx, { rentalId, studentId, month, amountCents, currency });
    return outcome.charged
      ? createEvent(
          events.paymentCharged,
          {
            rentalId,
            studentId,
            month,
            chargeId: outcome.chargeId,
            amountCents: outcome.amountCents,
            currency: outcome.currency,
          },
          { partitionKey: rentalId },
        )
      : createEvent(
          events.paymentDeclined,
          { rentalId, studentId, month, reason: outcome.reason, message: outcome.message },
          { partitionKey: rentalId },
        );
  }
}
