import { ConfigError, loadConfig } from '@soundgood/eventing';
import { describe, expect, it } from 'vitest';
import { configSchema } from './config.js';
import { addCalendarMonths, Clock, dateIn, SchoolCalendar } from './school-calendar.js';

describe('addCalendarMonths', () => {
  it.each([
    ['2026-11-30', 3, '2027-02-28'],
    ['2027-01-31', 1, '2027-02-28'],
    ['2028-01-31', 1, '2028-02-29'],
    ['2026-03-31', 1, '2026-04-30'],
    ['2026-08-31', 6, '2027-02-28'],
    ['2027-08-31', 6, '2028-02-29'],
    ['2026-12-31', 2, '2027-02-28'],
    ['2027-12-31', 2, '2028-02-29'],
    ['2026-05-31', 1, '2026-06-30'],
    ['2026-01-30', 1, '2026-02-28'],
    ['2028-02-29', 12, '2029-02-28'],
    ['2028-02-29', 48, '2032-02-29'],
  ])('clamps %s + %i months to the last day of the month: %s', (start, months, end) => {
    expect(addCalendarMonths(start, months)).toBe(end);
  });

  it.each([
    ['2026-12-01', 1, '2027-01-01'],
    ['2026-12-01', 3, '2027-03-01'],
    ['2026-01-15', 1, '2026-02-15'],
    ['2026-06-28', 8, '2027-02-28'],
    ['2026-10-25', 1, '2026-11-25'],
  ])('keeps the day of the month when the target month has it: %s + %i = %s', (start, months, end) => {
    expect(addCalendarMonths(start, months)).toBe(end);
  });

  it.each([
    ['2026-11-30', '2027-11-30'],
    ['2027-02-28', '2028-02-28'],
    ['2026-12-31', '2027-12-31'],
  ])('ends a 12-month rental from %s on the same date a year later: %s', (start, end) => {
    expect(addCalendarMonths(start, 12)).toBe(end);
  });
});

describe('dateIn', () => {
  it("is the school's date, a day ahead of UTC's just before UTC midnight", () => {
    const instant = new Date('2026-11-30T23:30:00Z');
    expect(dateIn('Europe/Stockholm', instant)).toBe('2026-12-01');
    expect(dateIn('UTC', instant)).toBe('2026-11-30');
    expect(dateIn('America/New_York', instant)).toBe('2026-11-30');
  });

  it('turns at local midnight in summer time too (UTC+2 in Stockholm)', () => {
    expect(dateIn('Europe/Stockholm', new Date('2026-06-30T21:59:59Z'))).toBe('2026-06-30');
    expect(dateIn('Europe/Stockholm', new Date('2026-06-30T22:00:00Z'))).toBe('2026-07-01');
  });
});

const env = {
  DATABASE_URL: 'postgresql://localhost/rentals',
  EVENT_TRANSPORT: 'knative',
  K_SINK: 'http://broker',
};

describe('SchoolCalendar', () => {
  const at = (iso: string): Clock => ({ now: () => new Date(iso) });

  it('starts a rental requested at 23:30 UTC on Nov 30 on Dec 1, the date in Stockholm', () => {
    const calendar = new SchoolCalendar(at('2026-11-30T23:30:00Z'), loadConfig(configSchema, env));
    const startsOn = calendar.today();
    expect(startsOn).toBe('2026-12-01');
    expect(calendar.rentalEnd(startsOn, 3)).toBe('2027-03-01');
  });

  it('uses the configured time zone', () => {
    const config = loadConfig(configSchema, { ...env, SCHOOL_TIME_ZONE: 'America/New_York' });
    expect(new SchoolCalendar(at('2026-12-01T04:59:00Z'), config).today()).toBe('2026-11-30');
    expect(new SchoolCalendar(at('2026-12-01T05:00:00Z'), config).today()).toBe('2026-12-01');
  });
});

describe('SCHOOL_TIME_ZONE', () => {
  it('defaults to Europe/Stockholm', () => {
    expect(loadConfig(configSchema, env).SCHOOL_TIME_ZONE).toBe('Europe/Stockholm');
  });

  it.each(['Mars/Olympus_Mons', '+01:00', ''])('refuses %j, naming the variable', (zone) => {
    expect(() => loadConfig(configSchema, { ...env, SCHOOL_TIME_ZONE: zone })).toThrow(ConfigError);
    expect(() => loadConfig(configSchema, { ...env, SCHOOL_TIME_ZONE: zone })).toThrow(/SCHOOL_TIME_ZONE/);
  });
});
