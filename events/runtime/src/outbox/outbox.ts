import { join, type Sql, sqltag as sql } from '@prisma/client/runtime/client';
import type { CloudEvent } from 'cloudevents';
import type { SqlExecutor } from '../database.js';
import { toStructured, validateIncoming } from '../events.js';
import type { EventPublisher } from '../publisher.js';

/**
 * The transactional outbox: events are written in the same transaction as the state change that
 * caused them, and published by the OutboxRelay after commit. An insert wakes the relay through
 * the `outbox_notify` trigger (NOTIFY outbox).
 */
export class Outbox {
  private direct?: EventPublisher;

  /** The benchmark's naive baseline (EVENT_DELIVERY=naive): publish at once, no outbox row. */
  publishDirectlyWith(publisher: EventPublisher): void {
    this.direct = publisher;
  }

  async add(tx: SqlExecutor, ...events: CloudEvent<unknown>[]): Promise<void> {
    const insert = await this.insert(events);
    if (insert) await tx.$executeRawUnsafe(insert.text, ...insert.values);
  }

  /**
   * The INSERT of `events` into the outbox, for a service that writes them as part of a larger
   * statement of its own (a data-modifying WITH: one round trip for a state change and its events).
   * Undefined when there is nothing to insert: no events, or the naive baseline, which has published
   * them already.
   */
  async insert(events: readonly CloudEvent<unknown>[]): Promise<Sql | undefined> {
    if (events.length === 0) return undefined;
    for (const event of events) validateIncoming(event);
    if (this.direct) {
      await this.direct.publish(events);
      return undefined;
    }
    // clock_timestamp(), not now(): the outbox lag should not include the transaction's age.
    const rows = events.map(
      (event) =>
        sql`(${event.id}, ${event.type}, ${event.partitionkey ?? null}, ${JSON.stringify(toStructured(event))}::jsonb, clock_timestamp())`,
    );
    return sql`INSERT INTO "outbox" ("event_id", "type", "partition_key", "event", "created_at") VALUES ${join(rows)}`;
  }
}
