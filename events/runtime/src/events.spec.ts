import { events } from '@soundgood/event-catalog';
import { describe, expect, it } from 'vitest';
import { createEvent, ForeignSourceError, InvalidEventError, validateIncoming } from './events.js';

const ids = {
  rentalId: '8f5b1c2e-1d3a-4e5f-9a7b-0c1d2e3f4a01',
  studentId: '8f5b1c2e-1d3a-4e5f-9a7b-0c1d2e3f4a02',
};

describe('validateIncoming: each event type only from its producer', () => {
  it('accepts every catalog type from its producer’s source', () => {
    const reserve = createEvent(events.reserveSlot, ids, { partitionKey: ids.rentalId });
    expect(validateIncoming(reserve)).toBe(events.reserveSlot);
    const reserved = createEvent(events.slotReserved, { ...ids, activeRentals: 1 }, { partitionKey: 'r' });
    expect(validateIncoming(reserved)).toBe(events.slotReserved);
  });

  it('refuses a command whose source is not rentals with a 403 naming the type, producer and source', () => {
    const forged = createEvent(events.reserveSlot, ids, { partitionKey: 'r' }).cloneWith(
      { source: '/evil' },
      false,
    );
    const refusal = (() => {
      try {
        validateIncoming(forged);
      } catch (error) {
        return error;
      }
    })();
    expect(refusal).toBeInstanceOf(ForeignSourceError);
    expect(refusal).toBeInstanceOf(InvalidEventError);
    expect((refusal as ForeignSourceError).status).toBe(403);
    expect((refusal as Error).message).toBe(
      'dev.soundgood.students.slot.reserve.v1 comes only from its producer rentals (source /soundgood/rentals), not from source "/evil"',
    );
  });

  it('refuses another service’s fact claimed by a real producer (slot.reserved from billing)', () => {
    const claimed = createEvent(
      events.slotReserved,
      { ...ids, activeRentals: 1 },
      { partitionKey: 'r' },
    ).cloneWith({ source: events.paymentCharged.source }, false);
    expect(() => validateIncoming(claimed)).toThrow(/comes only from its producer students/);
  });

  it('checks the source before the data: a forged event learns nothing about the schema', () => {
    const forged = createEvent(events.reserveSlot, ids, { partitionKey: 'r' }).cloneWith(
      { source: '/soundgood/rentals/', data: { rentalId: 'x' } },
      false,
    );
    expect(() => validateIncoming(forged)).toThrow(ForeignSourceError);
  });
});
