/**
 * The rental lifecycle end to end (issue 15): the five services as separate processes on real Kafka
 * and PostgreSQL, driven by the daily school-day tick that the test sends for any date (as the
 * PingSource does in a cluster). One timeline, in order: rentals confirmed today, then simulated
 * school days months ahead. After every test, the invariants across all databases, including the
 * months charged against the months elapsed.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { monthsAfter, type Rental, type Stack, startSoundgood } from './soundgood.js';

let soundgood: Stack;

beforeAll(async () => {
  soundgood = await startSoundgood({ rentals: { PAYMENT_GRACE_DAYS: '3' } });
});

afterEach(async () => {
  await soundgood?.checkInvariants();
});

afterAll(async () => {
  await soundgood?.close();
});

type Lifecycle = Rental & {
  months: { month: number; dueOn: string; status: string; attempts: number }[];
  arrears: { month: number; dueOn: string; graceEndsOn: string; attempts: number; reason: string } | null;
};

/** Noon UTC is on the same date in Stockholm all year. */
const noon = (date: string) => new Date(`${date}T12:00:00Z`);
const plusDays = (date: string, days: number) =>
  new Date(noon(date).getTime() + days * 86_400_000).toISOString().slice(0, 10);
const rental = async (id: string) => (await soundgood.rental(id)) as Lifecycle;
const chargedMonths = async (rentalId: string) =>
  (
    await soundgood.query<{ month: number }>(
      'billing',
      `SELECT month FROM charges WHERE rental_id = $1 AND status = 'CHARGED' ORDER BY month`,
      rentalId,
    )
  ).map((c) => c.month);
const available = async (instrumentId: string) =>
  (
    (await soundgood.call('inventory', 'GET', `/instruments/${instrumentId}`)).body as {
      rentalId: string | null;
    }
  ).rentalId === null;
const activeRentals = async (studentId: string) =>
  ((await soundgood.call('students', 'GET', `/students/${studentId}`)).body as { activeRentals: number })
    .activeRentals;
const notifications = async (studentId: string) =>
  (await soundgood.call('notifications', 'GET', `/students/${studentId}/notifications`)).body as {
    kind: string;
    rentalId: string;
    message: string;
  }[];
const schoolDays = async () =>
  (await soundgood.call('rentals', 'GET', '/school-days?limit=1000')).body as {
    date: string;
    eventId: string;
  }[];
const poll = { timeout: 30_000, interval: 250 };

