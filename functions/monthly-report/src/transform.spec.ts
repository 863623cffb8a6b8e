import { describe, expect, it } from 'vitest';
import type { Extracted, RentalRow } from './extract.js';
import { monthOf } from './period.js';
import { transform } from './transform.js';

const november = monthOf('2026-11', 'Europe/Stockholm');
const rental = (id: string, instrumentId: string, startsOn: string, endedOn: string, status = 'CONFIRMED') =>
  ({
    id,
    instrumentId,
    status,
    monthlyFeeCents: 2500,
    currency: 'EUR',
    startsOn,
    endsOn: endedOn,
    endedOn,
  }) satisfies RentalRow;

describe('the monthly report', () => {
  it('counts rentals, money by instrument type and utilisation', () => {
    const octoberToDecember = rental('r1', 'g1', '2026-10-15', '2026-12-15');
    const startedMid = { ...rental('r2', 'g2', '2026-11-11', '2027-02-11'), inArrears: true };
    const terminated = {
      ...rental('r3', 'p1', '2026-11-01', '2026-11-16', 'TERMINATED'),
      reason: 'TERMINATED_EARLY',
    };
    const rejected = {
      ...rental('r4', 'p1', '', ''),
      status: 'REJECTED',
      startsOn: null,
      endsOn: null,
      endedOn: null,
    };
    const data: Extracted = {
      started: [startedMid, terminated],
      ended: [terminated],
      active: [octoberToDecember, startedMid, terminated],
      charges: [
        { id: 'c2', rentalId: 'r2', amountCents: 2500, currency: 'EUR', status: 'CHARGED', createdAt: '' },
        { id: 'c3', rentalId: 'r3', amountCents: 4000, currency: 'EUR', status: 'CHARGED', createdAt: '' },
        { id: 'c4', rentalId: 'r4', amountCents: 4000, currency: 'EUR', status: 'REFUNDED', createdAt: '' },
        { id: 'c5', rentalId: 'gone', amountCents: 100, currency: 'EUR', status: 'CHARGED', createdAt: '' },
      ],
      refunds: [{ rentalId: 'r4', amountCents: 4000, currency: 'EUR', createdAt: '' }],
      instruments: [
        { id: 'g1', type: 'guitar', createdAt: '' },
        { id: 'g2', type: 'guitar', createdAt: '' },
        { id: 'p1', type: 'piano', createdAt: '' },
      ],
      rentals: new Map([octoberToDecember, startedMid, terminated, rejected].map((r) => [r.id, r])),
    };

    const report = transform(november, data, 'Europe/Stockholm', new Date('2026-12-01T05:00:00Z'));

    expect(report.rentals).toEqual({
      started: 2,
      ended: 1,
      active: 3,
      activeByStatus: { CONFIRMED: 2, TERMINATED: 1 },
      endedByStatus: { TERMINATED: 1 },
      endedByReason: { TERMINATED_EARLY: 1 },
      inArrears: 1,
    });
    expect(report.money).toEqual([
      {
        instrumentType: 'guitar',
        currency: 'EUR',
        charges: 1,
        revenueCents: 2500,
        refunds: 0,
        refundsCents: 0,
        netCents: 2500,
      },
      {
        instrumentType: 'piano',
        currency: 'EUR',
        charges: 2,
        revenueCents: 8000,
        refunds: 1,
        refundsCents: 4000,
        netCents: 4000,
      },
      {
        instrumentType: 'unknown',
        currency: 'EUR',
        charges: 1,
        revenueCents: 100,
        refunds: 0,
        refundsCents: 0,
        netCents: 100,
      },
    ]);
    // guitars: r1 all 30 days, r2 from the 11th (20 days) of 2 × 30; piano: r3 15 days of 30.
    expect(report.utilisation).toEqual([
      { instrumentType: 'guitar', instruments: 2, rentedDays: 50, availableDays: 60, utilisation: 0.8333 },
      { instrumentType: 'piano', instruments: 1, rentedDays: 15, availableDays: 30, utilisation: 0.5 },
    ]);
    expect(report).toMatchObject({ month: '2026-11', period: { from: '2026-11-01', to: '2026-12-01' } });
  });
});
