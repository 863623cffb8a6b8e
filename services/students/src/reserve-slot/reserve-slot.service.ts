import { Injectable } from '@nestjs/common';
import type { Tx } from '../database.js';
import { countHeldSlots, lockStudent, SLOT_QUOTA } from '../rental-slots.js';

export type ReserveSlotOutcome =
  | { reserved: true; activeRentals: number }
  | { reserved: false; reason: 'UNKNOWN_STUDENT' | 'ALREADY_RELEASED' | 'QUOTA_EXCEEDED'; message: string };

@Injectable()
export class ReserveSlotService {
  /** Idempotent per rental: a rental that holds its slot already gets the same answer again. */
  async reserve(tx: Tx, rentalId: string, studentId: string): Promise<ReserveSlotOutcome> {
    if (!(await lockStudent(tx, studentId))) {
      return { reserved: false, reason: 'UNKNOWN_STUDENT', message: `no student with id ${studentId}` };
    }
    const slot = await tx.rentalSlot.findUnique({ where: { rentalId } });
    if (slot?.status === 'HELD')
      return { reserved: true, activeRentals: await countHeldSlots(tx, studentId) };
    if (slot?.status === 'RELEASED') {
      return {
        reserved: false,
        reason: 'ALREADY_RELEASED',
        message: `the slot of rental ${rentalId} was released before it was reserved`,
      };
    }
    const held = await countHeldSlots(tx, studentId);
    if (held >= SLOT_QUOTA) {
      return {
        reserved: false,
        reason: 'QUOTA_EXCEEDED',
        message: `student ${studentId} already has ${held} active rentals (at most ${SLOT_QUOTA})`,
      };
    }
    await tx.rentalSlot.create({ data: { rentalId, studentId, status: 'HELD' } });
    return { reserved: true, activeRentals: held + 1 };
  }
}
