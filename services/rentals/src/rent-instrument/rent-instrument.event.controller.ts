import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { type EventMap, events } from '@soundgood/event-catalog';
import type { EventContext } from '@soundgood/eventing';
import type { Tx } from '../database.js';
import { RentalLifecycleService } from '../rental-lifecycle/rental-lifecycle.service.js';
import { RentInstrumentSaga } from './rent-instrument.saga.js';

type Reply<T extends keyof EventMap> = EventMap[T];
type Context = EventContext<Tx>;

/** The participants' answers to the saga's commands (a later month's charge: to the lifecycle). */
@Controller()
export class RentInstrumentEventController {
  constructor(
    private readonly saga: RentInstrumentSaga,
    private readonly lifecycle: RentalLifecycleService,
  ) {}

  @EventPattern<string>(events.slotReserved.type)
  slotReserved(@Payload() data: Reply<typeof events.slotReserved.type>, @Ctx() ctx: Context) {
    return this.saga.onReply(ctx.tx, data.rentalId, 'RESERVE_SLOT', { ok: true });
  }

  @EventPattern<string>(events.slotRejected.type)
  slotRejected(@Payload() data: Reply<typeof events.slotRejected.type>, @Ctx() ctx: Context) {
    return this.saga.onReply(ctx.tx, data.rentalId, 'RESERVE_SLOT', {
      ok: false,
      reason: data.reason,
      message: data.message,
    });
  }

  @EventPattern<string>(events.instrumentReserved.type)
  instrumentReserved(@Payload() data: Reply<typeof events.instrumentReserved.type>, @Ctx() ctx: Context) {
    return this.saga.onReply(ctx.tx, data.rentalId, 'RESERVE_INSTRUMENT', {
      ok: true,
      monthlyFeeCents: data.monthlyFeeCents,
      currency: data.currency,
    });
  }

  @EventPattern<string>(events.instrumentRejected.type)
  instrumentRejected(@Payload() data: Reply<typeof events.instrumentRejected.type>, @Ctx() ctx: Context) {
    return this.saga.onReply(ctx.tx, data.rentalId, 'RESERVE_INSTRUMENT', {
      ok: false,
      reason: data.reason,
      message: data.message,
    });
  }

  @EventPattern<string>(events.paymentCharged.type)
  paymentCharged(@Payload() data: Reply<typeof events.paymentCharged.type>, @Ctx() ctx: Context) {
    if (data.month > 1) return this.lifecycle.onMonthCharged(ctx.tx, data, { ok: true });
    return this.saga.onReply(ctx.tx, data.rentalId, 'CHARGE_PAYMENT', { ok: true });
  }

  @EventPattern<string>(events.paymentDeclined.type)
  paymentDeclined(@Payload() data: Reply<typeof events.paymentDeclined.type>, @Ctx() ctx: Context) {
    const result = { ok: false as const, reason: data.reason, message: data.message };
    if (data.month > 1) return this.lifecycle.onMonthCharged(ctx.tx, data, result);
    return this.saga.onReply(ctx.tx, data.rentalId, 'CHARGE_PAYMENT', result);
  }

  @EventPattern<string>(events.paymentRefunded.type)
  paymentRefunded(@Payload() data: Reply<typeof events.paymentRefunded.type>, @Ctx() ctx: Context) {
    return this.saga.onReply(ctx.tx, data.rentalId, 'REFUND_PAYMENT', { ok: true });
  }

  @EventPattern<string>(events.instrumentReleased.type)
  instrumentReleased(@Payload() data: Reply<typeof events.instrumentReleased.type>, @Ctx() ctx: Context) {
    return this.saga.onReply(ctx.tx, data.rentalId, 'RELEASE_INSTRUMENT', { ok: true });
  }

  @EventPattern<string>(events.slotReleased.type)
  slotReleased(@Payload() data: Reply<typeof events.slotReleased.type>, @Ctx() ctx: Context) {
    return this.saga.onReply(ctx.tx, data.rentalId, 'RELEASE_SLOT', { ok: true });
  }
}
