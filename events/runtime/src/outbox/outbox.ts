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
    if (events.length === 0) return;
    if (this.direct) {
      for (const event of events) validateIncoming(event);
      await this.direct.publish(events);
      return;
    }
    const values: unknown[] = [];
    const rows = events.map((event, i) => {
      validateIncoming(event);
      values.push(event.id, event.type, event.partitionkey ?? null, JSON.stringify(toStructured(event)));
      const p = i * 4;
      // clock_timestamp(), not now(): the outbox lag should not include the transaction's age.
      return `($${p + 1}, $${p + 2}, $${p + 3}, $${p + 4}::jsonb, clock_timestamp())`;
    });
    await tx.$executeRawUnsafe(
      `INSERT INTO "outbox" ("event_id", "type", "partition_key", "event", "created_at") VALUES ${rows.join(', ')}`,
      ...values,
    );
  }
}
