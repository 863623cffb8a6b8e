import { describe, expect, it } from 'vitest';
import { daysToProcess, graceEndsOn, monthDueOn, monthsDue, plusDays } from './rental-schedule.js';

describe('the schedule of a rental', () => {
  it('makes month 1 due on the start date and month n on the (n-1)th monthly anniversary', () => {
    expect([1, 2, 3].map((m) => monthDueOn('2026-12-01', m))).toEqual([
      '2026-12-01',
      '2027-01-01',
      '2027-02-01',
    ]);
  });

  it('clamps an anniversary to the end of a shorter month, counting from the start, not the previous month', () => {
    expect([1, 2, 3, 4].map((m) => monthDueOn('2027-01-31', m))).toEqual([
      '2027-01-31',
      '2027-02-28',
      '2027-03-31',
      '2027-04-30',
    ]);
    expect(monthDueOn('2028-01-31', 2)).toBe('2028-02-29');
    expect(monthDueOn('2026-11-30', 4)).toBe('2027-02-28');
  });

  it('refuses a month that is not a positive integer', () => {
    expect(() => monthDueOn('2026-12-01', 0)).toThrow(/not a month/);
    expect(() => monthDueOn('2026-12-01', 1.5)).toThrow(/not a month/);
  });

  it('counts the months due on a date, never more than the rental has', () => {
    expect(monthsDue('2026-12-01', 3, '2026-11-30')).toBe(0);
    expect(monthsDue('2026-12-01', 3, '2026-12-01')).toBe(1);
    expect(monthsDue('2026-12-01', 3, '2026-12-31')).toBe(1);
    expect(monthsDue('2026-12-01', 3, '2027-01-01')).toBe(2);
    expect(monthsDue('2026-12-01', 3, '2027-02-01')).toBe(3);
    expect(monthsDue('2026-12-01', 3, '2028-01-01')).toBe(3);
    expect(monthsDue('2027-01-31', 2, '2027-02-27')).toBe(1);
    expect(monthsDue('2027-01-31', 2, '2027-02-28')).toBe(2);
  });

  it('adds days across month and year ends and leap days', () => {
    expect(plusDays('2026-12-31', 1)).toBe('2027-01-01');
    expect(plusDays('2028-02-28', 1)).toBe('2028-02-29');
    expect(plusDays('2027-02-28', 1)).toBe('2027-03-01');
    // Daylight saving (Stockholm, 2027-03-28) does not move a date: dates are computed in UTC.
    expect(plusDays('2027-03-27', 2)).toBe('2027-03-29');
  });

  it('ends the grace period `days` days after the unpaid month was due', () => {
    expect(graceEndsOn('2027-01-01', 7)).toBe('2027-01-08');
    expect(graceEndsOn('2027-02-25', 5)).toBe('2027-03-02');
  });
});

describe('the school days a tick processes', () => {
  it('processes only its own date when nothing was done before', () => {
    expect(daysToProcess(undefined, '2026-12-01')).toEqual(['2026-12-01']);
  });

  it('processes the next day alone on an ordinary day', () => {
    expect(daysToProcess('2026-12-01', '2026-12-02')).toEqual(['2026-12-02']);
  });

  it('catches up every missed day, in order, each once', () => {
    expect(daysToProcess('2026-12-30', '2027-01-02')).toEqual(['2026-12-31', '2027-01-01', '2027-01-02']);
  });

  it('processes nothing for a repeated or late tick', () => {
    expect(daysToProcess('2026-12-02', '2026-12-02')).toEqual([]);
    expect(daysToProcess('2026-12-02', '2026-11-30')).toEqual([]);
  });
});
