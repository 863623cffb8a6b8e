import { join, type Sql, sqltag as sql } from '@prisma/client/runtime/client';
import type { CloudEvent } from 'cloudevents';
import type { SqlExecutor } from '../database.js';
import { toStructured, validateIncoming } from '../events.js';
import type { EventPublisher } from '../publisher.js';

/**
 * The transactional outbox: events are written in the same transaction as the state change that
 * caused them, and published by the OutboxRelay after commit. An insert wakes the relay through
 * the `outbox_notify` trigger (NOTIFY outbox).
 *
 * Events a transaction `defer`s are inserted by its next outbox write (`add`, `insert`) or its
 * `flush`, before that write's own: the outbox keeps the order in which a transaction gave it
 * events, and the replies of a batch of events take one INSERT.
 */
export class Outbox {
  private direct?: EventPublisher;
  private readonly deferred = new WeakMap<SqlExecutor, CloudEvent<unknown>[]>();

  /** The benchmark's naive baseline (EVENT_DELIVERY=naive): publish at once, no outbox row. */
  publishDirectlyWith(publisher: EventPublisher): void {
    this.direct = publisher;
  }

  async add(tx: SqlExecutor, ...events: CloudEvent<unknown>[]): Promise<void> {
    const insert = await this.insert(tx, events);
    if (insert) await tx.$executeRawUnsafe(insert.text, ...insert.values);
  }

  /** `events` into the outbox with the transaction's next outbox write, or its `flush`. */
  async defer(tx: SqlExecutor, ...events: CloudEvent<unknown>[]): Promise<void> {
    for (const event of events) validateIncoming(event);
    if (this.direct) return this.direct.publish(events);
    this.deferred.set(tx, [...(this.deferred.get(tx) ?? []), ...events]);
  }

  /** Inserts what `tx` deferred and no write has inserted yet. */
  flush(tx: SqlExecutor): Promise<void> {
    return this.add(tx);
  }

  /**
   * The INSERT of what `tx` deferred and of `events` into the outbox, for a service that writes
   * them as part of a larger statement of its own (a data-modifying WITH: one round trip for a
   * state change and its events). Undefined when there is nothing to insert: no events, or the
   * naive baseline, which has published them already.
   */
  async insert(tx: SqlExecutor, events: readonly CloudEvent<unknown>[]): Promise<Sql | undefined> {
    for (const event of events) validateIncoming(event);
    if (this.direct) {
      if (events.length > 0) await this.direct.publish(events);
      return undefined;
    }
    const all = [...(this.deferred.get(tx) ?? []), ...events];
    this.deferred.delete(tx);
    if (all.length === 0) return undefined;
    // clock_timestamp(), not now(): the outbox lag should not include the transaction's age.
    const rows = all.map(
      (event) =>
        sql`(${event.id}, ${event.type}, ${event.partitionkey ?? null}, ${JSON.stringify(toStructured(event))}::jsonb, clock_timestamp())`,
    );
    return sql`INSERT INTO "outbox" ("event_id", "type", "partition_key", "event", "created_at") VALUES ${join(rows)}`;
  }
}
