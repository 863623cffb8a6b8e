/**
 * The dates of a confirmed rental, with rentals alone and the clock set by the test: the test plays
 * the participants (it answers the saga's commands at the fake broker).
 */
import { randomUUID } from 'node:crypto';
import { events } from '@soundgood/event-catalog';
import { createEvent } from '@soundgood/eventing';
import { startTestService, type TestService, waitFor } from '@soundgood/eventing/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
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
    env: { OUTBOX_POLL_INTERVAL_MS: '100' },
  });
});

afterAll(async () => {
  await rentals?.stop();
});

const command = (rentalId: string, type: string) =>
  waitFor(
    () => rentals.broker.events.find((e) => e.partitionkey === rentalId && e.type === type),
    `${type} for rental ${rentalId}`,
  );

/** Rents an instrument at `now` and answers every step with success. */
async function confirmedRental(now: string, months: number) {
  vi.spyOn(rentals.app.get(Clock), 'now').mockReturnValue(new Date(now));
  const studentId = randomUUID();
  const instrumentId = randomUUID();
  const created = await rentals.http<{ id: string }>('POST', '/rentals', { studentId, instrumentId, months });
  expect(created.status).toBe(202);
  const rentalId = created.body.id;
  const ref = { rentalId, studentId };
  const answer = async (
    step: { type: string },
    reply: Parameters<typeof createEvent>[0],
    data: Record<string, unknown>,
  ) => {
    await command(rentalId, step.type);
    expect(
      (await rentals.send(createEvent(reply, { ...ref, ...data }, { partitionKey: rentalId }))).status,
    ).toBe(204);
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
  const view = await waitFor(async () => {
    const current = (
      await rentals.http<{ status: string; startsOn: string; endsOn: string }>('GET', `/rentals/${rentalId}`)
    ).body;
    return current.status === 'CONFIRMED' ? current : undefined;
  }, `rental ${rentalId} to be confirmed`);
  const confirmed = await command(rentalId, events.rentalConfirmed.type);
  return { view, confirmed: confirmed.data as { startsOn: string; endsOn: string } };
}

describe('rental dates', () => {
  it('ends a 3-month rental started on Nov 30 on Feb 28, in GET /rentals/:id and in rental.confirmed', async () => {
    const { view, confirmed } = await confirmedRental('2026-11-30T12:00:00Z', 3);
    expect(view).toMatchObject({ startsOn: '2026-11-30', endsOn: '2027-02-28' });
    expect(confirmed).toMatchObject({ startsOn: '2026-11-30', endsOn: '2027-02-28' });
  });

  it('starts a rental confirmed at 23:30 UTC on Nov 30 on Dec 1, the school date in Stockholm', async () => {
    const { view } = await confirmedRental('2026-11-30T23:30:00Z', 3);
    expect(view).toMatchObject({ startsOn: '2026-12-01', endsOn: '2027-03-01' });
  });

  it('ends a 1-month rental started on Jan 31 of a leap year on Feb 29', async () => {
    const { view } = await confirmedRental('2028-01-31T09:00:00Z', 1);
    expect(view).toMatchObject({ startsOn: '2028-01-31', endsOn: '2028-02-29' });
  });
});
