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
    // The usual case in one statement: a rental seen for the first time takes a slot under the quota.
    const [taken] = await tx.$queryRaw<{ activeRentals: number }[]>`
      WITH "held" AS (
        SELECT count(*)::int AS "count" FROM "rental_slots"
        WHERE "student_id" = ${studentId}::uuid AND "status" = 'HELD'
      )
      INSERT INTO "rental_slots" ("rental_id", "student_id", "status")
      SELECT ${rentalId}::uuid, ${studentId}::uuid, 'HELD'::"slot_status" FROM "held"
      WHERE "held"."count" < ${SLOT_QUOTA}
        AND NOT EXISTS (SELECT 1 FROM "rental_slots" WHERE "rental_id" = ${rentalId}::uuid)
      RETURNING (SELECT "count" FROM "held") + 1 AS "activeRentals"`;
    if (taken) return { reserved: true, ...taken };
    // Otherwise the answer comes from what is there: a repeat, a release first, or a full quota.
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
    // No slot, and none taken: the student's quota is full.
    const held = await countHeldSlots(tx, studentId);
    return {
      reserved: false,
      reason: 'QUOTA_EXCEEDED',
      message: `student ${studentId} already has ${held} active rentals (at most ${SLOT_QUOTA})`,
    };
  }
}
