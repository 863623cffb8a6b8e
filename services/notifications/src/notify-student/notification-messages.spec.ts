import { randomUUID } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { confirmedMessage, rejectedMessage, terminatedMessage } from './notification-messages.js';

const ref = { rentalId: randomUUID(), studentId: randomUUID(), instrumentId: randomUUID() };

describe('notification messages', () => {
  test('a confirmation names the instrument, the period and the fee charged', () => {
    const message = confirmedMessage({
      ...ref,
      months: 1,
      startsOn: '2026-12-01',
      endsOn: '2027-01-01',
      amountCents: 4950,
      currency: 'EUR',
    });
    expect(message).toContain(ref.instrumentId);
    expect(message).toContain('1 month,');
    expect(message).toContain('from 2026-12-01 to 2027-01-01');
    expect(message).toContain('49.50 EUR');
  });

  test('a rejection gives the reason', () => {
    const message = rejectedMessage({
      ...ref,
      reason: 'QUOTA_EXCEEDED',
      message: 'two active rentals already',
    });
    expect(message).toContain('two active rentals already (QUOTA_EXCEEDED)');
  });

  test('a termination gives the day it ended', () => {
    expect(terminatedMessage({ ...ref, terminatedAt: '2027-03-04T10:00:00.000Z' })).toContain(
      'ended on 2027-03-04',
    );
  });
});
