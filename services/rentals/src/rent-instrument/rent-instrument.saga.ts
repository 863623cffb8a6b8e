/**
 * The rent-instrument saga, orchestrated: reserve a slot (students) -> reserve the instrument
 * (inventory) -> charge the first month (billing) -> confirm. When a step fails, is rejected or
 * passes its deadline, every step that was STARTED is compensated in reverse order (refund, release
 * the instrument, release the slot): a step whose command went out may still be applied late, and
 * the participants' compensations leave a tombstone so that a late command applies nothing.
 * Compensations are retried at each deadline; after SAGA_COMPENSATION_MAX_ATTEMPTS the saga is
 * FAILED with its cause, for an operator. Every transition is guarded by the saga's version.
 *
 * The same saga carries the rental's life after confirmation (issue 15, docs/rental-lifecycle.md):
 * each later month's charge is a CHARGE_MONTH_<n> step of its history, and ending the rental (its
 * end date, an overdue payment, or a request) runs the END steps RELEASE_INSTRUMENT -> RELEASE_SLOT
 * with the compensations' deadlines and re-sends, ENDING -> ENDED.
 */
import { Inject, Injectable } from '@nestjs/common';
import { SpanStatusCode } from '@opentelemetry/api';
import { type EventDefinition, events } from '@soundgood/event-catalog';
import {
  CONFIG,
  createEvent,
  currentTraceContext,
  EventingMetrics,
  Outbox,
  tracer,
} from '@soundgood/eventing';
import type { CloudEvent } from 'cloudevents';
import { Counter, Histogram } from 'prom-client';
import type { Config } from '../config.js';
import type { Tx } from '../database.js';
import { Prisma, type Rental, type Saga } from '../generated/prisma/client.js';
import { SchoolCalendar } from '../school-calendar.js';

export type ForwardStep = 'RESERVE_SLOT' | 'RESERVE_INSTRUMENT' | 'CHARGE_PAYMENT';
export type CompensationStep = 'REFUND_PAYMENT' | 'RELEASE_INSTRUMENT' | 'RELEASE_SLOT';
/** The charge of month n > 1, sent by the daily work (src/rental-lifecycle). */
export type MonthlyChargeStep = `CHARGE_MONTH_${number}`;
export type Step = ForwardStep | CompensationStep | MonthlyChargeStep;
/** Why a rental ended: the `reason` of a TERMINATED rental and of its `rental.terminated` event. */
export type EndReason = 'ENDED' | 'PAYMENT_OVERDUE' | 'TERMINATED_EARLY';

const endSteps: CompensationStep[] = ['RELEASE_INSTRUMENT', 'RELEASE_SLOT'];
export const monthlyChargeStep = (month: number): MonthlyChargeStep => `CHARGE_MONTH_${month}`;

const forwardSteps: ForwardStep[] = ['RESERVE_SLOT', 'RESERVE_INSTRUMENT', 'CHARGE_PAYMENT'];
const compensationOf: Record<ForwardStep, CompensationStep> = {
  RESERVE_SLOT: 'RELEASE_SLOT',
  RESERVE_INSTRUMENT: 'RELEASE_INSTRUMENT',
  CHARGE_PAYMENT: 'REFUND_PAYMENT',
};

/** What a participant answered for a step. */
export type StepResult =
  | { ok: true; monthlyFeeCents?: number; currency?: string }
  | { ok: false; reason: string; message: string };

export class SagaConflictError extends Error {}

type Action = 'EXECUTE' | 'COMPENSATE' | 'END';
type SagaChange = Partial<
  Pick<Saga, 'status' | 'step' | 'stepAttempts' | 'deadlineAt' | 'failureReason' | 'failureMessage'>
>;
/** How a step's latest attempt ended. */
interface Finished {
  step: Step;
  outcome: string;
  reason: string | null;
}
/** The attempt a Finished closed, as its UPDATE returns it. */
interface AttemptClosed {
  action: string;
  attempt: number;
  startedAt: Date;
}
/**
 * What a transition writes besides the saga row, in the same statement: the attempt it closes, the
 * rental's fee or its confirmation, and other parts of the WITH (the attempt it starts and the
 * events it sends: `sending`, `sent`).
 */
