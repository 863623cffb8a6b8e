import type { CloudEvent } from 'cloudevents';
import type { SqlExecutor } from '../database.js';
import { toStructured, validateIncoming } from '../events.js';

/**
 * The transactional outbox: events are written in the same transaction as the state change that
 * caused them, and published by the OutboxRelay after commit. An insert wakes the relay through
 * the `outbox_notify` trigger (NOTIFY outbox).
 */
export class Outbox {
  async add(tx: SqlExecutor, ...events: CloudEvent<unknown>[]): Promise<void> {
    if (events.length === 0) return;
    const values: unknown[] = [];
    const rows = events.map((event, i) => {
      validateIncoming(event);
      values.push(event.id, event.type, event.partitionkey ?? null, JSON.stringify(toStructured(event)));
      const p = i * 4;
      return `($${p + 1}, $${p + 2}, $${p + 3}, $${p + 4}::jsonb)`;
    });
    await tx.$executeRawUnsafe(
      `INSERT INTO "outbox" ("event_id", "type", "partition_key", "event") VALUES ${rows.join(', ')}`,
      ...values,
    );
  }
}
