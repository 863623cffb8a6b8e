import { type DynamicModule, Logger, Module, type Type } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import type { ServiceName } from '@soundgood/event-catalog';
import { AuthGuard } from './auth/auth.guard.js';
import { TokenVerifier } from './auth/token-verifier.js';
import type { BaseConfig } from './config.js';
import { EVENTING_DATABASE, type EventingDatabase } from './database.js';
import { ConnectionsCloseOnStop } from './health/connections.js';
import { HealthController } from './health/health.controller.js';
import { EventingMetrics } from './metrics.js';
import { Outbox } from './outbox/outbox.js';
import { EventingServer } from './server.js';
import { TelemetryShutdown } from './telemetry/telemetry.js';
import { CONFIG } from './tokens.js';

export interface EventingModuleOptions {
  service: ServiceName;
  config: BaseConfig;
  /** The service's PrismaClient subclass; provided here so that everything shares one instance. */
  database: Type<EventingDatabase>;
}

/**
 * Global: the service's modules inject CONFIG, their database class, Outbox and EventingMetrics.
 * Every HTTP route passes the AuthGuard (bearer tokens, access rules: src/auth/access.ts).
 */
@Module({})
export class EventingModule {
  static forRoot(options: EventingModuleOptions): DynamicModule {
    return {
      module: EventingModule,
      global: true,
      imports: [
        ThrottlerModule.forRoot({
          throttlers: [{ ttl: options.config.RATE_LIMIT_WINDOW, limit: options.config.RATE_LIMIT }],
        }),
      ],
      controllers: [HealthController],
      providers: [
        { provide: CONFIG, useValue: options.config },
        { provide: TokenVerifier, useValue: new TokenVerifier(options.config) },
        { provide: APP_GUARD, useClass: AuthGuard },
        options.database,
        { provide: EVENTING_DATABASE, useExisting: options.database },
        { provide: EventingMetrics, useValue: new EventingMetrics(options.service) },
        Outbox,
        TelemetryShutdown,
        ConnectionsCloseOnStop,
        {
          provide: EventingServer,
          inject: [EVENTING_DATABASE, Outbox, EventingMetrics],
          useFactory: (database: EventingDatabase, outbox: Outbox, metrics: EventingMetrics) =>
            new EventingServer({
              service: options.service,
              config: options.config,
              database,
              outbox,
              metrics,
              logger: new Logger('Eventing'),
            }),
        },
      ],
      exports: [CONFIG, options.database, EVENTING_DATABASE, EventingMetrics, Outbox, EventingServer],
    };
  }
}
