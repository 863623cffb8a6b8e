/**
 * The rent-instrument saga end to end: five services as separate processes, real Kafka and
 * PostgreSQL. After every test, the invariants across all databases are checked.
 */
import type { Consumer, Producer } from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startSoundgood } from './soundgood.js';

let soundgood: Stack;

beforeAll(async () => {
  soundgood = await startSoundgood();
});

afterEach(async () => {
  await soundgood?.checkInvariants();
});

afterAll(async () => {
  await soundgood?.close();
});

const charges = async (rentalId: string) =>
  (
    await soundgood.query<{ amount_cents: number }>(
      'billing',
      'SELECT amount_cents FROM charges WHERE rental_id = $1',
      rentalId,
    )
  ).length;
const refunds = async (rentalId: string) =>
  (
    await soundgood.query<{ amount_cents: number }>(
      'billing',
      'SELECT amount_cents FROM refunds WHERE rental_id = $1',
      rentalId,
    )
  )[0]?.amount_cents;
const available = async (instrumentId: string) =>
  (
    (await soundgood.call('inventory', 'GET', `/instruments/${instrumentId}`)).body as {
      rentalId: string | null;
    }
  ).rentalId === null;
const activeRentals = async (studentId: string) =>
  ((await soundgood.call('students', 'GET', `/students/${studentId}`)).body as { activeRentals: number })
    .activeRentals;

/** The date in the services' default school time zone (the sv-SE format is YYYY-MM-DD). */
const stockholmDate = () => new Date().toLocaleDateString('sv-SE', { timeZone: 'Europe/Stockholm' });
/** Day D of the Nth month after, or that month's last day: written apart from the service's library. */
const monthsAfter = (date: string, months: number) => {
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  const lastDay = new Date(Date.UTC(year, month + months, 0)).getUTCDate();
  return new Date(Date.UTC(year, month - 1 + months, Math.min(day, lastDay))).toISOString().slice(0, 10);
};

