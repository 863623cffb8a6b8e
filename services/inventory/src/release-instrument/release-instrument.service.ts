import { Injectable } from '@nestjs/common';
import type { Tx } from '../database.js';
import { lockRental } from '../rental-lock.js';

export interface ReleaseInstrument {
  rentalId: string;
  studentId: string;
  instrumentId: string;
}

@Injectable()
export class ReleaseInstrumentService {
  /**
   * Idempotent. A release that finds no reservation leaves a RELEASED tombstone, so that its
   * reserve, if it arrives late, is refused instead of taking an instrument nobody will release.
   */
  async release(tx: Tx, { rentalId, studentId, instrumentId }: ReleaseInstrument): Promise<void> {
    await lockRental(tx, rentalId);
    await tx.instrument.updateMany({ where: { rentalId }, data: { rentalId: null } });
    const releasedAt = new Date();
    const { count } = await tx.reservation.updateMany({
      where: { rentalId, status: 'HELD' },
      data: { status: 'RELEASED', releasedAt },
    });
    if (count > 0 || (await tx.reservation.count({ where: { rentalId } })) > 0) return;
    // An unknown instrument can never be held, so no tombstone is needed (and its foreign key would fail).
    if ((await tx.instrument.count({ where: { id: instrumentId } })) === 0) return;
    await tx.reservation.create({
      data: { rentalId, instrumentId, studentId, status: 'RELEASED', releasedAt },
    });
  }
}
