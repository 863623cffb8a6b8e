import type { LoggerService } from '@nestjs/common';
import pg from 'pg';

export interface RetentionOptions {
  /** Its own connection, as the relay's: Prisma's instrumentation would make a root trace of every sweep. */
  databaseUrl: string;
  logger: LoggerService;
  /** How long a published outbox row is kept (OUTBOX_RETENTION). */
  outboxRetentionMs: number;
  /** How long a processed inbox row is kept (INBOX_RETENTION): see docs/retention.md for the floor. */
  inboxRetentionMs: number;
  /** Time between sweeps (RETENTION_INTERVAL). */
  intervalMs: number;
  /** Rows per DELETE statement (RETENTION_BATCH_SIZE): each batch is its own short transaction. */
  batchSize: number;
  onDeleted?: (table: RetentionTable, rows: number) => void;
}

export type RetentionTable = 'outbox' | 'inbox';

// Both subqueries walk an index from its oldest entry (outbox_published_at_seq_idx,
// inbox_processed_at_idx). NULL published_at (not yet published) never satisfies `<`, so an
// unpublished row is never deleted. SKIP LOCKED lets every replica sweep without waiting on another.
const deletes: Record<RetentionTable, string> = {
  outbox: `DELETE FROM "outbox" WHERE "seq" IN (
    SELECT "seq" FROM "outbox"
    WHERE "published_at" < now() - $1::float8 * interval '1 millisecond'
    ORDER BY "published_at" LIMIT $2::int FOR UPDATE SKIP LOCKED)`,
  inbox: `DELETE FROM "inbox" WHERE ("source", "event_id") IN (
    SELECT "source", "event_id" FROM "inbox"
    WHERE "processed_at" < now() - $1::float8 * interval '1 millisecond'
    ORDER BY "processed_at" LIMIT $2::int FOR UPDATE SKIP LOCKED)`,
};

/**
 * Keeps the outbox and inbox tables bounded: deletes published outbox rows older than
 * OUTBOX_RETENTION and inbox rows older than INBOX_RETENTION, in batches of RETENTION_BATCH_SIZE,
 * every RETENTION_INTERVAL. An inbox row is what recognises a redelivery, so INBOX_RETENTION must
 * outlast every redelivery the broker can still make (the events topic's retention, dead letters
 * and their replay): the reasoning and the defaults are in docs/retention.md. A failed sweep is
 * logged and tried again at the next interval; it never stops the service.
 */
export class Retention {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;
  private lastError?: string;
  private readonly pool: pg.Pool;

  constructor(private readonly options: RetentionOptions) {
    this.pool = new pg.Pool({ connectionString: options.databaseUrl, max: 1 });
    this.pool.on('error', (error) => options.logger.warn?.(`retention pool: ${error.message}`));
  }

  start(): void {
    this.timer = setInterval(() => this.wake(), this.options.intervalMs);
    this.wake();
  }

  /** Waits for the batch in flight, then stops. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
    await this.pool.end();
  }

  /** Runs a sweep now, unless one is running. Resolves when that sweep ends. */
  wake(): Promise<void> {
    if (!this.stopped && !this.running) {
      this.running = this.sweep().finally(() => {
        this.running = undefined;
      });
    }
    return this.running ?? Promise.resolve();
  }

  private async sweep(): Promise<void> {
    try {
      await this.deleteExpired('outbox', this.options.outboxRetentionMs);
      await this.deleteExpired('inbox', this.options.inboxRetentionMs);
      if (this.lastError) {
        this.options.logger.log('retention recovered');
        this.lastError = undefined;
      }
    } catch (error) {
      const message = (error as Error).message;
      if (message !== this.lastError) this.options.logger.error(`retention: ${message}`);
      this.lastError = message;
    }
  }

  private async deleteExpired(table: RetentionTable, retentionMs: number): Promise<void> {
    const { batchSize } = this.options;
    for (;;) {
      if (this.stopped) return;
      const { rowCount } = await this.pool.query(deletes[table], [retentionMs, batchSize]);
      const deleted = rowCount ?? 0;
      if (deleted > 0) this.options.onDeleted?.(table, deleted);
      if (deleted < batchSize) return;
    }
  }
}
