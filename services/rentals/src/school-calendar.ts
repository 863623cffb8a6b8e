/**
 * The school's calendar: rentals start on the school's date and last whole calendar months.
 * Dates are ISO calendar dates (`YYYY-MM-DD`); "today" is the date in SCHOOL_TIME_ZONE, not UTC's.
 */
import { tz } from '@date-fns/tz';
import { Inject, Injectable } from '@nestjs/common';
import { CONFIG } from '@soundgood/eventing';
import { addMonths, format, parseISO } from 'date-fns';
import { z } from 'zod';
import type { Config } from './config.js';

const utc = tz('UTC');
const isoDate = 'yyyy-MM-dd';

/** An IANA time zone name (`Europe/Stockholm`); fixed offsets such as `+01:00` are refused. */
export const ianaTimeZone = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .refine((name) => !/^[+-]/.test(name) && isTimeZone(name), {
      error: (issue) => `not an IANA time zone: ${JSON.stringify(issue.input)}`,
    });

function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/**
 * The date `months` calendar months after `date`: the same day of the month, or the last day of
 * the target month when it is shorter (Jan 31 + 1 = Feb 28, or Feb 29 in a leap year).
 */
export function addCalendarMonths(date: string, months: number): string {
  return format(addMonths(parseISO(date, { in: utc }), months, { in: utc }), isoDate, { in: utc });
}

/** The calendar date that `instant` falls on in `timeZone`. */
export function dateIn(timeZone: string, instant: Date): string {
  return format(instant, isoDate, { in: tz(timeZone) });
}

/** Where the services read the time from; tests replace it to stand at any instant. */
@Injectable()
export class Clock {
  now(): Date {
    return new Date();
  }
}

@Injectable()
export class SchoolCalendar {
  private readonly timeZone: string;

  constructor(
    private readonly clock: Clock,
    @Inject(CONFIG) config: Config,
  ) {
    this.timeZone = config.SCHOOL_TIME_ZONE;
  }

  /** The school's date now. */
  today(): string {
    return dateIn(this.timeZone, this.clock.now());
  }

  /** A rental of `months` months starting on `startsOn` ends on the same day `months` months later, clamped. */
  rentalEnd(startsOn: string, months: number): string {
    return addCalendarMonths(startsOn, months);
  }
}
