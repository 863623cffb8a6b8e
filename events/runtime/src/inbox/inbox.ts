import type { CloudEvent } from 'cloudevents';
import type { SqlExecutor } from '../database.js';
import { fromStructured, toStructured } from '../events.js';

/**
 * The inbox: each consumed event (source + id) is recorded in the same transaction as its effects,
 * so a redelivered event is acknowledged without repeating them. A concurrent second delivery waits
 * on the primary key until the first commits, then sees the row.
 */
export class Inbox {
  /** Records the event; false when it had been recorded already (a redelivery). */
  async record(tx: SqlExecutor, event: CloudEvent<unknown>): Promise<boolean> {
    const [recorded] = await this.recordAll(tx, [event]);
    return recorded === true;
  }

  /**
   * Records several events in one statement, in their order; for each, whether this recorded it
   * (false: recorded before, or earlier in `events`). As `record` for each, in one round trip.
   */
  async recordAll(tx: SqlExecutor, events: readonly CloudEvent<unknown>[]): Promise<boolean[]> {
    const rows = events.map((_, i) => `($${3 * i + 1}, $${3 * i + 2}, $${3 * i + 3})`);
    const inserted = await tx.$queryRawUnsafe<{ source: string; event_id: string }[]>(
      `INSERT INTO "inbox" ("source", "event_id", "type") VALUES ${rows.join(', ')} ON CONFLICT DO NOTHING RETURNING "source", "event_id"`,
      ...events.flatMap((event) => [event.source, event.id, event.type]),
    );
    const fresh = new Set(inserted.map((row) => JSON.stringify([row.source, row.event_id])));
    // The first of two deliveries of one event in `events` is the one recorded.
    return events.map((event) => fresh.delete(JSON.stringify([event.source, event.id])));
  }

  /** The reply given the first time, for a redelivery over Knative (which expects it again). */
  async reply(tx: SqlExecutor, event: CloudEvent<unknown>): Promise<CloudEvent<unknown> | undefined> {
    const rows = await tx.$queryRawUnsafe<{ reply: unknown }[]>(
      `SELECT "reply" FROM "inbox" WHERE "source" = $1 AND "event_id" = $2`,
      event.source,
      event.id,
    );
    const reply = rows[0]?.reply;
    return reply ? fromStructured(reply) : undefined;
  }

  async saveReply(tx: SqlExecutor, event: CloudEvent<unknown>, reply: CloudEvent<unknown>): Promise<void> {
    await tx.$executeRawUnsafe(
      `UPDATE "inbox" SET "reply" = $3::jsonb WHERE "source" = $1 AND "event_id" = $2`,
      event.source,
      event.id,
      JSON.stringify(toStructured(reply)),
    );
  }
}