interface TransitionWrites {
  finished?: Finished;
  fee?: { monthlyFeeCents: number | null; currency: string | null };
  confirmed?: { startsOn: string; endsOn: string };
  parts?: Prisma.Sql[];
}
/** EXECUTE for a forward step, COMPENSATE for a compensation. */
const actionOf = (step: Step): Action => (step in compensationOf ? 'EXECUTE' : 'COMPENSATE');

/**
 * The saga of a rental with its rental, in one statement (Prisma's `include` would take two). The
 * columns are named as the models' fields, so the rows are the models' objects.
 */
export async function sagaWithRental(
  tx: Tx,
  rentalId: string,
): Promise<(Saga & { rental: Rental }) | undefined> {
  const [row] = await tx.$queryRaw<(Saga & { [K in keyof Rental as `rental_${K}`]: Rental[K] })[]>`
    SELECT s."rental_id" AS "rentalId", s."status"::text AS "status", s."step", s."step_attempts" AS "stepAttempts",
      s."deadline_at" AS "deadlineAt", s."failure_reason" AS "failureReason",
      s."failure_message" AS "failureMessage", s."version", s."traceparent",
      s."created_at" AS "createdAt", s."updated_at" AS "updatedAt",
      r."id" AS "rental_id", r."student_id" AS "rental_studentId", r."instrument_id" AS "rental_instrumentId",
      r."months" AS "rental_months", r."status"::text AS "rental_status", r."reason" AS "rental_reason",
      r."message" AS "rental_message", r."monthly_fee_cents" AS "rental_monthlyFeeCents",
      r."currency" AS "rental_currency", r."starts_on" AS "rental_startsOn", r."ends_on" AS "rental_endsOn",
      r."idempotency_key" AS "rental_idempotencyKey", r."created_at" AS "rental_createdAt",
      r."updated_at" AS "rental_updatedAt", r."terminated_at" AS "rental_terminatedAt"
    FROM "sagas" s JOIN "rentals" r ON r."id" = s."rental_id"
    WHERE s."rental_id" = ${rentalId}::uuid`;
  if (!row) return undefined;
  const saga: Record<string, unknown> = {};
  const rental: Record<string, unknown> = {};
  for (const [column, value] of Object.entries(row)) {
    if (column.startsWith('rental_')) rental[column.slice('rental_'.length)] = value;
    else saga[column] = value;
  }
  return { ...(saga as Saga), rental: rental as Rental };
}

@Injectable()
export class RentInstrumentSaga {
  private readonly outcomes: Counter<'outcome' | 'reason'>;
  private readonly stepDuration: Histogram<'step' | 'action' | 'outcome'>;

