/** Transform: the extracted rows into the month's report. Pure: the unit tests feed it rows. */
import type { Extracted, RentalRow } from './extract.js';
import { daysBetween, type Month } from './period.js';

export interface MoneyLine {
  instrumentType: string;
  currency: string;
  charges: number;
  revenueCents: number;
  refunds: number;
  refundsCents: number;
  netCents: number;
}

export interface UtilisationLine {
  instrumentType: string;
  instruments: number;
  /** Days of the month instruments of this type were rented, summed over rentals. */
  rentedDays: number;
  /** instruments × days of the month. */
  availableDays: number;
  /** rentedDays / availableDays, 0..1 (4 decimals); 0 without instruments. */
  utilisation: number;
}

export interface MonthlyReport {
  month: string;
  timeZone: string;
  period: { from: string; to: string };
  generatedAt: string;
  rentals: {
    started: number;
    ended: number;
    active: number;
    /** Active rentals by their current status (whatever statuses the rentals service has). */
    activeByStatus: Record<string, number>;
    /** Ended rentals by status (TERMINATED, whatever the rentals service adds). */
    endedByStatus: Record<string, number>;
    /** Ended rentals by why they ended: ENDED on their date, PAYMENT_OVERDUE, TERMINATED_EARLY. */
    endedByReason: Record<string, number>;
    /** Active rentals in arrears (a declined month not charged since) when the report was made. */
    inArrears: number;
  };
  /** Charges and refunds created in the month, by the type of the rented instrument and currency. */
  money: MoneyLine[];
  utilisation: UtilisationLine[];
}

const unknownType = 'unknown';

function countBy<T>(rows: readonly T[], key: (row: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const row of rows) counts[key(row)] = (counts[key(row)] ?? 0) + 1;
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));
}

/** The rental's end: its `endedOn` (termination or end date), else `endsOn`. */
const endOf = (rental: RentalRow) => rental.endedOn ?? rental.endsOn;

export function transform(month: Month, data: Extracted, timeZone: string, now: Date): MonthlyReport {
  const typeOf = new Map(data.instruments.map((i) => [i.id, i.type]));
  const typeOfRental = (rentalId: string) => {
    const rental = data.rentals.get(rentalId);
    return (rental && typeOf.get(rental.instrumentId)) ?? unknownType;
  };

  const money = new Map<string, MoneyLine>();
  const line = (instrumentType: string, currency: string) => {
    const key = `${instrumentType} ${currency}`;
    let found = money.get(key);
    if (!found) {
      found = {
        instrumentType,
        currency,
        charges: 0,
        revenueCents: 0,
        refunds: 0,
        refundsCents: 0,
        netCents: 0,
      };
      money.set(key, found);
    }
    return found;
  };
  for (const charge of data.charges) {
    const target = line(typeOfRental(charge.rentalId), charge.currency);
    target.charges += 1;
    target.revenueCents += charge.amountCents;
    target.netCents += charge.amountCents;
  }
  for (const refund of data.refunds) {
    const target = line(typeOfRental(refund.rentalId), refund.currency);
    target.refunds += 1;
    target.refundsCents += refund.amountCents;
    target.netCents -= refund.amountCents;
  }

  const types = new Map<string, UtilisationLine>();
  for (const instrument of data.instruments) {
    const type = types.get(instrument.type) ?? {
      instrumentType: instrument.type,
      instruments: 0,
      rentedDays: 0,
      availableDays: 0,
      utilisation: 0,
    };
    type.instruments += 1;
    type.availableDays += month.days;
    types.set(instrument.type, type);
  }
  for (const rental of data.active) {
    const type = types.get(typeOf.get(rental.instrumentId) ?? unknownType);
    if (!type || !rental.startsOn) continue;
    const start = [rental.startsOn, month.from].sort()[1] as string;
    const end = [endOf(rental) ?? month.to, month.to].sort()[0] as string;
    type.rentedDays += Math.max(0, daysBetween(start, end));
  }
  for (const type of types.values())
    type.utilisation = type.availableDays
      ? Math.round((type.rentedDays / type.availableDays) * 10_000) / 10_000
      : 0;

  const byName = <T extends { instrumentType: string }>(a: T, b: T) =>
    a.instrumentType.localeCompare(b.instrumentType);
  return {
    month: month.month,
    timeZone,
    period: { from: month.from, to: month.to },
    generatedAt: now.toISOString(),
    rentals: {
      started: data.started.length,
      ended: data.ended.length,
      active: data.active.length,
      activeByStatus: countBy(data.active, (r) => r.status),
      endedByStatus: countBy(data.ended, (r) => r.status),
      endedByReason: countBy(data.ended, (r) => r.reason ?? 'UNKNOWN'),
      inArrears: data.active.filter((r) => r.inArrears).length,
    },
    money: [...money.values()].sort((a, b) => byName(a, b) || a.currency.localeCompare(b.currency)),
    utilisation: [...types.values()].sort(byName),
  };
}
