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

  constructor(private readonly options: RelayOptions) {
    this.pool = new pg.Pool({ connectionString: options.databaseUrl, max: 2 });
    this.pool.on('error', (error) => options.logger.warn?.(`outbox pool: ${error.message}`, 'OutboxRelay'));
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

  /** Waits for the batch in flight, then stops. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
    await this.listener?.end().catch(() => undefined);
    await this.pool.end();
  }

  private async listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.options.databaseUrl });
    client.on('notification', () => this.wake());
    client.on('error', (error) => {
      this.options.logger.warn?.(
        `outbox LISTEN connection lost: ${error.message}; reconnecting`,
        'OutboxRelay',
      );
      setTimeout(() => {
        if (!this.stopped) this.listen().catch(() => undefined);
      }, this.options.pollIntervalMs);
    });
    await client.connect();
    await client.query('LISTEN outbox');
    this.listener = client;
  }

  private async drain(): Promise<void> {
    try {
      while (!this.stopped && (await this.publishBatch()) > 0) {
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

  /** Publishes up to one batch; returns how many events it published. */
  private async publishBatch(): Promise<number> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const lock = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS locked', [
        RELAY_LOCK,
      ]);
      if (!lock.rows[0]?.locked) {
        await client.query('ROLLBACK');
        return 0;
      }
      const { rows } = await client.query<{ seq: string; type: string; event: unknown; created_at: Date }>(
        `SELECT "seq", "type", "event", "created_at" FROM "outbox" WHERE "published_at" IS NULL ORDER BY "seq" LIMIT $1`,
        [this.options.batchSize ?? 200],
      );
      if (rows.length === 0) {
        await client.query('ROLLBACK');
        return 0;
      }
      await this.options.publisher.publish(rows.map((row) => fromStructured(row.event)));
      await client.query(`UPDATE "outbox" SET "published_at" = now() WHERE "seq" = ANY($1::bigint[])`, [
        rows.map((row) => row.seq),
      ]);
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
