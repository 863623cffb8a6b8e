import type { Tx } from './database.js';

/**
 * Holds a lock on the rental until the transaction ends, so that its charge and its refund (which
 * may arrive at the same moment when the saga compensates a late charge) happen one after the other.
 */
export async function lockRental(tx: Tx, rentalId: string): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${rentalId}, 0))`;
}
