/**
 * The saga's deadlines and its last resort, with rentals alone: the test plays the participants
 * (it reads the commands at the fake broker and answers them, or does not).
 */
import { randomUUID } from 'node:crypto';
import { events } from '@soundgood/event-catalog';
import { createEvent } from '@soundgood/eventing';
import { startTestService, type TestService, waitFor } from '@soundgood/eventing/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../src/config.js';
import { Database } from '../src/database.js';
import { RentalsModule } from '../src/rentals.module.js';

let rentals: TestService<Database>;

beforeAll(async () => {
  rentals = await startTestService({
    service: 'rentals',
    configSchema,
    database: Database,
    module: RentalsModule,
    env: {
      SAGA_STEP_TIMEOUT_MS: '700',
      SAGA_COMPENSATION_MAX_ATTEMPTS: '3',
      SAGA_SWEEP_INTERVAL_MS: '50',
      OUTBOX_POLL_INTERVAL_MS: '100',
    },
  });
});

afterAll(async () => {
  await rentals?.stop();
});

interface RentalView {
  status: string;
  reason: string | null;
  message: string | null;
  saga: {
    status: string;
    step: string;
    stepAttempts: number;
    failureReason: string | null;
    history: { step: string; action: string; outcome: string }[];
  };
}

async function rent(): Promise<{ id: string; studentId: string }> {
  const studentId = randomUUID();
  const response = await rentals.http<{ id: string }>('POST', '/rentals', {
    studentId,
    instrumentId: randomUUID(),
    months: 1,
  });
  expect(response.status).toBe(202);
  return { id: response.body.id, studentId };
}

const rental = async (id: string) => (await rentals.http<RentalView>('GET', `/rentals/${id}`)).body;
const commands = (rentalId: string, type: string) =>
  rentals.broker.events.filter((e) => e.partitionkey === rentalId && e.type === type);

describe('saga deadlines', () => {
  it('fails a step that gets no answer in time and compensates it, since it may still be applied', async () => {
    const { id, studentId } = await rent();
    await waitFor(() => commands(id, events.releaseSlot.type).length > 0 || undefined, 'the slot release');
    const view = await rental(id);
    expect(view.saga).toMatchObject({
      status: 'COMPENSATING',
      step: 'RELEASE_SLOT',
      failureReason: 'RESERVE_SLOT_TIMEOUT',
    });

    // students finally answers: the reserve (late) and the release.
    const late = createEvent(
      events.slotReserved,
      { rentalId: id, studentId, activeRentals: 1 },
      { partitionKey: id },
    );
    expect((await rentals.send(late)).status).toBe(204);
    const released = createEvent(events.slotReleased, { rentalId: id, studentId }, { partitionKey: id });
    expect((await rentals.send(released)).status).toBe(204);

    const done = await rental(id);
    expect(done).toMatchObject({ status: 'REJECTED', reason: 'RESERVE_SLOT_TIMEOUT' });
    expect(done.saga.history.map((h) => `${h.step} ${h.action} ${h.outcome}`)).toEqual(
      expect.arrayContaining([
        'RESERVE_SLOT EXECUTE TIMED_OUT',
        'RESERVE_SLOT LATE_REPLY SUCCEEDED',
        'RELEASE_SLOT COMPENSATE SUCCEEDED',
      ]),
    );
  });

  it('resends a compensation at each deadline, then marks the saga FAILED with its cause and lists it', async () => {
    const { id } = await rent();
    const view = await waitFor(
      async () => {
        const current = await rental(id);
        return current.saga.status === 'FAILED' ? current : undefined;
      },
      'the saga to fail',
      15_000,
    );
    expect(view).toMatchObject({ status: 'FAILED', reason: 'RELEASE_SLOT_FAILED' });
    expect(view.message).toMatch(/RELEASE_SLOT not acknowledged after 3 attempts/);
    expect(commands(id, events.releaseSlot.type)).toHaveLength(3);
    const failed = await rentals.http<{ rentalId: string; failureReason: string }[]>(
      'GET',
      '/sagas?status=failed',
    );
    expect(failed.body).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ rentalId: id, failureReason: 'RELEASE_SLOT_FAILED' }),
      ]),
    );
  });

  it('rejects an unknown saga filter with 400 naming it', async () => {
    const bad = await rentals.http('GET', '/sagas?status=sideways');
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toMatch(/status/);
  });
});
