/**
 * The daily work of the rental lifecycle (issue 15, docs/rental-lifecycle.md): on every school day,
 * charge the months that are due, retry the declined ones, end the rentals whose end date came and
 * those whose unpaid month outlived the grace period. Driven by the `school-day` tick (a Knative
 * PingSource in the cluster), not by a timer: a tick processes every school day after the last one
 * done up to its own date, each exactly once (the `school_days` table, under a lock).
 *
 * Each day is its own transaction (its `school_days` row, its charge commands and ends, all or
 * nothing), not the tick's inbox transaction: a tick that catches up months of missed days would
 * outlast the runtime's 30 s transaction limit and fail forever. The tick's delivery does the days
 * it can in CATCH_UP_BUDGET_MS and leaves the rest to a background run in this process; if that
 * run dies with the process, the next tick (or the tick's redelivery) goes on from the last day done.
 */
import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { events } from '@soundgood/event-catalog';
import { CONFIG, createEvent, EventingMetrics, Outbox, PermanentEventError } from '@soundgood/eventing';
import type { CloudEvent } from 'cloudevents';
import { Counter } from 'prom-client';
import type { Config } from '../config.js';
import { Database, type Tx } from '../database.js';
import type { Rental, RentalMonth } from '../generated/prisma/client.js';
import { RentInstrumentSaga, type StepResult } from '../rent-instrument/rent-instrument.saga.js';
import { dateIn } from '../school-calendar.js';
import { daysToProcess, graceEndsOn, monthDueOn, monthsDue } from './rental-schedule.js';

/** A @db.Date column holds the UTC midnight of its date. */
const day = (date: Date) => date.toISOString().slice(0, 10);
/** How long a tick's delivery processes days before it answers and goes on in the background. */
const CATCH_UP_BUDGET_MS = 15_000;
const dbDate = (date: string) => new Date(`${date}T00:00:00Z`);

export interface Arrears {
  month: number;
  dueOn: string;
  graceEndsOn: string;
  attempts: number;
  reason: string;
}

@Injectable()
export class RentalLifecycleService implements OnModuleDestroy {
  private readonly logger = new Logger(RentalLifecycleService.name);
  private readonly work: Counter<'outcome'>;
  /** The background catch-up in flight, if any; ticks queue behind it. */
  private background: Promise<unknown> = Promise.resolve();
  private stopping = false;

  constructor(
    private readonly database: Database,
    private readonly saga: RentInstrumentSaga,
    private readonly outbox: Outbox,
    @Inject(CONFIG) private readonly config: Config,
    metrics: EventingMetrics,
  ) {
    this.work = new Counter({
      name: 'soundgood_rental_lifecycle_total',
      help: 'Daily rental work done, by outcome: school_day, charge_sent, charged, declined, ended, overdue.',
      labelNames: ['outcome'],
      registers: [metrics.registry],
    });
  }

  /**
   * A tick: its school date is the date of its CloudEvents `time` in SCHOOL_TIME_ZONE. Ticks are
   * serialized by a transaction-scoped advisory lock, so two deliveries (or two replicas) never
   * process one day twice; a tick for a day already done changes nothing.
   */
  async onSchoolDay(tick: CloudEvent<unknown>): Promise<string[]> {
    const instant = tick.time ? new Date(tick.time) : undefined;
    if (!instant || Number.isNaN(instant.getTime()))
      throw new PermanentEventError(`school-day tick ${tick.id} has no valid time attribute: ${tick.time}`);
    const date = dateIn(this.config.SCHOOL_TIME_ZONE, instant);
    const deadline = Date.now() + CATCH_UP_BUDGET_MS;
    const done = await this.processDays(date, tick.id, deadline);
    const last = done.at(-1) ?? (await this.lastDay());
    if (last === undefined || last < date) {
      this.logger.warn(
        `school-day tick ${tick.id}: ${done.length} days done in ${CATCH_UP_BUDGET_MS} ms, the rest up to ${date} in the background`,
      );
      this.background = this.background
        .then(() => this.processDays(date, tick.id, Number.POSITIVE_INFINITY))
        .catch((error: Error) =>
          this.logger.error(`catching up to ${date} stopped, the next tick goes on: ${error.message}`),
        );
    }
    return done;
  }

