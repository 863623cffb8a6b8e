import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { CONFIG, contextFrom, EventingServer, inSpan } from '@soundgood/eventing';
import type { Config } from '../config.js';
import { Database } from '../database.js';
import { RentInstrumentSaga, SagaConflictError } from './rent-instrument.saga.js';

/**
 * Looks for saga steps past their deadline and lets the saga handle them. Safe with several
 * replicas: each transition is version-checked, the loser of a race simply skips that saga.
 *
 * A deadline measures how long a participant takes to answer, not how long the messaging was away
 * (docs/failure-model.md):
 * - while this service cannot exchange events (its transport is not ready: the broker is away, the
 *   relay cannot publish, the consumers are out of their groups) or reach its database, no
 *   deadline fires;
 * - when it can again, every step in flight gets a whole step timeout from then on;
 * - a step whose command is still in the outbox (not published yet) is not overdue: its deadline
 *   moves a step timeout on, without counting an attempt.
 * So a broker outage delays sagas rather than timing their steps out; a participant that is itself
 * down still times out (forward: the saga compensates and is REJECTED; a compensation: sent again,
 * up to SAGA_COMPENSATION_MAX_ATTEMPTS times, then FAILED for an operator).
 */
@Injectable()
export class SagaDeadlines implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(SagaDeadlines.name);
  private timer?: NodeJS.Timeout;
  private sweeping?: Promise<void>;
  /**
   * Whether the transport or the database was down at the last sweep: its return grants every step
   * a new deadline.
   */
  private wasDown = false;

  constructor(
    private readonly database: Database,
    private readonly saga: RentInstrumentSaga,
    @Inject(CONFIG) private readonly config: Config,
    private readonly transport: EventingServer,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.sweeping ??= this.sweep().finally(() => {
        this.sweeping = undefined;
      });
    }, this.config.SAGA_SWEEP_INTERVAL_MS);
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.sweeping;
  }

  private async sweep(): Promise<void> {
    try {
      if (!this.transport.ready) {
        if (!this.wasDown) this.logger.warn('event transport down: saga deadlines paused');
        this.wasDown = true;
        return;
      }
      if (this.wasDown) {
        // Idempotent across replicas: each grants at most one step timeout from its own recovery.
        const extended = await this.database.$executeRaw`
          UPDATE "sagas" SET "deadline_at" = GREATEST("deadline_at", now() + ${this.config.SAGA_STEP_TIMEOUT_MS}::integer * interval '1 millisecond')
          WHERE "status" IN ('RUNNING', 'COMPENSATING', 'ENDING') AND "deadline_at" IS NOT NULL`;
        this.logger.warn(`event transport back: ${extended} saga deadlines start again`);
        this.wasDown = false;
      }
      // Steps whose command has not left the outbox yet: their clock starts when it does.
      const postponed = await this.database.$executeRaw`
        UPDATE "sagas" SET "deadline_at" = now() + ${this.config.SAGA_STEP_TIMEOUT_MS}::integer * interval '1 millisecond'
        WHERE "status" IN ('RUNNING', 'COMPENSATING', 'ENDING') AND "deadline_at" < now()
          AND "rental_id"::text IN (SELECT "partition_key" FROM "outbox" WHERE "published_at" IS NULL)`;
      if (postponed > 0)
        this.logger.warn(`${postponed} saga deadlines postponed: their command is not published yet`);
      const overdue = await this.database.saga.findMany({
        where: { status: { in: ['RUNNING', 'COMPENSATING', 'ENDING'] }, deadlineAt: { lt: new Date() } },
        orderBy: { deadlineAt: 'asc' },
        take: 100,
        select: { rentalId: true, traceparent: true },
      });
      for (const { rentalId, traceparent } of overdue) {
        // In the saga's own trace, so that a timeout and its compensation show up there.
        await inSpan(
          'rent-instrument deadline',
          { 'soundgood.rental.id': rentalId },
          () => this.database.$transaction((tx) => this.saga.onDeadline(tx, rentalId)),
          contextFrom({ traceparent: traceparent ?? undefined }),
        ).catch((error: Error) => {
          if (!(error instanceof SagaConflictError))
            this.logger.error(`deadline of saga ${rentalId}: ${error.message}`);
        });
      }
    } catch (error) {
      // The database away: the participants' replies wait too (theirs are often on the same
      // server), so its return grants every step a new deadline, as the transport's does.
      this.wasDown = true;
      this.logger.error(`looking for overdue sagas: ${(error as Error).message}`);
    }
  }
}
