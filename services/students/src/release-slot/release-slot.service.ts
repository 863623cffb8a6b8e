import { Injectable } from '@nestjs/common';
import type { Tx } from '../database.js';
import { lockStudent } from '../rental-slots.js';

@Injectable()
export class ReleaseSlotService {
  /**
   * Idempotent. A release that finds no slot leaves a RELEASED tombstone, so that its reserve,
   * if it arrives late, is refused instead of holding a slot nobody will release.
   */
  async release(tx: Tx, rentalId: string, studentId: string): Promise<void> {
    const known = await lockStudent(tx, studentId);
    const releasedAt = new Date();
    const { count } = await tx.rentalSlot.updateMany({
      where: { rentalId, status: 'HELD' },
      data: { status: 'RELEASED', releasedAt },
    });
    // An unknown student can never hold a slot, so no tombstone is needed (and its foreign key would fail).
    if (count > 0 || !known) return;
    await tx.rentalSlot.upsert({
      where: { rentalId },
      create: { rentalId, studentId, status: 'RELEASED', releasedAt },
      update: {},
    });
  }
}