  async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    await this.background;
  }

  private async lastDay(): Promise<string | undefined> {
    const last = await this.database.schoolDay.findFirst({ orderBy: { date: 'desc' } });
    return last ? day(last.date) : undefined;
  }

  /** Processes the days up to `date` not done yet, one transaction each, until `deadline`. */
  private async processDays(date: string, eventId: string, deadline: number): Promise<string[]> {
    const done: string[] = [];
    while (Date.now() < deadline && !this.stopping) {
      const next = await this.database.$transaction(
        async (tx) => {
          await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext('soundgood.school_days'))`;
          const last = await tx.schoolDay.findFirst({ orderBy: { date: 'desc' } });
          const [schoolDay] = daysToProcess(last ? day(last.date) : undefined, date);
          if (schoolDay) await this.processDay(tx, schoolDay, eventId);
          return schoolDay;
        },
        { maxWait: 10_000, timeout: 30_000 },
      );
      if (!next) break;
      done.push(next);
    }
    return done;
  }

  private async processDay(tx: Tx, date: string, eventId: string): Promise<void> {
    const rentals = await tx.rental.findMany({
      where: { status: 'CONFIRMED', startsOn: { lte: dbDate(date) } },
      include: { billingMonths: true },
      orderBy: { createdAt: 'asc' },
    });
    let chargesSent = 0;
    let rentalsEnded = 0;
    for (const { billingMonths, ...rental } of rentals) {
      const startsOn = day(rental.startsOn as Date);
      const arrears = this.arrears(rental, billingMonths);
      if (arrears && date >= arrears.graceEndsOn) {
        await this.saga.end(
          tx,
          rental,
          'PAYMENT_OVERDUE',
          `month ${arrears.month}, due ${arrears.dueOn}, unpaid after ${this.config.PAYMENT_GRACE_DAYS} days (${arrears.reason})`,
        );
        this.work.inc({ outcome: 'overdue' });
        rentalsEnded += 1;
        continue;
      }
      const byMonth = new Map(billingMonths.map((m) => [m.month, m]));
      for (let month = 2; month <= monthsDue(startsOn, rental.months, date); month += 1) {
        const known = byMonth.get(month);
        if (known?.status === 'CHARGED' || (known && day(known.sentOn) >= date)) continue;
        const attempts = (known?.attempts ?? 0) + 1;
        await tx.rentalMonth.upsert({
          where: { rentalId_month: { rentalId: rental.id, month } },
          create: {
            rentalId: rental.id,
            month,
            dueOn: dbDate(monthDueOn(startsOn, month)),
            sentOn: dbDate(date),
            status: 'DUE',
          },
          update: { status: 'DUE', attempts, sentOn: dbDate(date) },
        });
        await this.saga.chargeMonth(tx, rental, month, attempts);
        this.work.inc({ outcome: 'charge_sent' });
        chargesSent += 1;
      }
      const allPaid =
        billingMonths.filter((m) => m.status === 'CHARGED').length === rental.months &&
        byMonth.size === rental.months;
      if (day(rental.endsOn as Date) <= date && allPaid) {
        await this.saga.end(tx, rental, 'ENDED', `rented for ${rental.months} months, ended on ${date}`);
        this.work.inc({ outcome: 'ended' });
        rentalsEnded += 1;
      }
    }
    await tx.schoolDay.create({ data: { date: dbDate(date), chargesSent, rentalsEnded, eventId } });
    this.work.inc({ outcome: 'school_day' });
  }

  /** Billing answered the charge of a month after the first. */
  async onMonthCharged(
    tx: Tx,
    reply: { rentalId: string; month: number; chargeId?: string },
    result: StepResult,
  ): Promise<void> {
    await this.saga.onMonthCharged(tx, reply.rentalId, reply.month, result);
    const key = { rentalId_month: { rentalId: reply.rentalId, month: reply.month } };
    const known = await tx.rentalMonth.findUnique({ where: key, include: { rental: true } });
    if (!known || known.status === 'CHARGED') return;
    if (result.ok) {
      await tx.rentalMonth.update({
        where: key,
        data: { status: 'CHARGED', reason: null, chargeId: reply.chargeId ?? null },
      });
      this.work.inc({ outcome: 'charged' });
      return;
    }
    await tx.rentalMonth.update({ where: key, data: { status: 'DECLINED', reason: result.reason } });
    this.work.inc({ outcome: 'declined' });
    const { rental } = known;
    // The student hears of the arrears once, at the first decline of the month.
    if (known.attempts !== 1 || known.reason !== null || rental.status !== 'CONFIRMED') return;
    const dueOn = day(known.dueOn);
    await this.outbox.add(
      tx,
      createEvent(
        events.paymentMissed,
        {
          rentalId: rental.id,
          studentId: rental.studentId,
          instrumentId: rental.instrumentId,
          month: known.month,
          dueOn,
          graceEndsOn: graceEndsOn(dueOn, this.config.PAYMENT_GRACE_DAYS),
          reason: result.reason,
          message: result.message,
        },
        { partitionKey: rental.id },
      ),
    );
  }

  /** The earliest month of an active rental whose charge was declined and is not paid yet. */
  arrears(rental: Pick<Rental, 'status'>, months: RentalMonth[]): Arrears | null {
    if (rental.status !== 'CONFIRMED') return null;
    const unpaid = months
      .filter((m) => m.status !== 'CHARGED' && m.reason !== null)
      .sort((a, b) => a.month - b.month)[0];
    if (!unpaid) return null;
    const dueOn = day(unpaid.dueOn);
    return {
      month: unpaid.month,
      dueOn,
      graceEndsOn: graceEndsOn(dueOn, this.config.PAYMENT_GRACE_DAYS),
      attempts: unpaid.attempts,
      reason: unpaid.reason as string,
    };
  }
}
