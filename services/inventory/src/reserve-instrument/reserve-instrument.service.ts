import { Injectable } from '@nestjs/common';
import { PermanentEventError } from '@soundgood/eventing';
import type { Tx } from '../database.js';
import { lockRental } from '../rental-lock.js';

export interface ReserveInstrument {
  rentalId: string;
  studentId: string;
  instrumentId: string;
}

export type ReserveInstrumentOutcome =
  | { reserved: true; monthlyFeeCents: number; currency: string }
  | {
      reserved: false;
      reason: 'UNKNOWN_INSTRUMENT' | 'ALREADY_RENTED' | 'ALREADY_RELEASED';
      message: string;
    };

@Injectable()
export class ReserveInstrumentService {
  /** Idempotent per rental: a rental that holds its instrument already gets the same answer again. */
  async reserve(
    tx: Tx,
    { rentalId, studentId, instrumentId }: ReserveInstrument,
  ): Promise<ReserveInstrumentOutcome> {
    await lockRental(tx, rentalId);
    // The usual case in one statement: a rental seen for the first time takes a free instrument and
    // records its reservation. The UPDATE is conditional: of two rentals racing for a free
    // instrument, exactly one takes it.
    const [taken] = await tx.$queryRaw<{ monthlyFeeCents: number; currency: string }[]>`
      WITH "taken" AS (
        UPDATE "instruments" SET "rental_id" = ${rentalId}::uuid
        WHERE "id" = ${instrumentId}::uuid AND "rental_id" IS NULL
          AND NOT EXISTS (SELECT 1 FROM "reservations" WHERE "rental_id" = ${rentalId}::uuid)
        RETURNING "monthly_fee_cents", "currency"
      ), "held" AS (
        INSERT INTO "reservations" ("rental_id", "instrument_id", "student_id", "status")
        SELECT ${rentalId}::uuid, ${instrumentId}::uuid, ${studentId}::uuid, 'HELD'::"reservation_status" FROM "taken"
      )
      SELECT "monthly_fee_cents" AS "monthlyFeeCents", "currency" FROM "taken"`;
    if (taken) return { reserved: true, ...taken };
    // Otherwise the answer comes from what is there: a repeat, a release first, a taken or unknown instrument.
    const reservation = await tx.reservation.findUnique({ where: { rentalId } });
    if (reservation?.status === 'RELEASED') {
      return {
        reserved: false,
        reason: 'ALREADY_RELEASED',
        message: `the instrument of rental ${rentalId} was released before it was reserved`,
      };
    }
    if (reservation && reservation.instrumentId !== instrumentId) {
      throw new PermanentEventError(
        `rental ${rentalId} holds instrument ${reservation.instrumentId}, not ${instrumentId}`,
      );
    }
    const instrument = await tx.instrument.findUnique({ where: { id: instrumentId } });
    if (!instrument) {
      return {
        reserved: false,
        reason: 'UNKNOWN_INSTRUMENT',
        message: `no instrument with id ${instrumentId}`,
      };
    }
    if (instrument.rentalId !== rentalId) {
      return {
        reserved: false,
        reason: 'ALREADY_RENTED',
        message: `instrument ${instrumentId} is rented by another rental`,
      };
    }
    return { reserved: true, monthlyFeeCents: instrument.monthlyFeeCents, currency: instrument.currency };
  }
}