describe('rent an instrument', () => {
  it('confirms a rental: one charge, the instrument rented, the slot used', async () => {
    const student = await soundgood.student();
    const instrument = await soundgood.instrument(3900);
    const requestedOn = stockholmDate();
    const id = await soundgood.rent(student, instrument, 6);
    expect((await soundgood.rental(id)).status).toBe('PENDING');

    const rental = await soundgood.settled(id);
    expect(rental.status).toBe('CONFIRMED');
    expect(rental).toMatchObject({ monthlyFeeCents: 3900, currency: 'EUR' });
    // Starts on the school's date when confirmed, ends 6 calendar months later (test/rental-dates.test.ts
    // sets the clock to month ends and midnight; here the clock is the machine's).
    expect([requestedOn, stockholmDate()]).toContain(rental.startsOn);
    expect(rental.endsOn).toBe(monthsAfter(rental.startsOn as string, 6));
    expect(rental.saga.history.map((h) => `${h.step}:${h.outcome}`)).toEqual([
      'RESERVE_SLOT:SUCCEEDED',
      'RESERVE_INSTRUMENT:SUCCEEDED',
      'CHARGE_PAYMENT:SUCCEEDED',
    ]);
    expect(await charges(id)).toBe(1);
    expect(await available(instrument)).toBe(false);
    expect(await activeRentals(student)).toBe(1);
    // notifications hears of the outcome asynchronously, after rentals has confirmed.
    await expect
      .poll(
        async () => (await soundgood.call('notifications', 'GET', `/students/${student}/notifications`)).body,
        {
          timeout: 15_000,
        },
      )
      .toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            rentalId: id,
            kind: 'CONFIRMED',
            message: expect.stringContaining(`from ${rental.startsOn} to ${rental.endsOn}`),
          }),
        ]),
      );
  });

  it('returns the same rental for a retried request with the same Idempotency-Key', async () => {
    const student = await soundgood.student();
    const instrument = await soundgood.instrument();
    const headers = { 'idempotency-key': `retry-${student}` };
    const [first, second] = await Promise.all([
      soundgood.rent(student, instrument, 2, headers),
      soundgood.rent(student, instrument, 2, headers),
    ]);
    expect(second).toBe(first);
    expect((await soundgood.settled(first)).status).toBe('CONFIRMED');
    const reused = await soundgood.call(
      'rentals',
      'POST',
      '/rentals',
      { studentId: student, instrumentId: instrument, months: 5 },
      headers,
    );
    expect(reused.status).toBe(409);
  });

  it('rejects a third rental of a student and releases what it had taken', async () => {
    const student = await soundgood.student();
    for (const months of [1, 2]) {
      expect(
        (await soundgood.settled(await soundgood.rent(student, await soundgood.instrument(), months))).status,
      ).toBe('CONFIRMED');
    }
    const instrument = await soundgood.instrument();
    const third = await soundgood.settled(await soundgood.rent(student, instrument));
    expect(third).toMatchObject({ status: 'REJECTED', reason: 'QUOTA_EXCEEDED' });
    expect(await available(instrument)).toBe(true);
    expect(await charges(third.id)).toBe(0);
    expect(await activeRentals(student)).toBe(2);
  });

  it('rejects an instrument that is already rented, and releases the slot', async () => {
    const instrument = await soundgood.instrument();
    const first = await soundgood.settled(await soundgood.rent(await soundgood.student(), instrument));
    expect(first.status).toBe('CONFIRMED');
    const student = await soundgood.student();
    const second = await soundgood.settled(await soundgood.rent(student, instrument));
    expect(second).toMatchObject({ status: 'REJECTED', reason: 'ALREADY_RENTED' });
    expect(second.saga.history.map((h) => `${h.step}:${h.outcome}`)).toEqual([
      'RESERVE_SLOT:SUCCEEDED',
      'RESERVE_INSTRUMENT:REJECTED',
      'RELEASE_SLOT:SUCCEEDED',
    ]);
    expect(await activeRentals(student)).toBe(0);
  });

  it('rejects a declined payment and releases the instrument and the slot', async () => {
    const student = await soundgood.student('pm_card_declined');
    const instrument = await soundgood.instrument();
    const rental = await soundgood.settled(await soundgood.rent(student, instrument));
    expect(rental).toMatchObject({ status: 'REJECTED', reason: 'CARD_DECLINED' });
    expect(rental.saga.history.map((h) => `${h.step}:${h.outcome}`)).toEqual([
      'RESERVE_SLOT:SUCCEEDED',
      'RESERVE_INSTRUMENT:SUCCEEDED',
      'CHARGE_PAYMENT:REJECTED',
      'RELEASE_INSTRUMENT:SUCCEEDED',
      'RELEASE_SLOT:SUCCEEDED',
    ]);
    expect(await available(instrument)).toBe(true);
    expect(await activeRentals(student)).toBe(0);
    expect(await charges(rental.id)).toBe(0);
  });

  it('gives exactly one of two students the last free instrument', async () => {
    const instrument = await soundgood.instrument();
    const ids = await Promise.all([
      soundgood.rent(await soundgood.student(), instrument),
      soundgood.rent(await soundgood.student(), instrument),
    ]);
    const rentals = await Promise.all(ids.map((id) => soundgood.settled(id)));
    expect(rentals.map((r) => r.status).sort()).toEqual(['CONFIRMED', 'REJECTED']);
  });

  it('confirms at most two of five rentals a student fires at once', async () => {
    const student = await soundgood.student();
    const instruments = await Promise.all([1, 2, 3, 4, 5].map(() => soundgood.instrument()));
    const ids = await Promise.all(instruments.map((instrument) => soundgood.rent(student, instrument)));
    const rentals = await Promise.all(ids.map((id) => soundgood.settled(id)));
    const outcomes = JSON.stringify(
      rentals.map((r) => [r.status, r.reason, r.saga.history.map((h) => `${h.step}:${h.outcome}`)]),
    );
    expect(
      rentals.filter((r) => r.status === 'CONFIRMED'),
      outcomes,
    ).toHaveLength(2);
    expect(rentals.filter((r) => r.status === 'REJECTED').every((r) => r.reason === 'QUOTA_EXCEEDED')).toBe(
      true,
    );
    expect(await activeRentals(student)).toBe(2);
  });

  it('frees the instrument and the slot when a rental is terminated', async () => {
    const student = await soundgood.student();
    const instrument = await soundgood.instrument();
    const rental = await soundgood.settled(await soundgood.rent(student, instrument));
    expect(rental.status).toBe('CONFIRMED');
    const terminated = await soundgood.call('rentals', 'POST', `/rentals/${rental.id}/terminate`);
    expect(terminated.body).toMatchObject({ status: 'TERMINATED' });
    await expect.poll(() => available(instrument), { timeout: 15_000 }).toBe(true);
    await expect.poll(() => activeRentals(student), { timeout: 15_000 }).toBe(0);
    expect((await soundgood.call('rentals', 'POST', `/rentals/${rental.id}/terminate`)).status).toBe(409);
    expect((await soundgood.rental(rental.id)).status).toBe('TERMINATED');
  });
});

