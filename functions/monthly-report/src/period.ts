import { TZDate } from '@date-fns/tz';

/** A calendar month of the school: dates `from` (inclusive) and `to` (exclusive), and their midnights. */
export interface Month {
  /** `YYYY-MM` */
  month: string;
  from: string;
  to: string;
  /** Midnight of `from` and `to` in the school's time zone, as instants (billing's period). */
  fromInstant: string;
  toInstant: string;
  days: number;
}

const pad = (n: number) => String(n).padStart(2, '0');

export function monthOf(month: string, timeZone: string): Month {
  const match = /^(\d{4})-(\d{2})$/.exec(month);
  const [year, number] = [Number(match?.[1]), Number(match?.[2])];
  if (!match || number < 1 || number > 12)
    throw new RangeError(`month must be YYYY-MM, not ${JSON.stringify(month)}`);
  const [nextYear, next] = number === 12 ? [year + 1, 1] : [year, number + 1];
  const midnight = (y: number, m: number) =>
    new Date(TZDate.tz(timeZone, y, m - 1, 1).getTime()).toISOString();
  return {
    month,
    from: `${year}-${pad(number)}-01`,
    to: `${nextYear}-${pad(next)}-01`,
    fromInstant: midnight(year, number),
    toInstant: midnight(nextYear, next),
    days: new Date(Date.UTC(year, number, 0)).getUTCDate(),
  };
}

/** The month before the one `now` falls in, in the school's time zone: what the 1st's run reports. */
export function previousMonth(now: Date, timeZone: string): string {
  const [year, month] = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit' })
    .format(now)
    .split('-')
    .map(Number) as [number, number];
  return month === 1 ? `${year - 1}-12` : `${year}-${pad(month - 1)}`;
}

/** Whole days from `a` to `b` (ISO dates). */
export function daysBetween(a: string, b: string): number {
  return Math.round((Date.parse(`${b}T00:00:00Z`) - Date.parse(`${a}T00:00:00Z`)) / 86_400_000);
}
