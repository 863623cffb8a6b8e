import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { Database } from '../database.js';
import type { Rental } from '../generated/prisma/client.js';
import { RentInstrumentSaga } from '../rent-instrument/rent-instrument.saga.js';

@Injectable()
export class TerminateRentalService {
  constructor(
    private readonly database: Database,
    private readonly saga: RentInstrumentSaga,
  ) {}

  /**
   * Ends an active rental before its end date (it stays, TERMINATED with reason TERMINATED_EARLY)
   * and frees its instrument and slot through the saga's END steps, as the end of a rental does.
   */
  async terminate(rentalId: string): Promise<Rental> {
    return this.database.$transaction(async (tx) => {
      const rental = await tx.rental.findUnique({ where: { id: rentalId } });
      if (!rental) throw new NotFoundException(`rental ${rentalId} not found`);
      const ended = await this.saga.end(tx, rental, 'TERMINATED_EARLY', 'terminated on request');
      if (!ended)
        throw new ConflictException(
          `rental ${rentalId} is ${rental.status}: only a CONFIRMED rental can be terminated`,
        );
      return rental;
    });
  }
}