  constructor(
    private readonly outbox: Outbox,
    @Inject(CONFIG) private readonly config: Config,
    metrics: EventingMetrics,
    private readonly calendar: SchoolCalendar,
  ) {
    this.outcomes = new Counter({
      name: 'soundgood_saga_outcomes_total',
      help: 'Rent-instrument sagas finished, by outcome (CONFIRMED, REJECTED, FAILED) and reason.',
      labelNames: ['outcome', 'reason'],
      registers: [metrics.registry],
    });
    this.stepDuration = new Histogram({
      name: 'soundgood_saga_step_duration_seconds',
      help: 'Time from sending a saga step’s command to its answer or deadline.',
      labelNames: ['step', 'action', 'outcome'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [metrics.registry],
    });
  }

  /** Starts the saga of a new PENDING rental, in the transaction that created it. */
  async start(tx: Tx, rental: Rental): Promise<void> {
    // The saga row, its first attempt and that attempt's command: one statement.
    const saga = Prisma.sql`"saga" AS (
      INSERT INTO "sagas" ("rental_id", "status", "step", "deadline_at", "traceparent", "updated_at")
      VALUES (${rental.id}::uuid, 'RUNNING'::"saga_status", 'RESERVE_SLOT', ${this.deadline()},
        ${currentTraceContext().traceparent ?? null}, ${new Date()}))`;
    const parts = [saga, ...(await this.sending(tx, rental, 'RESERVE_SLOT', 1, 'EXECUTE'))];
    await tx.$executeRaw`WITH ${Prisma.join(parts)} SELECT 1`;
  }

  /** A participant answered `step` for this rental. Late or repeated answers change nothing. */
  async onReply(tx: Tx, rentalId: string, step: Step, result: StepResult): Promise<void> {
    const saga = await sagaWithRental(tx, rentalId);
    if (!saga) return;
    const expected = saga.status === 'RUNNING' || saga.status === 'COMPENSATING' || saga.status === 'ENDING';
    if (!expected || saga.step !== step) {
      await this.history(
        tx,
        rentalId,
        step,
        'LATE_REPLY',
        result.ok ? 'SUCCEEDED' : 'REJECTED',
        'answer after the step was over',
      );
      return;
    }
    const finished: Finished = {
      step,
      outcome: result.ok ? 'SUCCEEDED' : 'REJECTED',
      reason: result.ok ? null : result.reason,
    };
    const rental = saga.rental;
    if (saga.status === 'RUNNING' && result.ok) {
      // The saga's hot path, in one statement: this attempt closed, the instrument's fee on the
      // rental, the saga moved on, and the next step's command (or the confirmation) sent.
      const fee =
        step === 'RESERVE_INSTRUMENT'
          ? { monthlyFeeCents: result.monthlyFeeCents ?? null, currency: result.currency ?? null }
          : undefined;
      if (fee) Object.assign(rental, fee);
      const next = forwardSteps[forwardSteps.indexOf(step as ForwardStep) + 1];
      if (next) await this.startStep(tx, saga, rental, next, {}, actionOf(next), { finished, fee });
      else await this.confirm(tx, saga, rental, finished);
      return;
    }
    await this.finishAttempt(tx, rentalId, finished);

    if (saga.status === 'ENDING') {
      await this.nextEndStep(tx, saga, rental);
      return;
    }
    if (saga.status === 'COMPENSATING') {
      await this.nextCompensation(tx, saga, rental);
      return;
    }
    if (!result.ok) await this.compensate(tx, saga, rental, result.reason, result.message);
  }

  /** The current step's deadline passed: forward, it failed; backward, send it again or give up. */
  async onDeadline(tx: Tx, rentalId: string): Promise<void> {
    const saga = await sagaWithRental(tx, rentalId);
    if (!saga?.deadlineAt || saga.deadlineAt.getTime() > Date.now()) return;
    const step = saga.step as Step;
    await this.finishAttempt(tx, rentalId, {
      step,
      outcome: 'TIMED_OUT',
      reason: `no answer within ${this.config.SAGA_STEP_TIMEOUT_MS} ms`,
    });
    if (saga.status === 'RUNNING') {
      await this.compensate(
        tx,
        saga,
        saga.rental,
        `${step}_TIMEOUT`,
        `${step} got no answer within its deadline`,
      );
      return;
    }
    if (saga.status !== 'COMPENSATING' && saga.status !== 'ENDING') return;
    if (saga.stepAttempts >= this.config.SAGA_COMPENSATION_MAX_ATTEMPTS) {
      const message = `${step} not acknowledged after ${saga.stepAttempts} attempts; needs an operator`;
      const ending = saga.status === 'ENDING';
      await this.transition(tx, saga, {
        status: 'FAILED',
        deadlineAt: null,
        failureReason: `${step}_FAILED`,
        failureMessage: message,
      });
      // An ended rental stays TERMINATED with its reason: only its saga needs the operator.
      if (!ending)
        await tx.rental.update({
          where: { id: rentalId },
          data: { status: 'FAILED', reason: `${step}_FAILED`, message },
        });
      this.outcomes.inc({ outcome: 'FAILED', reason: `${step}_FAILED` });
      return;
    }
    const attempt = saga.stepAttempts + 1;
    const action = saga.status === 'ENDING' ? 'END' : actionOf(step);
    await this.transitionAndSend(
      tx,
      saga,
      saga.rental,
      { stepAttempts: attempt, deadlineAt: this.deadline() },
      step,
      attempt,
      action,
    );
  }

  /**
   * Ends a CONFIRMED rental: TERMINATED with `reason` at once (its history kept), `rental.terminated`
   * to the student, then the END steps give back the instrument and the slot. Returns false when
   * the rental is not CONFIRMED (any more): nothing is done then.
   */
  async end(tx: Tx, rental: Rental, reason: EndReason, message: string): Promise<boolean> {
    const terminatedAt = new Date();
    const { count } = await tx.rental.updateMany({
      where: { id: rental.id, status: 'CONFIRMED' },
      data: { status: 'TERMINATED', reason, message, terminatedAt },
    });
    if (count !== 1) return false;
    const saga = await tx.saga.findUniqueOrThrow({ where: { rentalId: rental.id } });
    const [first] = endSteps as [CompensationStep];
    await this.transition(tx, saga, {
      status: 'ENDING',
      step: first,
      stepAttempts: 1,
      deadlineAt: this.deadline(),
    });
    Object.assign(rental, { status: 'TERMINATED', reason, message, terminatedAt });
    await this.outbox.add(
      tx,
      createEvent(
        events.rentalTerminated,
        {
          rentalId: rental.id,
          studentId: rental.studentId,
          instrumentId: rental.instrumentId,
          terminatedAt: terminatedAt.toISOString(),
          reason,
        },
        { partitionKey: rental.id },
      ),
    );
    await this.send(tx, rental, first, 1, 'END');
    return true;
  }

  /** Sends the charge of month `month` (> 1) of a rental; `attempt` counts the sends of that month. */
  async chargeMonth(tx: Tx, rental: Rental, month: number, attempt: number): Promise<void> {
    await this.send(tx, rental, monthlyChargeStep(month), attempt, 'EXECUTE', month);
  }

  /** Billing answered the charge of month `month` (> 1): its step in the history. */
  async onMonthCharged(tx: Tx, rentalId: string, month: number, result: StepResult): Promise<void> {
    await this.finishAttempt(tx, rentalId, {
      step: monthlyChargeStep(month),
      outcome: result.ok ? 'SUCCEEDED' : 'REJECTED',
      reason: result.ok ? null : result.reason,
    });
  }

  private async nextEndStep(tx: Tx, saga: Saga, rental: Rental): Promise<void> {
    const next = endSteps[endSteps.indexOf(saga.step as CompensationStep) + 1];
    if (!next) {
      await this.transition(tx, saga, { status: 'ENDED', step: 'ENDED', deadlineAt: null });
      return;
    }
    await this.startStep(tx, saga, rental, next, {}, 'END');
  }

  private async compensate(
    tx: Tx,
    saga: Saga,
    rental: Rental,
    reason: string,
    message: string,
  ): Promise<void> {
    await tx.rental.update({ where: { id: rental.id }, data: { reason, message } });
    const plan = await this.compensationPlan(tx, rental.id);
    const first = plan[0];
    if (!first) {
      await this.reject(tx, saga, rental, reason, message);
      return;
    }
    await this.startStep(tx, saga, rental, first, {
      status: 'COMPENSATING',
      failureReason: reason,
      failureMessage: message,
    });
  }

  private async nextCompensation(tx: Tx, saga: Saga, rental: Rental): Promise<void> {
    const plan = await this.compensationPlan(tx, rental.id);
    const next = plan[plan.indexOf(saga.step as CompensationStep) + 1];
    if (!next) {
      await this.reject(tx, saga, rental, saga.failureReason ?? 'REJECTED', saga.failureMessage ?? '');
      return;
    }
    await this.startStep(tx, saga, rental, next);
  }

  /**
   * The compensations due, in order: one for every forward step whose command went out, unless
   * its participant refused it (then it holds nothing).
   */
  private async compensationPlan(tx: Tx, rentalId: string): Promise<CompensationStep[]> {
    const attempts = await tx.sagaStep.findMany({ where: { rentalId, action: 'EXECUTE' } });
    return forwardSteps
      .filter(
        (step) =>
          attempts.some((a) => a.step === step) &&
          !attempts.some((a) => a.step === step && a.outcome === 'REJECTED'),
      )
      .reverse()
      .map((step) => compensationOf[step]);
  }

  /**
   * The last step succeeded: the saga COMPLETED, the rental CONFIRMED with its dates, its first
   * month recorded as charged, and `rental.confirmed` sent, with the step's attempt closed: one
   * statement.
   */
  private async confirm(tx: Tx, saga: Saga, rental: Rental, finished: Finished): Promise<void> {
    const startsOn = this.calendar.today();
    const endsOn = this.calendar.rentalEnd(startsOn, rental.months);
    const confirmed = createEvent(
      events.rentalConfirmed,
      {
        rentalId: rental.id,
        studentId: rental.studentId,
        instrumentId: rental.instrumentId,
        months: rental.months,
        startsOn,
        endsOn,
        amountCents: rental.monthlyFeeCents ?? 0,
        currency: rental.currency ?? 'EUR',
      },
      { partitionKey: rental.id },
    );
    await this.transition(
      tx,
      saga,
      { status: 'COMPLETED', step: 'CONFIRMED', deadlineAt: null },
      { finished, confirmed: { startsOn, endsOn }, parts: await this.sent(tx, [confirmed]) },
    );
    this.outcomes.inc({ outcome: 'CONFIRMED', reason: '' });
  }

  private async reject(tx: Tx, saga: Saga, rental: Rental, reason: string, message: string): Promise<void> {
    await this.transition(tx, saga, { status: 'REJECTED', step: 'REJECTED', deadlineAt: null });
    await tx.rental.update({ where: { id: rental.id }, data: { status: 'REJECTED', reason, message } });
    this.outcomes.inc({ outcome: 'REJECTED', reason });
    await this.outbox.add(
      tx,
      createEvent(
        events.rentalRejected,
        {
          rentalId: rental.id,
          studentId: rental.studentId,
          instrumentId: rental.instrumentId,
          reason,
          message,
        },
        { partitionKey: rental.id },
      ),
    );
  }

  /**
   * Moves the saga on, if nobody else did since it was read: one UPDATE guarded by the version, and
   * in the same statement (a data-modifying WITH: one round trip) what goes with it (`writes`): the
   * attempt it closes, the attempt it starts (STARTED in the history), the rental's fee or
   * confirmation, and its events into the outbox. A version that moved throws SagaConflictError, and
   * the transaction, with everything the statement wrote, rolls back.
   */
  private async transition(
    tx: Tx,
    saga: Saga,
    change: SagaChange,
    writes: TransitionWrites = {},
  ): Promise<void> {
    const now = new Date();
    const sets = [Prisma.sql`"version" = "version" + 1`, Prisma.sql`"updated_at" = ${now}`];
    if (change.status !== undefined) sets.push(Prisma.sql`"status" = ${change.status}::"saga_status"`);
    if (change.step !== undefined) sets.push(Prisma.sql`"step" = ${change.step}`);
    if (change.stepAttempts !== undefined) sets.push(Prisma.sql`"step_attempts" = ${change.stepAttempts}`);
    if (change.deadlineAt !== undefined) sets.push(Prisma.sql`"deadline_at" = ${change.deadlineAt}`);
    if (change.failureReason !== undefined) sets.push(Prisma.sql`"failure_reason" = ${change.failureReason}`);
    if (change.failureMessage !== undefined)
      sets.push(Prisma.sql`"failure_message" = ${change.failureMessage}`);
    const rentalId = Prisma.sql`${saga.rentalId}::uuid`;
    const parts = [
      Prisma.sql`"moved" AS (UPDATE "sagas" SET ${Prisma.join(sets)}
        WHERE "rental_id" = ${rentalId} AND "version" = ${saga.version} RETURNING "rental_id")`,
    ];
    const { finished, fee, confirmed } = writes;
    if (finished) parts.push(Prisma.sql`"finished" AS (${this.finishing(rentalId, finished, now)})`);
    if (fee)
      parts.push(Prisma.sql`"fee" AS (UPDATE "rentals" SET "monthly_fee_cents" = ${fee.monthlyFeeCents},
        "currency" = ${fee.currency}, "updated_at" = ${now} WHERE "id" = ${rentalId})`);
    if (confirmed) {
      parts.push(Prisma.sql`"confirmed" AS (UPDATE "rentals" SET "status" = 'CONFIRMED'::"rental_status",
        "starts_on" = ${confirmed.startsOn}::date, "ends_on" = ${confirmed.endsOn}::date, "updated_at" = ${now}
        WHERE "id" = ${rentalId})`);
      // Month 1 was charged by the CHARGE_PAYMENT step; the daily work charges the others.
      parts.push(Prisma.sql`"first_month" AS (
        INSERT INTO "rental_months" ("rental_id", "month", "due_on", "sent_on", "status", "updated_at")
        VALUES (${rentalId}, 1, ${confirmed.startsOn}::date, ${confirmed.startsOn}::date, 'CHARGED'::"month_status", ${now}))`);
    }
    parts.push(...(writes.parts ?? []));
    const [result] = await tx.$queryRaw<({ moved: number } & Partial<AttemptClosed>)[]>`
      WITH ${Prisma.join(parts)}
      SELECT (SELECT count(*)::int FROM "moved") AS "moved"${
        finished
          ? Prisma.sql`, "finished"."action", "finished"."attempt", "finished"."startedAt"
              FROM (SELECT 1) AS "one" LEFT JOIN "finished" ON true`
          : Prisma.empty
      }`;
    if (result?.moved !== 1)
      throw new SagaConflictError(`saga ${saga.rentalId} changed concurrently (version ${saga.version})`);
    Object.assign(saga, change, { version: saga.version + 1 });
    if (finished && result.startedAt) this.observe(saga.rentalId, finished, result as AttemptClosed, now);
  }

  /** Moves the saga on to `step` and sends its first attempt, with a fresh deadline. */
  private startStep(
    tx: Tx,
    saga: Saga,
    rental: Rental,
    step: Step,
    change: SagaChange = {},
    action: Action = actionOf(step),
    writes: Pick<TransitionWrites, 'finished' | 'fee'> = {},
  ): Promise<void> {
    const first = { ...change, step, stepAttempts: 1, deadlineAt: this.deadline() };
    return this.transitionAndSend(tx, saga, rental, first, step, 1, action, writes);
  }

  /** A transition that sends a step's command: the attempt and the command in the same statement. */
  private async transitionAndSend(
    tx: Tx,
    saga: Saga,
    rental: Rental,
    change: SagaChange,
    step: Step,
    attempt: number,
    action: Action = actionOf(step),
    writes: Pick<TransitionWrites, 'finished' | 'fee'> = {},
  ): Promise<void> {
    await this.transition(tx, saga, change, {
      ...writes,
      parts: await this.sending(tx, rental, step, attempt, action),
    });
  }

  /**
   * Sends a step's command through the outbox and records the attempt. The action is EXECUTE for a
   * forward step, COMPENSATE for a compensation, unless given (END while a rental ends).
   */
  private async send(
    tx: Tx,
    rental: Rental,
    step: Step,
    attempt: number,
    action: Action = actionOf(step),
    month = 1,
  ): Promise<void> {
    await tx.$executeRaw`WITH ${Prisma.join(await this.sending(tx, rental, step, attempt, action, month))} SELECT 1`;
  }

  /**
   * A step's attempt in the history (STARTED) and its command into the outbox, as parts of a WITH.
   * In a transition they are written whether or not the saga row matched its version: a miss throws,
   * and the transaction rolls them back.
   */
  private async sending(
    tx: Tx,
    rental: Rental,
    step: Step,
    attempt: number,
    action: Action,
    month = 1,
  ): Promise<Prisma.Sql[]> {
    const started = Prisma.sql`"started" AS (
      INSERT INTO "saga_steps" ("rental_id", "step", "action", "attempt", "outcome")
      VALUES (${rental.id}::uuid, ${step}, ${action}, ${attempt}, 'STARTED'))`;
    return [started, ...(await this.sent(tx, [this.command(rental, step, month)]))];
  }

  /** Events into the outbox, as a part of a WITH (none in the naive baseline: published already). */
  private async sent(tx: Tx, events: CloudEvent<unknown>[]): Promise<Prisma.Sql[]> {
    const insert = await this.outbox.insert(tx, events);
    return insert ? [Prisma.sql`"sent" AS (${insert})`] : [];
  }

  /** The command of a step (of month `month` for a charge). */
  private command(rental: Rental, step: Step, month = 1): CloudEvent<unknown> {
    const ref = { rentalId: rental.id, studentId: rental.studentId };
    const options = { partitionKey: rental.id };
    const command = (definition: EventDefinition, data: unknown) =>
      createEvent(definition, data as never, options);
    const charge = () =>
      command(events.chargePayment, {
        ...ref,
        month,
        amountCents: rental.monthlyFeeCents ?? 0,
        currency: rental.currency ?? 'EUR',
        description: `month ${month} of ${rental.months} of rental ${rental.id}`,
      });
    const commands: Record<ForwardStep | CompensationStep, () => ReturnType<typeof command>> = {
      RESERVE_SLOT: () => command(events.reserveSlot, ref),
      RESERVE_INSTRUMENT: () =>
        command(events.reserveInstrument, { ...ref, instrumentId: rental.instrumentId }),
      CHARGE_PAYMENT: charge,
      REFUND_PAYMENT: () => command(events.refundPayment, ref),
      RELEASE_INSTRUMENT: () =>
        command(events.releaseInstrument, { ...ref, instrumentId: rental.instrumentId }),
      RELEASE_SLOT: () => command(events.releaseSlot, ref),
    };
    return step in commands ? commands[step as ForwardStep]() : charge();
  }

  /** Closes the latest open attempt of a step on its own (no transition goes with it). */
  private async finishAttempt(tx: Tx, rentalId: string, finished: Finished): Promise<void> {
    const finishedAt = new Date();
    const [closed] = await tx.$queryRaw<AttemptClosed[]>(
      this.finishing(Prisma.sql`${rentalId}::uuid`, finished, finishedAt),
    );
    if (closed) this.observe(rentalId, finished, closed, finishedAt);
  }

  /** The UPDATE that closes the latest attempt of a step still open, with no read before the write. */
  private finishing(rentalId: Prisma.Sql, { step, outcome, reason }: Finished, finishedAt: Date): Prisma.Sql {
    return Prisma.sql`UPDATE "saga_steps" SET "outcome" = ${outcome}, "reason" = ${reason}, "finished_at" = ${finishedAt}
      WHERE "id" = (
        SELECT "id" FROM "saga_steps"
        WHERE "rental_id" = ${rentalId} AND "step" = ${step} AND "outcome" = 'STARTED'
        ORDER BY "id" DESC LIMIT 1
      )
      RETURNING "action", "attempt", "started_at" AS "startedAt"`;
  }

  /** A closed attempt's duration in the step histogram, and the step as a span of its own. */
  private observe(
    rentalId: string,
    { step, outcome, reason }: Finished,
    closed: AttemptClosed,
    finishedAt: Date,
  ) {
    this.stepDuration.observe(
      { step, action: closed.action, outcome },
      (finishedAt.getTime() - closed.startedAt.getTime()) / 1000,
    );
    // The step as a span of its own, from its command to its answer (or deadline).
    const span = tracer.startSpan(`rent-instrument ${step}`, {
      startTime: closed.startedAt,
      attributes: {
        'soundgood.rental.id': rentalId,
        'soundgood.saga.step': step,
        'soundgood.saga.action': closed.action,
        'soundgood.saga.attempt': closed.attempt,
        'soundgood.saga.outcome': outcome,
        ...(reason ? { 'soundgood.saga.reason': reason } : {}),
      },
    });
    if (outcome !== 'SUCCEEDED')
      span.setStatus({ code: SpanStatusCode.ERROR, message: `${step} ${outcome}: ${reason}` });
    span.end(finishedAt);
  }

  private async history(
    tx: Tx,
    rentalId: string,
    step: Step,
    action: string,
    outcome: string,
    reason: string,
  ): Promise<void> {
    const now = new Date();
    await tx.sagaStep.create({
      data: { rentalId, step, action, attempt: 0, outcome, reason, startedAt: now, finishedAt: now },
    });
  }

  private deadline(): Date {
    return new Date(Date.now() + this.config.SAGA_STEP_TIMEOUT_MS);
  }
}
