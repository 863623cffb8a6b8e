import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { events } from '@soundgood/event-catalog';
import { createEvent, Outbox } from '@soundgood/eventing';
import { Database } from '../database.js';
import type { Rental } from '../generated/prisma/client.js';

@Injectable()
export class TerminateRentalService {
  constructor(
    private readonly database: Database,
    private readonly outbox: Outbox,
  ) {}

  /** Ends an active rental (it stays in the history) and frees its instrument and slot. */
  async terminate(rentalId: string): Promise<Rental> {
    return this.database.$transaction(async (tx) => {
      const rental = await tx.rental.findUnique({ where: { id: rentalId } });
      if (!rental) throw new NotFoundException(`rental ${rentalId} not found`);
      const terminatedAt = new Date();
      const { count } = await tx.rental.updateMany({
        where: { id: rentalId, status: 'CONFIRMED' },
        data: { status: 'TERMINATED', terminatedAt },
      });
      if (count !== 1)
        throw new ConflictException(
          `rental ${rentalId} is ${rental.status}: only a CONFIRMED rental can be terminated`,
        );
      const ref = { rentalId, studentId: rental.studentId };
      const options = { partitionKey: rentalId };
      await this.outbox.add(
        tx,
        createEvent(
          events.rentalTerminated,
          { ...ref, instrumentId: rental.instrumentId, terminatedAt: terminatedAt.toISOString() },
          options,
        ),
        createEvent(events.releaseInstrument, { ...ref, instrumentId: rental.instrumentId }, options),
        createEvent(events.releaseSlot, ref, options),
      );
      return { ...rental, status: 'TERMINATED', terminatedAt };
    });
  }
}
