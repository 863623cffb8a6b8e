import { randomUUID } from 'node:crypto';
import { ConflictException, Injectable } from '@nestjs/common';
import { isUniqueViolation } from '@soundgood/eventing';
import { Database } from '../database.js';
import type { Rental } from '../generated/prisma/client.js';
import { RentInstrumentSaga } from './rent-instrument.saga.js';

export interface RentInstrument {
  studentId: string;
  instrumentId: string;
  months: number;
}

@Injectable()
export class RentInstrumentService {
  constructor(
    private readonly database: Database,
    private readonly saga: RentInstrumentSaga,
  ) {}

  /**
   * Creates a PENDING rental and starts its saga, in one transaction. With an idempotency key, a
   * retry of the same request returns the rental created the first time.
   */
  async rent(request: RentInstrument, idempotencyKey?: string): Promise<Rental> {
    if (idempotencyKey) {
      const existing = await this.database.rental.findUnique({ where: { idempotencyKey } });
      if (existing) return this.sameRequest(existing, request);
    }
    try {
      return await this.database.$transaction(async (tx) => {
        const rental = await tx.rental.create({
          data: { id: randomUUID(), ...request, status: 'PENDING', idempotencyKey: idempotencyKey ?? null },
        });
        await this.saga.start(tx, rental);
        return rental;
      });
    } catch (error) {
      if (!idempotencyKey || !isUniqueViolation(error)) throw error;
      // The same key raced us and won: answer with its rental.
      const existing = await this.database.rental.findUniqueOrThrow({ where: { idempotencyKey } });
      return this.sameRequest(existing, request);
    }
  }

  private sameRequest(rental: Rental, request: RentInstrument): Rental {
    const same =
      rental.studentId === request.studentId &&
      rental.instrumentId === request.instrumentId &&
      rental.months === request.months;
    if (!same) throw new ConflictException('Idempotency-Key was already used for a different rental request');
    return rental;
  }
}
