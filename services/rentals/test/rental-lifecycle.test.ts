/**
 * The rental lifecycle with rentals alone (issue 15): the test sends the daily ticks for any date
 * and plays billing, inventory and students (it reads the commands at the fake broker and answers
 * them). The same flows across the real services: test/e2e/rental-lifecycle.e2e.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { type EventDefinition, events } from '@soundgood/event-catalog';
import { createEvent } from '@soundgood/eventing';
import { startTestService, type TestService, waitFor } from '@soundgood/eventing/testing';
import type { CloudEvent } from 'cloudevents';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { schoolDayTick } from '../../../scripts/school-clock.ts';
import { configSchema } from '../src/config.js';
import { Database } from '../src/database.js';
import { RentalsModule } from '../src/rentals.module.js';
import { Clock } from '../src/school-calendar.js';

let rentals: TestService<Database>;

beforeAll(async () => {
  rentals = await startTestService({
    service: 'rentals',
    configSchema,
    database: Database,
    module: RentalsModule,
    env: { OUTBOX_POLL_INTERVAL_MS: '100', PAYMENT_GRACE_DAYS: '3' },
  });
});

afterAll(async () => {
  await rentals?.stop();
});

interface RentalView {
  status: string;
  reason: string | null;
  endsOn: string;
  months: { month: number; dueOn: string; status: string; attempts: number; reason: string | null }[];
  arrears: { month: number; dueOn: string; graceEndsOn: string; attempts: number; reason: string } | null;
  saga: { status: string; history: { step: string; action: string; outcome: string }[] };
}

const view = async (id: string) => (await rentals.http<RentalView>('GET', `/rentals/${id}`)).body;
/** Noon UTC is the same date in Stockholm all year. */
const tick = async (date: string, id?: string) => {
  const { status } = await rentals.send(schoolDayTick(new Date(`${date}T12:00:00Z`), 'Europe/Stockholm', id));
  expect(status, `tick ${date}`).toBe(204);
};
const sent = (rentalId: string, type: string) =>
  rentals.broker.events.filter((e) => e.partitionkey === rentalId && e.type === type);
const charges = (rentalId: string, month: number) =>
  sent(rentalId, events.chargePayment.type).filter((e) => (e.data as { month: number }).month === month);
const waitForCount = (what: () => CloudEvent<unknown>[], count: number, label: string) =>
  waitFor(() => (what().length === count ? true : undefined), label);
const reply = async (definition: EventDefinition, rentalId: string, data: Record<string, unknown>) => {
  const { status } = await rentals.send(createEvent(definition, data as never, { partitionKey: rentalId }));
  expect(status).toBe(204);
};
const schoolDays = async () =>
  (
    await rentals.http<{ date: string; eventId: string; chargesSent: number; rentalsEnded: number }[]>(
      'GET',
      '/school-days?limit=1000',
    )
  ).body;

/** Rents an instrument confirmed at `now`, answering every step with success. */
async function confirmedRental(now: string, months: number) {
  vi.spyOn(rentals.app.get(Clock), 'now').mockReturnValue(new Date(now));
  const studentId = randomUUID();
  const instrumentId = randomUUID();
  const created = await rentals.http<{ id: string }>('POST', '/rentals', { studentId, instrumentId, months });
  expect(created.status).toBe(202);
  const rentalId = created.body.id;
  const ref = { rentalId, studentId };
  const answer = async (command: { type: string }, definition: EventDefinition, data: object) => {
    await waitForCount(() => sent(rentalId, command.type), 1, `${command.type} for ${rentalId}`);
    await reply(definition, rentalId, { ...ref, ...data });
  };
  await answer(events.reserveSlot, events.slotReserved, { activeRentals: 1 });
  await answer(events.reserveInstrument, events.instrumentReserved, {
    instrumentId,
    monthlyFeeCents: 2500,
    currency: 'EUR',
  });
  await answer(events.chargePayment, events.paymentCharged, {
    month: 1,
    amountCents: 2500,
    currency: 'EUR',
    chargeId: randomUUID(),
  });
  await waitFor(async () => ((await view(rentalId)).status === 'CONFIRMED' ? true : undefined), 'confirmed');
  vi.restoreAllMocks();
  return { ...ref, instrumentId };
}

type Ref = Awaited<ReturnType<typeof confirmedRental>>;
const charged = (rental: Ref, month: number) =>
  reply(events.paymentCharged, rental.rentalId, {
    rentalId: rental.rentalId,
    studentId: rental.studentId,
    month,
    amountCents: 2500,
    currency: 'EUR',
    chargeId: randomUUID(),
  });
