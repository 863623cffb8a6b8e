import { TZDate } from '@date-fns/tz';
import { Inject, Injectable } from '@nestjs/common';
import { CONFIG } from '@soundgood/eventing';
import type { Config } from '../config.js';
import { Database } from '../database.js';
import type { Prisma, Rental } from '../generated/prisma/client.js';
import { dateIn } from '../school-calendar.js';

export const rentalPeriods = ['started', 'ended', 'active'] as const;
export type RentalPeriod = (typeof rentalPeriods)[number];

/** School dates, `from` inclusive, `to` exclusive. */
export interface Period {
  from: string;
  to: string;
}

export interface RentalSummary {
  id: string;
  studentId: string;
  instrumentId: string;
  months: number;
  status: Rental['status'];
  monthlyFeeCents: number | null;
  currency: string | null;
  startsOn: string | null;
  endsOn: string | null;
  terminatedAt: Date | null;
  /** Why it ended (ENDED on its date, PAYMENT_OVERDUE, TERMINATED_EARLY), or why it was refused. */
  reason: string | null;
  /** The school's date the rental ended or will end: its termination's, else its `endsOn`. */
  endedOn: string | null;
  /** CONFIRMED with a month whose charge was declined and is not paid yet. */
  inArrears: boolean;
}

const asDate = (day: string) => new Date(`${day}T00:00:00Z`);
const day = (date: Date | null) => date?.toISOString().slice(0, 10) ?? null;

/**
 * A rental runs from `startsOn` (set when it was confirmed: rentals never confirmed are never
 * listed) until it ended: when it was terminated, else on `endsOn` (the fee of a month from Oct 1
 * covers October: it ends on Nov 1 and is not active in November). `started`: `startsOn` in the
 * period; `ended`: its end in the period; `active`: running for at least part of the period.
 */
@Injectable()
export class FindRentalsService {
  private readonly timeZone: string;

  constructor(
    private readonly database: Database,
    @Inject(CONFIG) config: Config,
  ) {
    this.timeZone = config.SCHOOL_TIME_ZONE;
  }

  async find(
    period: RentalPeriod,
    { from, to }: Period,
    limit: number,
    offset: number,
  ): Promise<RentalSummary[]> {
    const rentals = await this.database.rental.findMany({
      where: this.where(period, { from, to }),
      orderBy: [{ startsOn: 'asc' }, { id: 'asc' }],
      take: limit,
      skip: offset,
      // A declined month keeps its reason until a retry charges it (rental-lifecycle's arrears).
      include: {
        billingMonths: {
          where: { status: { not: 'CHARGED' }, reason: { not: null } },
          select: { month: true },
        },
      },
    });
    return rentals.map(
      ({
        idempotencyKey: _key,
        createdAt: _created,
        updatedAt: _updated,
        message: _m,
        billingMonths,
        ...rental
      }) => ({
        ...rental,
        startsOn: day(rental.startsOn),
        endsOn: day(rental.endsOn),
        endedOn: rental.terminatedAt ? dateIn(this.timeZone, rental.terminatedAt) : day(rental.endsOn),
        inArrears: rental.status === 'CONFIRMED' && billingMonths.length > 0,
      }),
    );
  }

  private where(period: RentalPeriod, { from, to }: Period): Prisma.RentalWhereInput {
    const started = { not: null, lt: asDate(to) };
    // The school's midnights, as instants: terminatedAt is one.
    const [fromInstant, toInstant] = [from, to].map((d) => this.midnight(d)) as [Date, Date];
    const terminated = { status: 'TERMINATED' as const, terminatedAt: { not: null } };
    const running = { status: { not: 'TERMINATED' as const }, endsOn: { not: null } };
    switch (period) {
      case 'started':
        return { startsOn: { gte: asDate(from), lt: asDate(to) } };
      case 'ended':
        return {
          startsOn: { not: null },
          OR: [
            { ...terminated, terminatedAt: { gte: fromInstant, lt: toInstant } },
            { ...running, endsOn: { gte: asDate(from), lt: asDate(to) } },
          ],
        };
      case 'active':
        return {
          startsOn: started,
          OR: [
            { ...terminated, terminatedAt: { gt: fromInstant } },
            { ...running, endsOn: { gt: asDate(from) } },
          ],
        };
    }
  }

  private midnight(date: string): Date {
    const [year, month, dayOfMonth] = date.split('-').map(Number) as [number, number, number];
    return new Date(TZDate.tz(this.timeZone, year, month - 1, dayOfMonth).getTime());
  }
}
