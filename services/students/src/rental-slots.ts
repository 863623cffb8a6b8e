import type { Tx } from './database.js';

/** At most this many rentals may hold a slot of one student at a time. */
export const SLOT_QUOTA = 2;

/**
 * Locks the student's row until the transaction ends, so that every slot change of one student
 * (concurrent reserves and releases) happens one after the other. False when the student is unknown.
 */
export async function lockStudent(tx: Tx, studentId: string): Promise<boolean> {
  const rows = await tx.$queryRaw<
    { id: string }[]
  >`SELECT "id" FROM "students" WHERE "id" = ${studentId}::uuid FOR UPDATE`;
  return rows.length === 1;
}

export function countHeldSlots(tx: Tx, studentId: string): Promise<number> {
  return tx.rentalSlot.count({ where: { studentId, status: 'HELD' } });
}
