import { describe, expect, it } from 'vitest';
import { monthOf, previousMonth } from './period.js';

describe('the school month', () => {
  it('starts and ends at midnight in the school’s time zone, summer time included', () => {
    expect(monthOf('2026-03', 'Europe/Stockholm')).toEqual({
      month: '2026-03',
      from: '2026-03-01',
      to: '2026-04-01',
      fromInstant: '2026-02-28T23:00:00.000Z',
      toInstant: '2026-03-31T22:00:00.000Z',
      days: 31,
    });
    expect(monthOf('2028-02', 'Europe/Stockholm')).toMatchObject({ to: '2028-03-01', days: 29 });
    expect(monthOf('2026-12', 'UTC')).toMatchObject({
      to: '2027-01-01',
      toInstant: '2027-01-01T00:00:00.000Z',
    });
  });

  it('refuses what is not a month', () => {
    expect(() => monthOf('2026-13', 'UTC')).toThrow('month must be YYYY-MM, not "2026-13"');
    expect(() => monthOf('november', 'UTC')).toThrow('month must be YYYY-MM');
  });

  it('reports the month before the school’s date on the 1st, across the year', () => {
    // 06:00 on the 1st in Stockholm (the cron schedule) is 05:00 UTC in winter.
    expect(previousMonth(new Date('2026-12-01T05:00:00Z'), 'Europe/Stockholm')).toBe('2026-11');
    expect(previousMonth(new Date('2027-01-01T05:00:00Z'), 'Europe/Stockholm')).toBe('2026-12');
    // 23:30 UTC on Nov 30 is already December 1 in Stockholm.
    expect(previousMonth(new Date('2026-11-30T23:30:00Z'), 'Europe/Stockholm')).toBe('2026-11');
    expect(previousMonth(new Date('2026-11-30T23:30:00Z'), 'UTC')).toBe('2026-10');
  });
});
