import { Controller } from '@nestjs/common';
import { Ctx, EventPattern } from '@nestjs/microservices';
import { events } from '@soundgood/event-catalog';
import type { EventContext } from '@soundgood/eventing';
import { RentalLifecycleService } from './rental-lifecycle.service.js';

/** The daily tick (`dev.knative.sources.ping` from the PingSource `school-day`). Nothing is replied. */
@Controller()
export class SchoolDayEventController {
  constructor(private readonly lifecycle: RentalLifecycleService) {}

  @EventPattern<string>(events.schoolDayStarted.type)
  async schoolDay(@Ctx() ctx: EventContext): Promise<void> {
    // Each school day commits on its own (see RentalLifecycleService), not in ctx.tx.
    await this.lifecycle.onSchoolDay(ctx.event);
  }
}
