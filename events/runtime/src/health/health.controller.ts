import {
  Controller,
  Get,
  HttpCode,
  Inject,
  type OnModuleDestroy,
  ServiceUnavailableException,
} from '@nestjs/common';
import { Public } from '../auth/access.js';
import { EVENTING_DATABASE, type EventingDatabase } from '../database.js';
import { EventingServer } from '../server.js';

/** Liveness and readiness; readiness fails as soon as shutdown starts, so traffic drains first. */
@Public()
@Controller()
export class HealthController implements OnModuleDestroy {
  private shuttingDown = false;

  constructor(
    private readonly server: EventingServer,
    @Inject(EVENTING_DATABASE) private readonly database: EventingDatabase,
  ) {}

  onModuleDestroy(): void {
    this.shuttingDown = true;
  }

  @Get('healthz')
  @HttpCode(200)
  healthz(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('readyz')
  async readyz(): Promise<{ status: 'ready'; database: 'up'; transport: 'up' }> {
    if (this.shuttingDown) throw new ServiceUnavailableException('shutting down');
    try {
      await this.database.$queryRawUnsafe('SELECT 1');
    } catch (error) {
      throw new ServiceUnavailableException(`database unreachable: ${(error as Error).message}`);
    }
    if (!this.server.ready) throw new ServiceUnavailableException('event transport not connected yet');
    return { status: 'ready', database: 'up', transport: 'up' };
  }
}