const declined = (rental: Ref, month: number) =>
  reply(events.paymentDeclined, rental.rentalId, {
    rentalId: rental.rentalId,
    studentId: rental.studentId,
    month,
    reason: 'CARD_DECLINED',
    message: 'the payment provider declined pm_card_declined (CARD_DECLINED)',
  });

/** Answers the END steps (instrument, then slot) and waits for the saga to be ENDED. */
async function released(rental: Ref) {
  await waitForCount(() => sent(rental.rentalId, events.releaseInstrument.type), 1, 'release instrument');
  await reply(events.instrumentReleased, rental.rentalId, {
    rentalId: rental.rentalId,
    studentId: rental.studentId,
    instrumentId: rental.instrumentId,
  });
  await waitForCount(() => sent(rental.rentalId, events.releaseSlot.type), 1, 'release slot');
  await reply(events.slotReleased, rental.rentalId, {
    rentalId: rental.rentalId,
    studentId: rental.studentId,
  });
  return waitFor(async () => {
    const current = await view(rental.rentalId);
    return current.saga.status === 'ENDED' ? current : undefined;
  }, `the saga of ${rental.rentalId} to end`);
}

describe('the rental lifecycle, day by day', () => {
  let a: Ref;

  it('charges each later month on its anniversary (clamped to the month’s end) and ends the rental on its end date', async () => {
    a = await confirmedRental('2027-01-31T12:00:00Z', 3);
    expect((await view(a.rentalId)).endsOn).toBe('2027-04-30');
    await tick('2027-01-31');
    await tick('2027-02-27');
    await new Promise((r) => setTimeout(r, 300));
    expect(charges(a.rentalId, 2)).toHaveLength(0);

    await tick('2027-02-28');
    await waitForCount(() => charges(a.rentalId, 2), 1, 'the charge of month 2');
    expect(charges(a.rentalId, 2)[0]?.data).toMatchObject({ month: 2, amountCents: 2500, currency: 'EUR' });
    await charged(a, 2);
    await tick('2027-03-31');
    await waitForCount(() => charges(a.rentalId, 3), 1, 'the charge of month 3');
    await charged(a, 3);
    await tick('2027-04-29');
    expect((await view(a.rentalId)).status).toBe('CONFIRMED');

    await tick('2027-04-30');
    await waitForCount(() => sent(a.rentalId, events.rentalTerminated.type), 1, 'rental.terminated');
    expect(sent(a.rentalId, events.rentalTerminated.type)[0]?.data).toMatchObject({ reason: 'ENDED' });
    const ended = await released(a);
    expect(ended).toMatchObject({ status: 'TERMINATED', reason: 'ENDED', arrears: null });
    expect(ended.months.map((m) => [m.month, m.dueOn, m.status])).toEqual([
      [1, '2027-01-31', 'CHARGED'],
      [2, '2027-02-28', 'CHARGED'],
      [3, '2027-03-31', 'CHARGED'],
    ]);
    expect(ended.saga.history.map((h) => `${h.step}:${h.action}:${h.outcome}`).slice(3)).toEqual([
      'CHARGE_MONTH_2:EXECUTE:SUCCEEDED',
      'CHARGE_MONTH_3:EXECUTE:SUCCEEDED',
      'RELEASE_INSTRUMENT:END:SUCCEEDED',
      'RELEASE_SLOT:END:SUCCEEDED',
    ]);
    // Every day from the first tick to the last, each once.
    const days = (await schoolDays()).map((d) => d.date);
    expect(days).toHaveLength(90);
    expect(new Set(days).size).toBe(90);
    expect([days.at(-1), days[0]]).toEqual(['2027-01-31', '2027-04-30']);
  });

  it('changes nothing for a repeated tick, a redelivered one or one for a day already done', async () => {
    const before = rentals.broker.events.length;
    const daysBefore = await schoolDays();
    const again = randomUUID();
    await tick('2027-04-30', again);
    await tick('2027-04-30', again);
    await tick('2027-04-30');
    await tick('2027-03-01');
    await new Promise((r) => setTimeout(r, 500));
    expect(rentals.broker.events.length).toBe(before);
    expect(await schoolDays()).toEqual(daysBefore);
    expect(charges(a.rentalId, 3)).toHaveLength(1);
  });

  it('puts a declined month in arrears, retries it each day, catches up a missed day and ends the rental PAYMENT_OVERDUE after the grace period', async () => {
    const b = await confirmedRental('2027-04-30T12:00:00Z', 3);
    const c = await confirmedRental('2027-04-30T12:00:00Z', 3);
    await tick('2027-05-30');
    await waitForCount(() => charges(b.rentalId, 2), 1, 'month 2 of b');
    await waitForCount(() => charges(c.rentalId, 2), 1, 'month 2 of c');
    await declined(b, 2);
    await declined(c, 2);
    const arrears = {
      month: 2,
      dueOn: '2027-05-30',
      graceEndsOn: '2027-06-02',
      attempts: 1,
      reason: 'CARD_DECLINED',
    };
    expect((await view(b.rentalId)).arrears).toEqual(arrears);
    await waitForCount(() => sent(b.rentalId, events.paymentMissed.type), 1, 'payment.missed');
    expect(sent(b.rentalId, events.paymentMissed.type)[0]?.data).toMatchObject({
      month: 2,
      dueOn: '2027-05-30',
      graceEndsOn: '2027-06-02',
      reason: 'CARD_DECLINED',
    });

    // Retried the next day: b is declined again, c is charged and out of arrears.
    await tick('2027-05-31');
    await waitForCount(() => charges(b.rentalId, 2), 2, 'the retry of b');
    await waitForCount(() => charges(c.rentalId, 2), 2, 'the retry of c');
    await declined(b, 2);
    await charged(c, 2);
    expect((await view(b.rentalId)).arrears).toMatchObject({ month: 2, attempts: 2 });
    expect((await view(c.rentalId)).arrears).toBeNull();

    // Nothing ticks on Jun 1: the Jun 2 tick does Jun 1 (a third attempt) and then Jun 2 (overdue).
    await tick('2027-06-02');
    await waitForCount(() => charges(b.rentalId, 2), 3, 'the catch-up retry of b');
    await waitForCount(() => sent(b.rentalId, events.rentalTerminated.type), 1, 'b terminated');
    expect(sent(b.rentalId, events.rentalTerminated.type)[0]?.data).toMatchObject({
      reason: 'PAYMENT_OVERDUE',
    });
    await declined(b, 2);
    const overdue = await released(b);
    expect(overdue).toMatchObject({ status: 'TERMINATED', reason: 'PAYMENT_OVERDUE', arrears: null });
    expect(sent(b.rentalId, events.paymentMissed.type)).toHaveLength(1);
    expect((await view(c.rentalId)).status).toBe('CONFIRMED');
    expect(charges(c.rentalId, 2)).toHaveLength(2);
    const [jun2, jun1] = await schoolDays();
    expect([jun1?.date, jun2?.date]).toEqual(['2027-06-01', '2027-06-02']);
    expect(jun1?.eventId).toBe(jun2?.eventId);
    expect(jun1).toMatchObject({ chargesSent: 1, rentalsEnded: 0 });
    expect(jun2).toMatchObject({ chargesSent: 0, rentalsEnded: 1 });
  });

  it('ends a rental terminated on request the same way: TERMINATED_EARLY, then its END steps', async () => {
    const d = await confirmedRental('2027-06-02T12:00:00Z', 2);
    const terminated = await rentals.http('POST', `/rentals/${d.rentalId}/terminate`);
    expect(terminated.status).toBe(200);
    await waitForCount(() => sent(d.rentalId, events.rentalTerminated.type), 1, 'rental.terminated');
    expect(sent(d.rentalId, events.rentalTerminated.type)[0]?.data).toMatchObject({
      reason: 'TERMINATED_EARLY',
    });
    const ended = await released(d);
    expect(ended).toMatchObject({ status: 'TERMINATED', reason: 'TERMINATED_EARLY' });
    expect((await rentals.http('POST', `/rentals/${d.rentalId}/terminate`)).status).toBe(409);
  });

  it('shows the school days to staff only, and names a wrong limit', async () => {
    const student = await rentals.issuer.student(randomUUID());
    expect((await rentals.http('GET', '/school-days', undefined, { as: student })).status).toBe(403);
    expect((await rentals.http('GET', '/school-days', undefined, { as: null })).status).toBe(401);
    const bad = await rentals.http('GET', '/school-days?limit=0');
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toMatch(/limit/);
  });

  it('takes the school date of a tick in the school’s time zone, not UTC’s', async () => {
    // 22:30 UTC on Jun 2 is 00:30 on Jun 3 in Stockholm (summer time, UTC+2).
    const { status } = await rentals.send(schoolDayTick(new Date('2027-06-02T22:30:00Z')));
    expect(status).toBe(204);
    expect((await schoolDays())[0]?.date).toBe('2027-06-03');
  });
});
