/**
 * The schedule of a rental in school dates (`YYYY-MM-DD`): when each month is due, which months are
 * due on a date, when arrears become overdue, and which school days a tick has to process.
 */

import { tz } from '@date-fns/tz';
import { addDays, format, parseISO } from 'date-fns';
import { addCalendarMonths } from '../school-calendar.js';

const utc = tz('UTC');

/** Month 1 is due on the start date, month n on the (n-1)th monthly anniversary (clamped to month ends). */
export function monthDueOn(startsOn: string, month: number): string {
  if (!Number.isInteger(month) || month < 1) throw new RangeError(`not a month of a rental: ${month}`);
  return addCalendarMonths(startsOn, month - 1);
}

/** How many months of a rental of `months` months starting on `startsOn` are due on `date`. */
export function monthsDue(startsOn: string, months: number, date: string): number {
  let due = 0;
  while (due < months && monthDueOn(startsOn, due + 1) <= date) due += 1;
  return due;
}

/** `date` plus `days` calendar days. */
export function plusDays(date: string, days: number): string {
  return format(addDays(parseISO(date, { in: utc }), days, { in: utc }), 'yyyy-MM-dd', { in: utc });
}

/** The school date on which a month unpaid since `dueOn` ends its rental (PAYMENT_OVERDUE). */
export function graceEndsOn(dueOn: string, graceDays: number): string {
  return plusDays(dueOn, graceDays);
}

/**
 * The school days a tick for `date` processes, in order: every day after `lastDone` up to `date`
 * (the days missed while nothing ticked are caught up), only `date` when nothing was ever done,
 * none when `date` was done already (a repeated or late tick).
 */
export function daysToProcess(lastDone: string | undefined, date: string): string[] {
  if (lastDone === undefined) return [date];
  const days: string[] = [];
  for (let day = plusDays(lastDone, 1); day <= date; day = plusDays(day, 1)) days.push(day);
  return days;
}
