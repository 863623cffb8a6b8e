import type { LoggerService } from '@nestjs/common';
import pg from 'pg';
import { fromStructured } from '../events.js';
import type { EventPublisher } from '../publisher.js';

export interface RelayOptions {
  databaseUrl: string;
  publisher: EventPublisher;
  logger: LoggerService;
  /** Safety net for a missed notification (e.g. while the LISTEN connection was reconnecting). */
  pollIntervalMs: number;
  batchSize?: number;
  /** Called after each published batch: every event's type and its commit-to-publish lag. */
  onPublished?: (events: { type: string; lagMs: number }[]) => void;
}

// One relay at a time per database publishes, so events leave in the order they were written.
const RELAY_LOCK = 0x5047_0b0c;

/**
 * Publishes committed outbox rows in order and marks them published in the same transaction.
 * A crash after publishing and before the commit publishes the batch again on restart: a
 * duplicate, which the consumers' inbox absorbs. Nothing is lost.
 */
export class OutboxRelay {
  private readonly pool: pg.Pool;
  private listener?: pg.Client;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  private stopped = false;
  private lastError?: string;
  private reconnect?: NodeJS.Timeout;

  constructor(private readonly options: RelayOptions) {
    this.pool = new pg.Pool({ connectionString: options.databaseUrl, max: 2 });
    this.pool.on('error', (error) => options.logger.warn?.(`outbox pool: ${error.message}`, 'OutboxRelay'));
    // A client is held across the publish, with no query running: if PostgreSQL goes away then, the
    // client emits 'error', and pg.Pool listens only to idle ones. Unheard, it would end the process;
    // the transaction's next query fails instead, and the batch is published again later.
    this.pool.on('connect', (client) => client.on('error', () => undefined));
  }

  async start(): Promise<void> {
    await this.listen();
    this.timer = setInterval(() => this.wake(), this.options.pollIntervalMs);
    this.wake();
  }

  /** Runs a drain now, or once more after the one in progress. */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain().finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.wake();
      }
    });
  }

  /** Whether its last attempt to publish failed (the broker or the database unreachable). */
  get failing(): boolean {
    return this.lastError !== undefined;
  }

  /**
   * Waits for the batch in flight, publishes what is left (for at most `flushMs`: the events stay
   * in the outbox for the next replica otherwise), then stops.
   */
  async stop(flushMs = 5_000): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.reconnect);
    await this.running;
    if (!this.lastError) {
      const flushed = this.drain(() => true);
      await Promise.race([flushed, new Promise((r) => setTimeout(r, flushMs).unref())]);
    }
    await this.listener?.end().catch(() => undefined);
    await this.pool.end();
  }

  private async listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.options.databaseUrl });
    let lost = false;
    const reconnect = (error?: Error) => {
      if (lost) return;
      lost = true;
      client.end().catch(() => undefined);
      if (this.stopped) return;
      this.options.logger.warn?.(
        `outbox LISTEN connection lost${error ? `: ${error.message}` : ''}; reconnecting`,
        'OutboxRelay',
      );
      // Until it is back, the poll finds what a missed notification announced.
      this.reconnect = setTimeout(() => {
        this.listen().catch(() => reconnect());
      }, this.options.pollIntervalMs);
    };
    client.on('notification', () => this.wake());
    client.on('error', reconnect);
    client.on('end', () => reconnect());
    try {
      await client.connect();
      await client.query('LISTEN outbox');
    } catch (error) {
      reconnect(error as Error);
      throw error;
    }
    this.listener = client;
    // Rows written while it was not listening: publish them now rather than at the next poll.
    this.wake();
  }

  private async drain(go = () => !this.stopped): Promise<void> {
    try {
      // A short batch was everything there was: a row committed since then wakes the relay again
      // (its NOTIFY, or the poll), so there is no need for an empty round to find that out.
      while (go() && (await this.publishBatch()) >= this.batchSize) {
        // keep going while there is a backlog
      }
      if (this.lastError) {
        this.options.logger.log(`outbox relay recovered`, 'OutboxRelay');
        this.lastError = undefined;
      }
    } catch (error) {
      const message = (error as Error).message;
      if (message !== this.lastError) this.options.logger.error(`outbox relay: ${message}`, 'OutboxRelay');
      this.lastError = message;
    }
  }

  private get batchSize(): number {
    return this.options.batchSize ?? 200;
  }

  /**
   * Publishes up to one batch; returns how many events it published. Two round trips: BEGIN, the
   * relay's lock and the rows marked published and returned in one (a simple query of two
   * statements, the lock taken once by the CTE before the UPDATE reads a row), then COMMIT after the
   * publish. When the publish fails the transaction rolls back and the rows stay unpublished; when
   * another relay holds the lock, no row is marked and the transaction is rolled back.
   */
  private async publishBatch(): Promise<number> {
    const client = await this.pool.connect();
    try {
      const [, { rows }] = (await client.query(
        `BEGIN;
         WITH relay AS (SELECT pg_try_advisory_xact_lock(${RELAY_LOCK}) AS locked)
         UPDATE "outbox" SET "published_at" = now() WHERE (SELECT "locked" FROM relay) AND "seq" IN (
           SELECT "seq" FROM "outbox" WHERE "published_at" IS NULL ORDER BY "seq" LIMIT ${this.batchSize}
         ) RETURNING "seq", "type", "event", "created_at"`,
      )) as unknown as [
        unknown,
        pg.QueryResult<{ seq: string; type: string; event: unknown; created_at: Date }>,
      ];
      if (rows.length === 0) {
        await client.query('ROLLBACK');
        return 0;
      }
      // RETURNING follows no order: publish in the order the rows were written.
      rows.sort((a, b) => (BigInt(a.seq) < BigInt(b.seq) ? -1 : 1));
      await this.options.publisher.publish(rows.map((row) => fromStructured(row.event)));
      await client.query('COMMIT');
      const now = Date.now();
      this.options.onPublished?.(
        rows.map((row) => ({ type: row.type, lagMs: now - row.created_at.getTime() })),
      );
      return rows.length;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }
}
