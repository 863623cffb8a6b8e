import { randomUUID } from 'node:crypto';
import { events } from '@soundgood/event-catalog';
import { describe, expect, it } from 'vitest';
import type { SqlExecutor } from '../database.js';
import { createEvent } from '../events.js';
import { Outbox } from './outbox.js';

/** Each outbox row is (event_id, type, partition_key, event, created_at), the last not a value. */
const eventIds = (values: readonly unknown[]) => values.filter((_, i) => i % 4 === 0) as string[];

/** A transaction that keeps the statements run in it: the event ids each outbox INSERT carries. */
function recordingTx() {
  const inserts: string[][] = [];
  const tx: SqlExecutor = {
    $executeRawUnsafe: async (query: string, ...values: unknown[]) => {
      expect(query).toMatch(/^INSERT INTO "outbox"/);
      const ids = eventIds(values);
      inserts.push(ids);
      return ids.length;
    },
    $queryRawUnsafe: async () => expect.fail('no query expected'),
  };
  return { tx, inserts };
}

const reserve = () => {
  const rentalId = randomUUID();
  return createEvent(events.reserveSlot, { rentalId, studentId: randomUUID() }, { partitionKey: rentalId });
};

describe('Outbox: deferred events', () => {
  it('inserts what a transaction deferred with its next write, first and in order, in one INSERT', async () => {
    const outbox = new Outbox();
    const { tx, inserts } = recordingTx();
    const [a, b, c] = [reserve(), reserve(), reserve()];
    await outbox.defer(tx, a);
    await outbox.defer(tx, b);
    expect(inserts, 'nothing written yet').toEqual([]);
    await outbox.add(tx, c);
    expect(inserts).toEqual([[a.id, b.id, c.id]]);
    await outbox.flush(tx);
    expect(inserts, 'nothing left to flush').toHaveLength(1);
  });

  it('puts them first in an INSERT given to a larger statement, and keeps each transaction apart', async () => {
    const outbox = new Outbox();
    const one = recordingTx();
    const other = recordingTx();
    const [a, b, c] = [reserve(), reserve(), reserve()];
    await outbox.defer(one.tx, a);
    await outbox.defer(other.tx, b);
    const insert = await outbox.insert(one.tx, [c]);
    expect(eventIds(insert?.values ?? [])).toEqual([a.id, c.id]);
    await outbox.flush(other.tx);
    expect(other.inserts).toEqual([[b.id]]);
  });

  it('flushes a transaction that deferred nothing without a statement', async () => {
    const { tx, inserts } = recordingTx();
    await new Outbox().flush(tx);
    expect(inserts).toEqual([]);
  });
});