describe('rent an instrument when things go wrong', () => {
  it('rejects after the deadline while billing is down, and leaves no charge once billing is back', async () => {
    await soundgood.stop('billing', 'SIGKILL');
    const student = await soundgood.student().catch(() => undefined);
    expect(student, 'billing is down: the account cannot be set up now').toBeUndefined();
    const studentId = crypto.randomUUID();
    await soundgood.call('students', 'POST', '/students', {
      id: studentId,
      name: 'Offline',
      email: `${studentId}@soundgood.test`,
    });
    const instrument = await soundgood.instrument();
    const id = await soundgood.rent(studentId, instrument);

    // The charge gets no answer: past its deadline the saga compensates, starting with a refund.
    await expect
      .poll(
        async () =>
          (await soundgood.rental(id)).saga.history.some(
            (h) => h.step === 'CHARGE_PAYMENT' && h.outcome === 'TIMED_OUT',
          ),
        {
          timeout: 40_000,
        },
      )
      .toBe(true);
    expect((await soundgood.rental(id)).saga.status).toBe('COMPENSATING');

    await soundgood.start('billing');
    const rental = await soundgood.settled(id, 60_000);
    expect(rental).toMatchObject({ status: 'REJECTED', reason: 'CHARGE_PAYMENT_TIMEOUT' });
    expect(await available(instrument)).toBe(true);
    expect(await activeRentals(studentId)).toBe(0);
    // The charge command was still delivered to billing: it was refused (no account) or refunded.
    const charged = await charges(id);
    expect(charged === 0 || (await refunds(id)) !== undefined).toBe(true);
  });

  it('reaches the same final state with one charge when every message is delivered twice', async () => {
    const producer: Producer = soundgood.kafka.producer();
    const duplicator: Consumer = soundgood.kafka.consumer({ groupId: `${soundgood.topic}.duplicator` });
    await producer.connect();
    await duplicator.connect();
    await duplicator.subscribe({ topic: soundgood.topic, fromBeginning: false });
    let duplicated = 0;
    await duplicator.run({
      eachMessage: async ({ message }) => {
        if (message.headers?.['x-soundgood-duplicate']) return;
        await producer.send({
          topic: soundgood.topic,
          messages: [
            {
              key: message.key,
              value: message.value,
              headers: { ...message.headers, 'x-soundgood-duplicate': '1' },
            },
          ],
        });
        duplicated++;
      },
    });
    try {
      await new Promise((r) => setTimeout(r, 2000));
      const student = await soundgood.student();
      const declined = await soundgood.student('pm_card_declined');
      const ok = await soundgood.settled(await soundgood.rent(student, await soundgood.instrument()));
      const rejected = await soundgood.settled(await soundgood.rent(declined, await soundgood.instrument()));
      expect(ok.status).toBe('CONFIRMED');
      expect(rejected).toMatchObject({ status: 'REJECTED', reason: 'CARD_DECLINED' });
      expect(await charges(ok.id)).toBe(1);
      expect(duplicated).toBeGreaterThanOrEqual(14);
    } finally {
      await duplicator.disconnect();
      await producer.disconnect();
    }
  });
});

describe('rentals API', () => {
  it('answers 400 naming each wrong field, 404 for an unknown rental', async () => {
    const bad = await soundgood.call('rentals', 'POST', '/rentals', { studentId: 'x', months: 13 });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toMatch(/studentId/);
    expect(JSON.stringify(bad.body)).toMatch(/instrumentId/);
    expect(JSON.stringify(bad.body)).toMatch(/months/);
    expect((await soundgood.call('rentals', 'GET', `/rentals/${crypto.randomUUID()}`)).status).toBe(404);
    expect((await soundgood.call('rentals', 'GET', '/sagas?status=bogus')).status).toBe(400);
    const openapi = await soundgood.call('rentals', 'GET', '/openapi.json');
    expect(
      openapi.body.paths['/rentals'].post.requestBody.content['application/json'].schema.required,
    ).toEqual(['studentId', 'instrumentId', 'months']);
  });
});