describe('the rental lifecycle across simulated months', () => {
  const a = { student: '', instrument: '', id: '', startsOn: '' };
  const b = { student: '', instrument: '', id: '', startsOn: '' };
  let secondMonth = '';

  beforeAll(async () => {
    a.student = await soundgood.student();
    b.student = await soundgood.student();
    a.instrument = await soundgood.instrument(3100);
    b.instrument = await soundgood.instrument(2700);
    a.id = await soundgood.rent(a.student, a.instrument, 3);
    b.id = await soundgood.rent(b.student, b.instrument, 3);
    for (const r of [a, b]) {
      const confirmed = await soundgood.settled(r.id);
      expect(confirmed.status).toBe('CONFIRMED');
      r.startsOn = confirmed.startsOn as string;
    }
    // b's card stops working after its first month.
    const changed = await soundgood.call('billing', 'PUT', `/accounts/${b.student}`, {
      paymentMethod: 'pm_card_declined',
    });
    expect(changed.status).toBe(200);
    await soundgood.tick(noon(a.startsOn));
    secondMonth = monthsAfter(a.startsOn, 1);
  });

  it('charges the second month on its anniversary once, however often the day’s tick arrives', async () => {
    expect(b.startsOn, 'both rentals confirmed on one school day').toBe(a.startsOn);
    const tick = randomUUID();
    await soundgood.tick(noon(secondMonth), tick);
    await soundgood.tick(noon(secondMonth), tick); // redelivered
    await soundgood.tick(noon(secondMonth)); // a second PingSource run for the same day
    await expect.poll(() => chargedMonths(a.id), poll).toEqual([1, 2]);
    await expect.poll(async () => (await rental(b.id)).arrears?.month, poll).toBe(2);
    await new Promise((r) => setTimeout(r, 3000));
    expect(await chargedMonths(a.id)).toEqual([1, 2]);
    const days = (await schoolDays()).map((d) => d.date);
    expect(new Set(days).size).toBe(days.length);
    expect(days[0]).toBe(secondMonth);
    expect((await rental(a.id)).months.map((m) => [m.month, m.status])).toEqual([
      [1, 'CHARGED'],
      [2, 'CHARGED'],
    ]);
  });

  it('puts a declined month in arrears, retries it each day, catches up a missed day and ends the rental PAYMENT_OVERDUE after the grace period', async () => {
    const graceEndsOn = plusDays(secondMonth, 3);
    expect((await rental(b.id)).arrears).toEqual({
      month: 2,
      dueOn: secondMonth,
      graceEndsOn,
      attempts: 1,
      reason: 'CARD_DECLINED',
    });
    await expect
      .poll(
        async () => (await notifications(b.student)).filter((n) => n.kind === 'PAYMENT_MISSED').length,
        poll,
      )
      .toBe(1);
    expect((await notifications(b.student)).find((n) => n.kind === 'PAYMENT_MISSED')?.message).toContain(
      `unpaid on ${graceEndsOn}`,
    );

    await soundgood.tick(noon(plusDays(secondMonth, 1)));
    await expect
      .poll(async () => {
        const month = (await rental(b.id)).months[1];
        return `${month?.attempts} ${month?.status}`;
      }, poll)
      .toBe('2 DECLINED');

    // Nothing ticks on the second day after: the third day's tick does it first.
    await soundgood.tick(noon(graceEndsOn));
    await expect
      .poll(async () => (await rental(b.id)).saga.status, { ...poll, timeout: 60_000 })
      .toBe('ENDED');
    const overdue = await rental(b.id);
    expect(overdue).toMatchObject({ status: 'TERMINATED', reason: 'PAYMENT_OVERDUE' });
    expect(overdue.months[1]?.attempts).toBe(3);
    expect(
      overdue.saga.history.filter((h) => h.action === 'END').map((h) => `${h.step}:${h.outcome}`),
    ).toEqual(['RELEASE_INSTRUMENT:SUCCEEDED', 'RELEASE_SLOT:SUCCEEDED']);
    expect(await available(b.instrument)).toBe(true);
    expect(await activeRentals(b.student)).toBe(0);
    expect(await chargedMonths(b.id)).toEqual([1]);
    await expect
      .poll(async () => (await notifications(b.student)).map((n) => n.kind).sort(), poll)
      .toEqual(['CONFIRMED', 'PAYMENT_MISSED', 'TERMINATED']);
    const days = await schoolDays();
    const missed = days.find((d) => d.date === plusDays(secondMonth, 2));
    const last = days.find((d) => d.date === graceEndsOn);
    expect(missed?.eventId, 'the missed day was done by the next tick').toBe(last?.eventId);
    // a is untouched by b's trouble, and paid up.
    expect((await rental(a.id)).status).toBe('CONFIRMED');
    expect(await chargedMonths(a.id)).toEqual([1, 2]);
  });

  it('charges the third month and ends the rental on its end date, three charges, the instrument available again', async () => {
    await soundgood.tick(noon(monthsAfter(a.startsOn, 2)));
    await expect.poll(() => chargedMonths(a.id), poll).toEqual([1, 2, 3]);
    const endsOn = (await rental(a.id)).endsOn as string;
    expect(endsOn).toBe(monthsAfter(a.startsOn, 3));
    await soundgood.tick(noon(plusDays(endsOn, -1)));
    await new Promise((r) => setTimeout(r, 1500));
    expect((await rental(a.id)).status).toBe('CONFIRMED');
    expect(await available(a.instrument)).toBe(false);

    await soundgood.tick(noon(endsOn));
    await expect
      .poll(async () => (await rental(a.id)).saga.status, { ...poll, timeout: 60_000 })
      .toBe('ENDED');
    const ended = await rental(a.id);
    expect(ended).toMatchObject({ status: 'TERMINATED', reason: 'ENDED', arrears: null });
    expect(ended.months.map((m) => `${m.month}:${m.dueOn}:${m.status}`)).toEqual([
      `1:${a.startsOn}:CHARGED`,
      `2:${monthsAfter(a.startsOn, 1)}:CHARGED`,
      `3:${monthsAfter(a.startsOn, 2)}:CHARGED`,
    ]);
    expect(await chargedMonths(a.id)).toEqual([1, 2, 3]);
    expect(await available(a.instrument)).toBe(true);
    expect(await activeRentals(a.student)).toBe(0);
    await expect
      .poll(async () => (await notifications(a.student)).map((n) => n.kind).sort(), poll)
      .toEqual(['CONFIRMED', 'ENDED']);
    // The instrument can be rented again.
    const again = await soundgood.settled(await soundgood.rent(await soundgood.student(), a.instrument, 1));
    expect(again.status).toBe('CONFIRMED');
  });
});
