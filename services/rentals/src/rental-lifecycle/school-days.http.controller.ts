import { Controller, Get, Query } from '@nestjs/common';
import { Roles } from '@soundgood/eventing';
import { z } from 'zod';
import { Database } from '../database.js';

export const schoolDaysQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(31),
});

/** What the daily work did: the operator's view of the clock. */
@Controller('school-days')
export class SchoolDaysHttpController {
  constructor(private readonly database: Database) {}

  /** The school days processed, newest first: charges sent, rentals ended, the tick that did it. */
  @Get()
  @Roles('staff')
  async list(@Query({ schema: schoolDaysQuery }) query: z.infer<typeof schoolDaysQuery>) {
    const days = await this.database.schoolDay.findMany({ orderBy: { date: 'desc' }, take: query.limit });
    return days.map((d) => ({ ...d, date: d.date.toISOString().slice(0, 10) }));
  }
}
