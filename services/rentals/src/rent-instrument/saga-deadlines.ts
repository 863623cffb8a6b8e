import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { CONFIG, contextFrom, inSpan } from '@soundgood/eventing';
import type { Config } from '../config.js';
import { Database } from '../database.js';
import { RentInstrumentSaga, SagaConflictError } from './rent-instrument.saga.js';

/**
 * Looks for saga steps past their deadline and lets the saga handle them. Safe with several
 * replicas: each transition is version-checked, the loser of a race simply skips that saga.
 */
@Injectable()
export class SagaDeadlines implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(SagaDeadlines.name);
  private timer?: NodeJS.Timeout;
  private sweeping?: Promise<void>;

  constructor(
    private readonly database: Database,
    private readonly saga: RentInstrumentSaga,
    @Inject(CONFIG) private readonly config: Config,
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
      const overdue = await this.database.saga.findMany({
        where: { status: { in: ['RUNNING', 'COMPENSATING'] }, deadlineAt: { lt: new Date() } },
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
      this.logger.error(`looking for overdue sagas: ${(error as Error).message}`);
    }
  }
}
