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
    const inserted = await tx.$executeRawUnsafe(
      `INSERT INTO "inbox" ("source", "event_id", "type") VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
      event.source,
      event.id,
      event.type,
    );
    return inserted === 1;
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
