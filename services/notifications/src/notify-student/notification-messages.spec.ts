import { randomUUID } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import {
  confirmedMessage,
  paymentMissedMessage,
  rejectedMessage,
  terminatedMessage,
} from './notification-messages.js';

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
    expect(
      terminatedMessage({ ...ref, terminatedAt: '2027-03-04T10:00:00.000Z', reason: 'TERMINATED_EARLY' }),
    ).toContain('ended on 2027-03-04');
  });

  test('the end of a rental asks for the instrument back; an overdue end says why', () => {
    const at = '2027-03-01T00:05:00.000Z';
    expect(terminatedMessage({ ...ref, terminatedAt: at, reason: 'ENDED' })).toContain(
      'came to its end on 2027-03-01. Please bring the instrument back',
    );
    expect(terminatedMessage({ ...ref, terminatedAt: at, reason: 'PAYMENT_OVERDUE' })).toContain(
      'stayed unpaid after the grace period',
    );
  });

  test('a missed payment names the month, the reason and the day the rental ends if still unpaid', () => {
    const message = paymentMissedMessage({
      ...ref,
      month: 2,
      dueOn: '2027-01-01',
      graceEndsOn: '2027-01-08',
      reason: 'CARD_DECLINED',
      message: 'the payment provider declined pm_card_declined (CARD_DECLINED)',
    });
    expect(message).toContain('month 2');
    expect(message).toContain('due on 2027-01-01');
    expect(message).toContain('(CARD_DECLINED)');
    expect(message).toContain('unpaid on 2027-01-08, the rental ends');
  });
});
